#pragma once
// The llama (SentencePiece-style) tokenizer from a GGUF vocabulary: BPE merges by score,
// a leading space, byte-fallback tokens <0xNN>. Agrees with llama.cpp on the test model.
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/gguf/gguf.hpp"

namespace llamps {

class tokenizer {
public:
  static tokenizer from_gguf(const gguf::file& f); // throws model_error

  // Text to ids; with add_bos the BOS id comes first.
  std::vector<int32_t> encode(const std::string& text, bool add_bos) const;
  // The text of `token` when it follows `prev` (the leading space after BOS is dropped,
  // <0xNN> tokens become their byte). Streaming output concatenates these.
  std::string piece(int32_t prev, int32_t token) const;
  std::string decode(const std::vector<int32_t>& ids) const;

  int32_t bos() const { return bos_; }
  int32_t eos() const { return eos_; }
  int32_t vocab_size() const { return static_cast<int32_t>(tokens_.size()); }

private:
  std::vector<std::string> tokens_;
  std::vector<float> scores_;
  std::vector<std::string> pieces_; // what each token prints as (see from_gguf)
  std::unordered_map<std::string, int32_t> index_;
  int32_t bos_ = 1, eos_ = 2, unk_ = 0;
  int32_t byte_tokens_[256] = {};
  bool add_space_prefix_ = true;
};

} // namespace llamps
