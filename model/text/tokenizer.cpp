// The vocabulary, special tokens and end-of-generation set of a GGUF tokenizer, and the text
// around the two encoders. The GGUF keys read (llama.cpp's names):
//   tokenizer.ggml.model        "llama" (SentencePiece) or "gpt2" (byte-level BPE)
//   tokenizer.ggml.tokens       the token strings, by id
//   tokenizer.ggml.scores       SentencePiece merge scores, by id
//   tokenizer.ggml.token_type   by id: 1 normal, 2 unknown, 3 control, 4 user-defined,
//                               5 unused, 6 byte (SentencePiece <0xNN>)
//   tokenizer.ggml.merges       gpt2: "left right" strings, best (rank 0) first
//   tokenizer.ggml.pre          gpt2: the pre-tokenizer (model/text/pre_tokenizer.cpp)
//   tokenizer.ggml.{bos,eos,eot,eom,unknown}_token_id, add_bos_token, add_space_prefix
#include "model/text/tokenizer.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "model/text/bpe_encoder.hpp"
#include "model/text/pre_tokenizer.hpp"
#include "model/text/spm_encoder.hpp"
#include "model/text/utf8.hpp"

namespace llamps {

namespace {

const std::string space_mark = "\xE2\x96\x81"; // U+2581 "▁", SentencePiece's space

// GGUF token types (llama.cpp's llama_token_type).
constexpr int32_t type_normal = 1, type_unknown = 2, type_control = 3, type_user_defined = 4, type_byte = 6;

// Texts llama.cpp recognises as ending a turn, whatever the metadata says.
const char* const eot_texts[] = {"<|eot_id|>",
                                 "<|im_end|>",
                                 "<|end|>",
                                 "<end_of_turn>",
                                 "<|endoftext|>",
                                 "<EOT>",
                                 "<\xEF\xBD\x9C"
                                 "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>"};
// Fill-in-the-middle tokens that also end a generation in llama.cpp.
const char* const fim_end_texts[] = {"<|fim_pad|>",   "<fim-pad>",  "<PAD>",  "<|fim_repo|>",
                                     "<|repo_name|>", "<fim-repo>", "<REPO>", "<|file_sep|>"};

std::string replace_all(const std::string& s, const std::string& from, const std::string& to) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size())
    out.append(s, pos, hit - pos).append(to);
  return out.append(s, pos, std::string::npos);
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

// "<0xNN>" -> NN, or -1.
int byte_of(const std::string& piece) {
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>')
    return -1;
  const int hi = hex_digit(piece[3]), lo = hex_digit(piece[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::optional<int32_t> metadata_id(const gguf::file& f, const std::string& key, size_t n_vocab) {
  const std::optional<int64_t> id = f.get_int(key);
  if (!id)
    return std::nullopt;
  if (*id < 0 || static_cast<uint64_t>(*id) >= n_vocab)
    throw model_error(f.path() + ": " + key + " = " + std::to_string(*id) + " is outside the vocabulary of " +
                      std::to_string(n_vocab) + " tokens");
  return static_cast<int32_t>(*id);
}

bool is_special_type(int32_t type) { return type == type_control || type == type_unknown; }

} // namespace

tokenizer tokenizer::from_gguf(const gguf::file& f) {
  const std::optional<std::string> model = f.get_string("tokenizer.ggml.model");
  if (!model)
    throw model_error(f.path() + ": tokenizer.ggml.model is missing (no tokenizer in the file)");
  tokenizer t;
  if (*model == "llama")
    t.kind_ = kind::spm;
  else if (*model == "gpt2")
    t.kind_ = kind::bpe;
  else
    throw model_error(f.path() + ": tokenizer.ggml.model is \"" + *model +
                      "\"; supported: \"llama\" (SentencePiece) and \"gpt2\" (byte-level BPE)");
  const std::vector<std::string>* tokens = f.get_string_array("tokenizer.ggml.tokens");
  if (!tokens || tokens->empty())
    throw model_error(f.path() + ": tokenizer.ggml.tokens is missing or empty");
  const size_t n = tokens->size();
  const std::vector<int64_t> types = f.get_int_array("tokenizer.ggml.token_type");
  if (!types.empty() && types.size() != n)
    throw model_error(f.path() + ": tokenizer.ggml.token_type has " + std::to_string(types.size()) +
                      " entries for " + std::to_string(n) + " tokens");

  t.tokens_ = *tokens;
  for (size_t i = 0; i < n; i++)
    if (t.tokens_[i].empty()) // as llama.cpp: an empty token must not match everywhere
      t.tokens_[i] = "[EMPTY_" + std::to_string(i) + "]";
  t.index_ = token_index(t.tokens_);
  t.types_.assign(n, type_normal);
  for (size_t i = 0; i < types.size(); i++)
    t.types_[i] = static_cast<int32_t>(types[i]);

  if (t.kind_ == kind::spm) {
    const std::vector<double> scores = f.get_float_array("tokenizer.ggml.scores");
    if (scores.size() != n)
      throw model_error(f.path() + ": tokenizer.ggml.scores has " + std::to_string(scores.size()) +
                        " entries for " + std::to_string(n) + " tokens");
    t.scores_.assign(scores.begin(), scores.end()); // float, as llama.cpp compares them
    t.add_space_prefix_ = f.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);
    t.add_bos_ = true;
  } else {
    t.pre_name_ = f.get_string("tokenizer.ggml.pre").value_or("default"); // llama.cpp's fallback
    t.pre_ = pre_tokenizer::named(t.pre_name_);
    if (!t.pre_)
      throw model_error(
          f.path() + ": tokenizer.ggml.pre is \"" + t.pre_name_ +
          "\", a pre-tokenizer this build does not know (known: " + pre_tokenizer::known_names() + ")");
    const std::vector<std::string>* merges = f.get_string_array("tokenizer.ggml.merges");
    if (!merges)
      throw model_error(f.path() + ": tokenizer.ggml.merges is missing (a gpt2 vocabulary needs its merges)");
    t.bpe_ = std::make_shared<bpe_encoder>(f.path(), *merges, t.index_, t.pre_->ignore_merges());
    t.add_space_prefix_ = false;
    t.add_bos_ = t.pre_->add_bos();
  }

  // Special ids: the metadata, else llama.cpp's defaults (SentencePiece 1, 2, unknown 0; BPE 11).
  const bool spm = t.kind_ == kind::spm;
  auto id_or = [&](const char* key, int32_t fallback) {
    if (auto id = metadata_id(f, key, n))
      return *id;
    if (static_cast<size_t>(fallback) >= n)
      throw model_error(f.path() + ": " + key + " is missing and the default " + std::to_string(fallback) +
                        " is outside the vocabulary");
    return fallback;
  };
  t.bos_ = id_or("tokenizer.ggml.bos_token_id", spm ? 1 : 11);
  t.eos_ = id_or("tokenizer.ggml.eos_token_id", spm ? 2 : 11);
  t.unk_ = spm ? id_or("tokenizer.ggml.unknown_token_id", 0) : -1;
  t.add_bos_ = f.get_bool("tokenizer.ggml.add_bos_token").value_or(t.add_bos_);
  if (types.empty()) // no types: BOS and EOS are still control tokens
    t.types_[t.bos_] = t.types_[t.eos_] = type_control;

  // End of generation, as llama.cpp builds it: EOS, EOT and EOM (from the metadata or found by
  // text), the fill-in-the-middle pad/repo/separator tokens, and every token whose text is a
  // known end-of-turn marker; those are control tokens whatever their type says.
  t.eot_ = metadata_id(f, "tokenizer.ggml.eot_token_id", n);
  t.eom_ = metadata_id(f, "tokenizer.ggml.eom_token_id", n);
  std::vector<int32_t> eog = {t.eos_};
  auto mark = [&](int32_t id) {
    t.types_[id] = type_control;
    eog.push_back(id);
  };
  for (const char* text : eot_texts)
    if (auto id = t.find_token(text)) {
      if (!t.eot_)
        t.eot_ = *id;
      mark(*id);
    }
  if (auto id = t.find_token("<|eom_id|>")) {
    if (!t.eom_)
      t.eom_ = *id;
    mark(*id);
  }
  for (const char* text : fim_end_texts)
    if (auto id = t.find_token(text))
      mark(*id);
  for (const char* key : {"tokenizer.ggml.fim_pad_token_id", "tokenizer.ggml.fim_rep_token_id",
                          "tokenizer.ggml.fim_sep_token_id"})
    if (auto id = metadata_id(f, key, n))
      eog.push_back(*id);
  if (auto id = t.find_token("<|end_of_text|>"))
    eog.push_back(*id); // Llama 3's EOS, by name too
  if (t.eot_)
    eog.push_back(*t.eot_);
  if (t.eom_)
    eog.push_back(*t.eom_);
  std::sort(eog.begin(), eog.end());
  eog.erase(std::unique(eog.begin(), eog.end()), eog.end());
  t.eog_ = std::move(eog);

  // Tokens matched whole in the text: control, user-defined and unknown ones, longest first.
  for (size_t i = 0; i < n; i++) {
    const int32_t type = t.types_[i];
    if (type == type_control || type == type_user_defined || type == type_unknown)
      t.special_.push_back(static_cast<int32_t>(i));
  }
  std::stable_sort(t.special_.begin(), t.special_.end(),
                   [&](int32_t a, int32_t b) { return t.tokens_[a].size() > t.tokens_[b].size(); });
  // Phi-3's tokenizer_config strips the whitespace after its special tokens; llama.cpp, having
  // no such flag in GGUF, does it when general.name names Phi-3.
  t.rstrip_.assign(n, false);
  std::string name = f.get_string("general.name").value_or("");
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  if (name.find("phi-3") != std::string::npos || name.find("phi3") != std::string::npos) {
    for (int32_t id : t.special_)
      t.rstrip_[id] = true;
    if (auto id = t.find_token("</s>"))
      t.rstrip_[*id] = true;
    for (const char* text : {"<unk>", "<s>", "<|endoftext|>"})
      if (auto id = t.find_token(text))
        t.rstrip_[*id] = false;
  }

  // What each token prints as, computed once: control and unknown tokens nothing, user-defined
  // ones their text, SentencePiece byte tokens their byte and normal ones their text with "▁"
  // back to " ", byte-level BPE tokens their bytes; unused ones nothing.
  if (spm) {
    for (int b = 0; b < 256; b++) {
      char text[8];
      std::snprintf(text, sizeof text, "<0x%02X>", b);
      t.byte_tokens_[b] = t.find_token(text).value_or(t.unk_);
    }
  }
  t.pieces_.resize(n);
  for (size_t i = 0; i < n; i++) {
    const std::string& text = t.tokens_[i];
    const int32_t type = t.types_[i];
    const int byte = spm ? byte_of(text) : -1;
    if (type == type_user_defined)
      t.pieces_[i] = text;
    else if (byte >= 0 && (types.empty() || type == type_byte))
      t.pieces_[i] = std::string(1, static_cast<char>(byte));
    else if (type == type_normal)
      t.pieces_[i] = spm ? replace_all(text, space_mark, " ") : byte_level_decode(text);
  }
  return t;
}

std::vector<tokenizer::fragment> tokenizer::split_special(const std::string& text, bool parse_special) const {
  // As llama.cpp: each special token in turn (longest first) cuts every piece of raw text
  // at each of its occurrences, left to right.
  std::vector<fragment> pieces = {{0, text.size(), -1}}, next;
  for (int32_t id : special_) {
    if (!parse_special && is_special_type(types_[id]))
      continue;
    const std::string& s = tokens_[id];
    if (text.find(s) == std::string::npos)
      continue;
    next.clear();
    for (const fragment& p : pieces) {
      if (p.token >= 0) {
        next.push_back(p);
        continue;
      }
      size_t pos = p.start;
      const size_t end = p.start + p.size;
      for (size_t hit; (hit = text.find(s, pos)) != std::string::npos && hit + s.size() <= end;) {
        if (hit > pos)
          next.push_back({pos, hit - pos, -1});
        next.push_back({hit, s.size(), id});
        pos = hit + s.size();
        if (rstrip_[id])
          while (pos < end && std::isspace(static_cast<unsigned char>(text[pos])))
            pos++;
      }
      if (pos < end)
        next.push_back({pos, end - pos, -1});
    }
    pieces.swap(next);
  }
  return pieces;
}

void tokenizer::encode_text(const std::string& text, bool after_special, std::vector<int32_t>& out) const {
  if (kind_ == kind::spm) {
    // SentencePiece puts a space before the text and before text that follows a special token.
    const std::string prefix = add_space_prefix_ && after_special ? space_mark : "";
    spm_encode(prefix + replace_all(text, " ", space_mark), index_, scores_, byte_tokens_, out);
    return;
  }
  // Broken UTF-8 becomes U+FFFD per bad byte before the split, as llama.cpp does.
  const std::string valid = utf8_valid(text);
  std::vector<std::string_view> words;
  pre_->split(valid, words);
  for (std::string_view w : words)
    bpe_->encode_word(w, index_, out);
}

std::vector<int32_t> tokenizer::encode(const std::string& text, bool add_bos, bool parse_special) const {
  std::vector<int32_t> out;
  if (add_bos)
    out.push_back(bos_);
  if (text.empty())
    return out; // no space prefix for nothing, as llama.cpp and llama2.c
  bool after_special = true;
  for (const fragment& f : split_special(text, parse_special)) {
    if (f.token >= 0) {
      out.push_back(f.token);
      after_special = true;
    } else {
      encode_text(text.substr(f.start, f.size), after_special, out);
      after_special = false;
    }
  }
  return out;
}

std::string tokenizer::piece(int32_t prev, int32_t token, bool special) const {
  if (token < 0 || token >= vocab_size())
    return {};
  if (special && is_special_type(types_[token]))
    return tokens_[token];
  const std::string& p = pieces_[token];
  // The encoder put a space before the text; after BOS it is not part of the text. Only a
  // normal token's space is dropped: a <0x20> byte token is a space the user wrote.
  const bool prefix_space = !p.empty() && p[0] == ' ' && tokens_[token].compare(0, 3, space_mark) == 0;
  if (prev == bos_ && add_space_prefix_ && prefix_space)
    return p.substr(1);
  return p;
}

std::string tokenizer::decode(const std::vector<int32_t>& ids, bool special) const {
  std::string out;
  int32_t prev = -1;
  for (size_t i = 0; i < ids.size(); i++) {
    const int32_t id = ids[i];
    if (special ? !(i == 0 && id == bos_) : id != bos_ && id != eos_)
      out += piece(prev, id, special);
    prev = id;
  }
  return out;
}

bool tokenizer::is_end_of_generation(int32_t id) const {
  return std::binary_search(eog_.begin(), eog_.end(), id);
}

std::optional<int32_t> tokenizer::find_token(const std::string& text) const {
  const int32_t id = index_.find(text);
  if (id < 0)
    return std::nullopt;
  return id;
}

const std::string& tokenizer::token_text(int32_t id) const {
  static const std::string none;
  return id >= 0 && id < vocab_size() ? tokens_[id] : none;
}

} // namespace llamps
