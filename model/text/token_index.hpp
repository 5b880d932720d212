#pragma once
// Token text -> id for vocabularies of 100K+ tokens, looked up hundreds of thousands of times
// while a vocabulary loads (the merges name their tokens by text) and at every merge step of
// SentencePiece: one open-addressing table over one buffer holding all the texts, so a lookup
// touches two cache lines instead of a hash node chain and a separately allocated string.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llamps {

class token_index {
public:
  token_index() = default;
  // A text listed twice maps to its last id, as in llama.cpp.
  explicit token_index(const std::vector<std::string>& tokens);

  int32_t find(std::string_view text) const; // -1 if no token has this text
  bool contains(std::string_view text) const { return find(text) >= 0; }

private:
  std::string_view text_of(int32_t id) const {
    return std::string_view(chars_).substr(start_[id], start_[id + 1] - start_[id]);
  }
  std::string chars_;           // every token's text, by id
  std::vector<uint32_t> start_; // token id's text is chars_[start_[id], start_[id + 1])
  std::vector<uint64_t> slots_; // high 32 bits: hash tag, low 32: id + 1 (0 = empty)
  uint64_t mask_ = 0;
};

} // namespace llamps
