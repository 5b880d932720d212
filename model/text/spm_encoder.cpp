// With llama.cpp's priority queue so encoding is O(n log n).
#include "model/text/spm_encoder.hpp"

#include <queue>

namespace llamps {

namespace {

// Length of the UTF-8 character at s[off]: a byte plus the continuation bytes (10xxxxxx)
// after it, at most 4 in all, as llama2.c splits. On valid UTF-8 this is what llama.cpp's
// lead-byte table gives; on broken UTF-8 it never swallows the bytes of the next character.
size_t utf8_len(const std::string& s, size_t off) {
  size_t len = 1;
  while (len < 4 && off + len < s.size() && (static_cast<unsigned char>(s[off + len]) & 0xC0) == 0x80)
    len++;
  return len;
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

void spm_encode(const std::string& s, const token_index& index, const std::vector<float>& scores,
                const int32_t (&byte_tokens)[256], std::vector<int32_t>& out) {
  if (s.empty())
    return;
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
    if (left < 0 || right < 0)
      return;
    const size_t size = sym[left].n + sym[right].n;
    const int32_t id = index.find(std::string_view(s).substr(sym[left].start, size));
    if (id >= 0)
      queue.push({left, right, scores[id], size});
  };
  for (int i = 1; i < static_cast<int>(sym.size()); i++)
    try_add(i - 1, i);

  while (!queue.empty()) {
    const bigram b = queue.top();
    queue.pop();
    symbol& left = sym[b.left];
    symbol& right = sym[b.right];
    if (left.n == 0 || right.n == 0 || left.n + right.n != b.size)
      continue; // stale
    left.n += right.n;
    right.n = 0;
    left.next = right.next;
    if (right.next >= 0)
      sym[right.next].prev = b.left;
    try_add(left.prev, b.left);
    try_add(b.left, left.next);
  }

  // Every surviving symbol is either a token or a single character that is not: the latter
  // goes out as its bytes.
  for (int i = 0; i != -1; i = sym[i].next) {
    const std::string_view piece = std::string_view(s).substr(sym[i].start, sym[i].n);
    const int32_t id = index.find(piece);
    if (id >= 0) {
      out.push_back(id);
    } else {
      for (unsigned char c : piece)
        out.push_back(byte_tokens[c]);
    }
  }
}

} // namespace llamps
