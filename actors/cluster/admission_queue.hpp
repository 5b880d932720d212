#pragma once
// One model's line of session requests waiting for capacity: first in, first admitted, at most
// `max_length` waiting, none longer than its deadline. A plain class (no CAF, no clock of its
// own): the registry drives it (actors/cluster/registry_admission.cpp) and tests check its
// rules alone.
//
// Every route request passes through the line, also those admitted at once (they wait no
// time), so that a request never overtakes one that came before it and the wait figures
// cover every admission.
#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

namespace llamps {

class admission_queue {
public:
  using clock = std::chrono::steady_clock;

  struct limits {
    size_t max_length = 256;                   // requests waiting at once; more are refused
    std::chrono::milliseconds max_wait{30000}; // the longest any request waits
  };

  // What the line has seen, for /metrics.
  struct figures {
    uint64_t admitted = 0;
    uint64_t rejected_full = 0;        // refused on arrival: the line was full
    uint64_t rejected_deadline = 0;    // their deadline passed while they waited
    uint64_t cancelled = 0;            // their requester left
    std::vector<uint64_t> wait_counts; // admitted requests' waits: at or below each bound, then the rest
    double wait_sum_s = 0;
  };

  // Upper bounds of the wait histogram's buckets, seconds.
  static const std::vector<double>& wait_bounds_s();

  explicit admission_queue(limits l);

  // Adds a request at the back. It waits at most `wait` (never more than max_wait). False
  // when the line is full: the request is refused (and counted so).
  bool push(uint64_t ticket, clock::time_point now, std::chrono::milliseconds wait);
  // The request first in line.
  std::optional<uint64_t> front() const;
  // The first request was admitted: it leaves the line, its wait is recorded.
  void admit_front(clock::time_point now);
  // A request leaves the line for a reason that is not capacity (it failed otherwise): not
  // counted. False when it was not in line.
  bool remove(uint64_t ticket);
  // Its requester went away. False when it was not in line.
  bool cancel(uint64_t ticket);
  // Takes out, and counts as refused, the requests whose deadline has passed, except `keep`
  // (its admission is under way: its outcome decides). Returns their tickets, first first.
  std::vector<uint64_t> expire(clock::time_point now, std::optional<uint64_t> keep = std::nullopt);

  // 1-based place in line; 0 when not in it.
  size_t position(uint64_t ticket) const;
  size_t size() const { return line_.size(); }
  bool full() const { return line_.size() >= limits_.max_length; }
  std::chrono::milliseconds max_wait() const { return limits_.max_wait; }

  // When a request refused now should come back: the time the line took per admission over
  // its recent admissions, times the requests waiting plus one, between 1 s and max_wait
  // (max_wait when it has not admitted two yet: nothing says how fast it moves).
  std::chrono::seconds retry_after(clock::time_point now) const;

  const figures& stats() const { return stats_; }

private:
  struct entry {
    uint64_t ticket;
    clock::time_point arrived, deadline;
  };
  std::deque<entry>::iterator find(uint64_t ticket);

  limits limits_;
  std::deque<entry> line_;
  std::deque<clock::time_point> recent_admissions_; // the last few, for retry_after
  figures stats_;
};

} // namespace llamps
