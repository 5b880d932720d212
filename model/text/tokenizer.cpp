// The llama (SentencePiece BPE) tokenizer: the same merges as llama.cpp's llm_tokenizer_spm
// and llama2.c's encode, with llama.cpp's priority queue so encoding is O(n log n).
#include "model/text/tokenizer.hpp"

#include <cstdio>
#include <optional>
#include <queue>

namespace llamps {

namespace {

const std::string space_mark = "\xE2\x96\x81"; // U+2581 "▁", SentencePiece's space

// GGUF token types (llama.cpp's llama_token_type).
constexpr int32_t type_normal = 1, type_control = 3, type_byte = 6;

std::string replace_all(const std::string& s, const std::string& from, const std::string& to) {
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (size_t hit; (hit = s.find(from, pos)) != std::string::npos; pos = hit + from.size())
    out.append(s, pos, hit - pos).append(to);
  return out.append(s, pos, std::string::npos);
}

// Length of the UTF-8 character at s[off]: a byte plus the continuation bytes (10xxxxxx)
// after it, at most 4 in all, as llama2.c splits. On valid UTF-8 this is what llama.cpp's
// lead-byte table gives; on broken UTF-8 it never swallows the bytes of the next character.
size_t utf8_len(const std::string& s, size_t off) {
  size_t len = 1;
  while (len < 4 && off + len < s.size() && (static_cast<unsigned char>(s[off + len]) & 0xC0) == 0x80)
    len++;
  return len;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// "<0xNN>" -> NN, or -1.
int byte_of(const std::string& piece) {
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return -1;
  const int hi = hex_digit(piece[3]), lo = hex_digit(piece[4]);
  return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

int32_t metadata_id(const gguf::file& f, const char* key, int32_t fallback, size_t n_vocab) {
  const int64_t id = f.get_int(key).value_or(fallback);
  if (id < 0 || static_cast<uint64_t>(id) >= n_vocab)
    throw model_error(f.path() + ": " + key + " = " + std::to_string(id) +
                      " is outside the vocabulary of " + std::to_string(n_vocab) + " tokens");
  return static_cast<int32_t>(id);
}

// One symbol of the text being merged: a byte range and its live neighbours. Merged-away
// symbols keep n = 0.
struct symbol {
  int prev, next;
  size_t start, n;
};

// A candidate merge of two adjacent symbols. `size` is their combined length when the
// candidate was queued: if either side has changed since, the candidate is stale.
struct bigram {
  int left, right;
  float score;
  size_t size;
};

// Highest score first; equal scores: leftmost first (as llama2.c's left-to-right scan).
struct lower_priority {
  bool operator()(const bigram& a, const bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

} // namespace

tokenizer tokenizer::from_gguf(const gguf::file& f) {
  const std::optional<std::string> model = f.get_string("tokenizer.ggml.model");
  if (!model)
    throw model_error(f.path() + ": tokenizer.ggml.model is missing (no tokenizer in the file)");
  if (*model != "llama")
    throw model_error(f.path() + ": tokenizer.ggml.model is \"" + *model +
                      "\"; only the \"llama\" (SentencePiece) tokenizer is supported");
  const std::vector<std::string>* tokens = f.get_string_array("tokenizer.ggml.tokens");
  if (!tokens || tokens->empty())
    throw model_error(f.path() + ": tokenizer.ggml.tokens is missing or empty");
  const size_t n = tokens->size();
  const std::vector<double> scores = f.get_float_array("tokenizer.ggml.scores");
  if (scores.size() != n)
    throw model_error(f.path() + ": tokenizer.ggml.scores has " + std::to_string(scores.size()) +
                      " entries for " + std::to_string(n) + " tokens");
  const std::vector<int64_t> types = f.get_int_array("tokenizer.ggml.token_type");
  if (!types.empty() && types.size() != n)
    throw model_error(f.path() + ": tokenizer.ggml.token_type has " +
                      std::to_string(types.size()) + " entries for " + std::to_string(n) + " tokens");

  tokenizer t;
  t.bos_ = metadata_id(f, "tokenizer.ggml.bos_token_id", 1, n);
  t.eos_ = metadata_id(f, "tokenizer.ggml.eos_token_id", 2, n);
  t.unk_ = metadata_id(f, "tokenizer.ggml.unknown_token_id", 0, n);
  t.add_space_prefix_ = f.get_bool("tokenizer.ggml.add_space_prefix").value_or(true);
  t.tokens_ = *tokens;
  t.scores_.assign(scores.begin(), scores.end()); // float, as llama.cpp compares them
  t.index_.reserve(n);
  for (size_t i = 0; i < n; i++)
    t.index_[t.tokens_[i]] = static_cast<int32_t>(i); // a duplicate: the last wins, as in llama.cpp

  for (int b = 0; b < 256; b++) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    auto it = t.index_.find(name);
    t.byte_tokens_[b] = it == t.index_.end() ? t.unk_ : it->second;
  }

  // What each token prints as, computed once: control tokens (BOS, EOS, ...) print nothing,
  // byte tokens their byte, the rest their text with "▁" back to " ".
  t.pieces_.resize(n);
  for (size_t i = 0; i < n; i++) {
    const std::string& text = t.tokens_[i];
    int32_t type = types.empty() ? type_normal : static_cast<int32_t>(types[i]);
    if (types.empty() && (i == size_t(t.bos_) || i == size_t(t.eos_))) type = type_control;
    const int byte = byte_of(text);
    if (type == type_control)
      t.pieces_[i].clear();
    else if (byte >= 0 && (types.empty() || type == type_byte))
      t.pieces_[i] = std::string(1, static_cast<char>(byte));
    else
      t.pieces_[i] = replace_all(text, space_mark, " ");
  }
  return t;
}

std::vector<int32_t> tokenizer::encode(const std::string& text, bool add_bos) const {
  std::vector<int32_t> out;
  if (add_bos) out.push_back(bos_);
  if (text.empty()) return out; // no space prefix for nothing, as llama.cpp and llama2.c

  const std::string s = (add_space_prefix_ ? space_mark : "") + replace_all(text, " ", space_mark);

  // One symbol per UTF-8 character, chained as a doubly linked list.
  std::vector<symbol> sym;
  for (size_t off = 0; off < s.size();) {
    const size_t len = utf8_len(s, off);
    const int i = static_cast<int>(sym.size());
    sym.push_back({i - 1, off + len < s.size() ? i + 1 : -1, off, len});
    off += len;
  }

  // Queue every adjacent pair whose concatenation is a token, then keep merging the best
  // pair. A merge only creates the two pairs around the merged symbol, so each step costs
  // O(log n) instead of llama2.c's full rescan.
  std::priority_queue<bigram, std::vector<bigram>, lower_priority> queue;
  auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const size_t size = sym[left].n + sym[right].n;
    auto it = index_.find(s.substr(sym[left].start, size));
    if (it != index_.end()) queue.push({left, right, scores_[it->second], size});
  };
  for (int i = 1; i < static_cast<int>(sym.size()); i++) try_add(i - 1, i);

  while (!queue.empty()) {
    const bigram b = queue.top();
    queue.pop();
    symbol& left = sym[b.left];
    symbol& right = sym[b.right];
    if (left.n == 0 || right.n == 0 || left.n + right.n != b.size) continue; // stale
    left.n += right.n;
    right.n = 0;
    left.next = right.next;
    if (right.next >= 0) sym[right.next].prev = b.left;
    try_add(left.prev, b.left);
    try_add(b.left, left.next);
  }

  // Every surviving symbol is either a token or a single character that is not: the latter
  // goes out as its bytes.
  for (int i = 0; i != -1; i = sym[i].next) {
    const std::string piece = s.substr(sym[i].start, sym[i].n);
    auto it = index_.find(piece);
    if (it != index_.end()) {
      out.push_back(it->second);
    } else {
      for (unsigned char c : piece) out.push_back(byte_tokens_[c]);
    }
  }
  return out;
}

std::string tokenizer::piece(int32_t prev, int32_t token) const {
  if (token < 0 || token >= vocab_size()) return {};
  const std::string& p = pieces_[token];
  // The encoder put a space before the text; after BOS it is not part of the text. Only a
  // normal token's space is dropped: a <0x20> byte token is a space the user wrote.
  const bool prefix_space = !p.empty() && p[0] == ' ' && tokens_[token].compare(0, 3, space_mark) == 0;
  if (prev == bos_ && add_space_prefix_ && prefix_space) return p.substr(1);
  return p;
}

std::string tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string out;
  int32_t prev = -1;
  for (int32_t id : ids) {
    if (id != bos_ && id != eos_) out += piece(prev, id);
    prev = id;
  }
  return out;
}

} // namespace llamps
