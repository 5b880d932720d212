#include "model/text/bpe_encoder.hpp"

#include <array>
#include <queue>

#include "model/errors.hpp"

namespace llamps {

namespace {

bool stands_for_itself(int b) {
  return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}

std::string utf8_of(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | cp >> 6);
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xE0 | cp >> 12);
    s += static_cast<char>(0x80 | (cp >> 6 & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

struct alphabet {
  std::array<std::string, 256> char_of; // byte -> its character (UTF-8)
  std::array<int16_t, 0x144> byte_of;   // code point < U+0144 -> byte, or -1
  alphabet() {
    byte_of.fill(-1);
    uint32_t next = 0x100;
    for (int b = 0; b < 256; b++) {
      const uint32_t cp = stands_for_itself(b) ? static_cast<uint32_t>(b) : next++;
      char_of[b] = utf8_of(cp);
      byte_of[cp] = static_cast<int16_t>(b);
    }
  }
};

const alphabet& the_alphabet() {
  static const alphabet a;
  return a;
}

// One symbol of the word being merged: its token and its live neighbours (-1 at the ends).
// A symbol merged into its left neighbour keeps token -1.
struct symbol {
  int prev, next;
  int32_t token;
};

struct candidate {
  int32_t rank;
  int left, right;
  int32_t left_token, right_token; // a candidate whose symbols have changed since is stale
  int32_t result;
};

// Lowest rank first; equal ranks: leftmost first.
struct later {
  bool operator()(const candidate& a, const candidate& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

} // namespace

const std::string& byte_level_char(uint8_t byte) { return the_alphabet().char_of[byte]; }

std::string byte_level_decode(const std::string& text) {
  const alphabet& a = the_alphabet();
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    // The alphabet's characters are U+0021..U+0143: one byte, or two starting 0xC2..0xC5.
    if (b0 < 0x80 && a.byte_of[b0] >= 0) {
      out += static_cast<char>(a.byte_of[b0]);
      i += 1;
      continue;
    }
    if (b0 >= 0xC2 && b0 <= 0xC5 && i + 1 < text.size()) {
      const uint32_t cp = (b0 & 0x1F) << 6 | (static_cast<unsigned char>(text[i + 1]) & 0x3F);
      if (cp < a.byte_of.size() && a.byte_of[cp] >= 0) {
        out += static_cast<char>(a.byte_of[cp]);
        i += 2;
        continue;
      }
    }
    out += text[i];
    i += 1;
  }
  return out;
}

bpe_encoder::bpe_encoder(const std::string& path, const std::vector<std::string>& merges,
                         const token_index& index, bool ignore_merges)
    : ignore_merges_(ignore_merges) {
  for (int b = 0; b < 256; b++) {
    byte_token_[b] = index.find(byte_level_char(static_cast<uint8_t>(b)));
  }
  size_t size = 16;
  while (size < 2 * merges.size())
    size *= 2;
  merges_.assign(size, merge{0, -1, -1});
  mask_ = size - 1;
  auto token_of = [&](const std::string& text, size_t rank, const std::string& what) {
    const int32_t id = index.find(text);
    if (id < 0)
      throw model_error(path + ": tokenizer.ggml.merges[" + std::to_string(rank) + "] = \"" + merges[rank] +
                        "\": " + what + " \"" + text + "\" is not a token");
    return id;
  };
  for (size_t rank = 0; rank < merges.size(); rank++) {
    const std::string& m = merges[rank];
    // The first character may itself be a space (a merge of " " and something): split after it.
    const size_t space = m.size() > 1 ? m.find(' ', 1) : std::string::npos;
    if (space == std::string::npos || space + 1 >= m.size())
      throw model_error(path + ": tokenizer.ggml.merges[" + std::to_string(rank) + "] = \"" + m +
                        "\" is not two tokens separated by a space");
    const std::string left = m.substr(0, space), right = m.substr(space + 1);
    const int32_t l = token_of(left, rank, "its left side");
    const int32_t r = token_of(right, rank, "its right side");
    const int32_t result = token_of(left + right, rank, "the merged");
    const uint64_t pair = pair_key(l, r);
    for (uint64_t i = slot_of(pair);; i = (i + 1) & mask_) {
      if (merges_[i].rank < 0) {
        merges_[i] = merge{pair, static_cast<int32_t>(rank), result};
        break;
      }
      if (merges_[i].pair == pair)
        break; // a pair listed twice keeps its first (best) rank
    }
  }
}

const bpe_encoder::merge* bpe_encoder::find(int32_t left, int32_t right) const {
  const uint64_t pair = pair_key(left, right);
  for (uint64_t i = slot_of(pair);; i = (i + 1) & mask_) {
    if (merges_[i].rank < 0)
      return nullptr;
    if (merges_[i].pair == pair)
      return &merges_[i];
  }
}

void bpe_encoder::encode_word(std::string_view word, const token_index& index,
                              std::vector<int32_t>& out) const {
  if (word.empty())
    return;
  if (ignore_merges_) {
    std::string text;
    for (unsigned char c : word)
      text += byte_level_char(c);
    const int32_t id = index.find(text);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  const int n = static_cast<int>(word.size());
  std::vector<symbol> sym(n);
  for (int i = 0; i < n; i++)
    sym[i] = {i - 1, i + 1 < n ? i + 1 : -1, byte_token_[static_cast<unsigned char>(word[i])]};

  std::priority_queue<candidate, std::vector<candidate>, later> queue;
  auto try_add = [&](int left, int right) {
    if (left < 0 || right < 0 || sym[left].token < 0 || sym[right].token < 0)
      return;
    if (const merge* m = find(sym[left].token, sym[right].token))
      queue.push({m->rank, left, right, sym[left].token, sym[right].token, m->result});
  };
  for (int i = 1; i < n; i++)
    try_add(i - 1, i);

  while (!queue.empty()) {
    const candidate c = queue.top();
    queue.pop();
    symbol& left = sym[c.left];
    symbol& right = sym[c.right];
    if (left.next != c.right || left.token != c.left_token || right.token != c.right_token)
      continue; // stale
    left.token = c.result;
    left.next = right.next;
    if (right.next >= 0)
      sym[right.next].prev = c.left;
    right.token = -1;
    right.next = right.prev = -1;
    try_add(left.prev, c.left);
    try_add(c.left, left.next);
  }
  // A byte whose character is not in the vocabulary has no token and is left out, as in
  // llama.cpp (byte-level vocabularies hold all 256).
  for (int i = 0; i != -1; i = sym[i].next)
    if (sym[i].token >= 0)
      out.push_back(sym[i].token);
}

} // namespace llamps
