#pragma once
// The tokenizer of a GGUF vocabulary, for both kinds llama.cpp reads as text models:
//   tokenizer.ggml.model = "llama": SentencePiece BPE (merges by score, a leading space,
//     byte-fallback tokens <0xNN>), model/text/spm_encoder.*;
//   tokenizer.ggml.model = "gpt2": byte-level BPE (merges by rank from tokenizer.ggml.merges,
//     the text split first by the pre-tokenizer tokenizer.ggml.pre), model/text/bpe_encoder.*
//     and model/text/pre_tokenizer.*.
// Both share the vocabulary, the special tokens and the end-of-generation set; ids agree with
// llama.cpp (see docs/tokenizers.md and tests/test_tokenizer_oracles.cpp).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "model/gguf/gguf.hpp"
#include "model/text/token_index.hpp"

namespace llamps {

class bpe_encoder;
class pre_tokenizer;

class tokenizer {
public:
  enum class kind { spm, bpe };

  static tokenizer from_gguf(const gguf::file& f); // throws model_error

  // Text to ids; with add_bos the BOS id comes first (callers that start a sequence pass
  // add_bos_by_default()). With parse_special, the text of a CONTROL token (such as
  // "<|eot_id|>") is that token; without it, it is ordinary text. USER_DEFINED tokens are
  // matched whole either way, as llama.cpp does.
  std::vector<int32_t> encode(const std::string& text, bool add_bos, bool parse_special = false) const;
  // The text of `token` when it follows `prev` (SentencePiece: the leading space after BOS is
  // dropped; <0xNN> tokens and byte-level BPE characters become their bytes, so a piece may be
  // part of a UTF-8 character). CONTROL and UNKNOWN tokens print nothing unless `special`,
  // then their text. Streaming output concatenates these.
  std::string piece(int32_t prev, int32_t token, bool special = false) const;
  // The pieces of `ids` concatenated; with `special` a leading BOS still prints nothing (it
  // starts the sequence: encode(text, true, true) decodes back to text).
  std::string decode(const std::vector<int32_t>& ids, bool special = false) const;

  bool is_end_of_generation(int32_t id) const;
  std::optional<int32_t> find_token(const std::string& text) const; // exact token text
  const std::string& token_text(int32_t id) const;                  // the raw vocabulary string
  bool add_bos_by_default() const { return add_bos_; }

  int32_t bos() const { return bos_; }
  int32_t eos() const { return eos_; }
  std::optional<int32_t> eot() const { return eot_; }
  std::optional<int32_t> eom() const { return eom_; }
  const std::vector<int32_t>& end_of_generation() const { return eog_; } // ascending ids
  int32_t vocab_size() const { return static_cast<int32_t>(tokens_.size()); }
  kind model_kind() const { return kind_; }
  const std::string& pre_name() const { return pre_name_; } // "" for SentencePiece

private:
  struct fragment {
    size_t start, size; // raw text, or
    int32_t token;      // a special token (>= 0)
  };
  std::vector<fragment> split_special(const std::string& text, bool parse_special) const;
  void encode_text(const std::string& text, bool after_special, std::vector<int32_t>& out) const;

  kind kind_ = kind::spm;
  std::string pre_name_;
  std::vector<std::string> tokens_;
  std::vector<int32_t> types_;      // GGUF token types, after llama.cpp's overrides
  std::vector<std::string> pieces_; // what each token prints as (see from_gguf)
  token_index index_;
  std::vector<int32_t> special_; // matched whole in the text: longest first
  std::vector<bool> rstrip_;     // whitespace after this special token is dropped (Phi-3)
  std::vector<int32_t> eog_;
  int32_t bos_ = 1, eos_ = 2, unk_ = 0;
  std::optional<int32_t> eot_, eom_;
  bool add_bos_ = true;
  // SentencePiece
  std::vector<float> scores_;
  int32_t byte_tokens_[256] = {};
  bool add_space_prefix_ = true;
  // byte-level BPE
  std::shared_ptr<const bpe_encoder> bpe_;
  std::shared_ptr<const pre_tokenizer> pre_;
};

} // namespace llamps
