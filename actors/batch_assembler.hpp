#pragma once
// Gathers the members of batches that a block host sent on together (step_request::batch,
// step_result::batch): the receiver runs them as one batch again once every member is here.
// The block hosts down the chain and the client's head batcher both use it.
#include <chrono>
#include <cstdint>
#include <map>

namespace llamps {

// The longest anyone waits for the rest of such a batch: its members travel back to back on
// one connection, so the rest is microseconds behind unless it was lost.
constexpr auto max_batch_rest_wait = std::chrono::milliseconds(5);

class batch_assembler {
public:
  // One member of batch `id` (of `size` members) arrived; id 0 is "not part of a batch".
  void arrived(uint64_t id, int32_t size) {
    if (id == 0 || size <= 1)
      return;
    auto [member, fresh] = missing_.emplace(id, size);
    if (--member->second <= 0)
      missing_.erase(member);
  }
  bool complete() const { return missing_.empty(); }
  // The queue ran: whatever is still missing has been waited for long enough.
  void clear() { missing_.clear(); }

private:
  std::map<uint64_t, int32_t> missing_; // batch id -> members still to come
};

} // namespace llamps
