#include "model/text/token_index.hpp"

#include <functional>

namespace llamps {

namespace {
uint64_t hash_of(std::string_view s) { return std::hash<std::string_view>{}(s); }
} // namespace

token_index::token_index(const std::vector<std::string>& tokens) {
  size_t total = 0;
  for (const auto& t : tokens)
    total += t.size();
  chars_.reserve(total);
  start_.reserve(tokens.size() + 1);
  for (const auto& t : tokens) {
    start_.push_back(static_cast<uint32_t>(chars_.size()));
    chars_ += t;
  }
  start_.push_back(static_cast<uint32_t>(chars_.size()));
  size_t size = 16;
  while (size < 2 * tokens.size())
    size *= 2; // at most half full: short probe runs
  slots_.assign(size, 0);
  mask_ = size - 1;
  for (size_t id = 0; id < tokens.size(); id++) {
    const uint64_t h = hash_of(tokens[id]);
    const uint64_t tag = h >> 32 << 32;
    for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
      const uint64_t slot = slots_[i];
      if (slot == 0 || ((slot >> 32 << 32) == tag && text_of(int32_t(uint32_t(slot) - 1)) == tokens[id])) {
        slots_[i] = tag | (id + 1); // a duplicate text takes the later id
        break;
      }
    }
  }
}

int32_t token_index::find(std::string_view text) const {
  if (slots_.empty())
    return -1;
  const uint64_t h = hash_of(text);
  const uint64_t tag = h >> 32 << 32;
  for (uint64_t i = h & mask_;; i = (i + 1) & mask_) {
    const uint64_t slot = slots_[i];
    if (slot == 0)
      return -1;
    const int32_t id = static_cast<int32_t>(uint32_t(slot) - 1);
    if ((slot >> 32 << 32) == tag && text_of(id) == text)
      return id;
  }
}

} // namespace llamps
