#pragma once
// Batching helpers of the block hosts and the client's head batcher. batch_assembler gathers
// the members of batches that a block host sent on together (step_request::batch,
// step_result::batch): the receiver runs them as one batch again once every member is here.
#include <chrono>
#include <cstdint>
#include <map>

#include "actors/protocol/protocol.hpp"

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

// The queue-running message an actor sends itself (flush_atom, round): at once, or after a
// wait. A newer flush makes an older, still delayed one stale, so that a queue is run when
// the last expected member arrives instead of at the older timer. The block hosts and the
// head batcher both use it.
class flush_timer {
public:
  bool pending() const { return pending_; }
  // Sends the flush, unless one is pending already.
  template <class Self>
  void schedule(Self* self, std::chrono::steady_clock::duration wait) {
    if (pending_)
      return;
    pending_ = true;
    const uint64_t round = ++round_;
    if (wait < std::chrono::microseconds(50))
      self->send(self, flush_atom::value, round);
    else
      self->delayed_send(self, std::chrono::duration_cast<std::chrono::microseconds>(wait), flush_atom::value,
                         round);
  }
  // Runs the queue now: inside the current handler when the mailbox holds nothing else (a
  // flush message would come straight back and find no more members: one message and one
  // mailbox round less per hop), else by a flush message behind what is waiting, overtaking a
  // delayed one.
  template <class Self, class Run>
  void now(Self* self, Run run) {
    pending_ = false;
    if (self->mailbox().empty()) {
      ++round_; // a flush still on its way is stale
      run();
      return;
    }
    schedule(self, {});
  }
  // Whether a flush message that arrived is the current one; the queue then runs.
  bool take(uint64_t round) {
    if (round != round_)
      return false;
    pending_ = false;
    return true;
  }

private:
  bool pending_ = false;
  uint64_t round_ = 0;
};

} // namespace llamps
