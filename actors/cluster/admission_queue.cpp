#include "actors/cluster/admission_queue.hpp"

#include <algorithm>
#include <cmath>

namespace llamps {

namespace {
constexpr size_t recent_window = 32; // admissions retry_after looks back on
}

const std::vector<double>& admission_queue::wait_bounds_s() {
  static const std::vector<double> bounds{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
  return bounds;
}

admission_queue::admission_queue(limits l) : limits_(l) {
  stats_.wait_counts.assign(wait_bounds_s().size() + 1, 0);
}

bool admission_queue::push(uint64_t ticket, clock::time_point now, std::chrono::milliseconds wait) {
  if (full()) {
    ++stats_.rejected_full;
    return false;
  }
  line_.push_back({ticket, now, now + std::clamp(wait, std::chrono::milliseconds(0), limits_.max_wait)});
  return true;
}

std::optional<uint64_t> admission_queue::front() const {
  if (line_.empty())
    return std::nullopt;
  return line_.front().ticket;
}

void admission_queue::admit_front(clock::time_point now) {
  if (line_.empty())
    return;
  const double waited = std::max(0.0, std::chrono::duration<double>(now - line_.front().arrived).count());
  line_.pop_front();
  auto& bounds = wait_bounds_s();
  ++stats_.wait_counts[std::lower_bound(bounds.begin(), bounds.end(), waited) - bounds.begin()];
  stats_.wait_sum_s += waited;
  ++stats_.admitted;
  recent_admissions_.push_back(now);
  if (recent_admissions_.size() > recent_window)
    recent_admissions_.pop_front();
}

std::deque<admission_queue::entry>::iterator admission_queue::find(uint64_t ticket) {
  return std::find_if(line_.begin(), line_.end(), [&](const entry& e) { return e.ticket == ticket; });
}

bool admission_queue::remove(uint64_t ticket) {
  auto i = find(ticket);
  if (i == line_.end())
    return false;
  line_.erase(i);
  return true;
}

bool admission_queue::cancel(uint64_t ticket) {
  if (!remove(ticket))
    return false;
  ++stats_.cancelled;
  return true;
}

std::vector<uint64_t> admission_queue::expire(clock::time_point now, std::optional<uint64_t> keep) {
  std::vector<uint64_t> out;
  for (auto i = line_.begin(); i != line_.end();) {
    if (i->deadline <= now && (!keep || i->ticket != *keep)) {
      out.push_back(i->ticket);
      i = line_.erase(i);
      ++stats_.rejected_deadline;
    } else {
      ++i;
    }
  }
  return out;
}

size_t admission_queue::position(uint64_t ticket) const {
  for (size_t i = 0; i < line_.size(); ++i)
    if (line_[i].ticket == ticket)
      return i + 1;
  return 0;
}

std::chrono::seconds admission_queue::retry_after(clock::time_point now) const {
  const auto longest =
      std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(limits_.max_wait).count());
  // An admission long ago says little about the line now: count the time since the last one.
  if (recent_admissions_.size() < 2)
    return std::chrono::seconds(longest);
  const double span = std::chrono::duration<double>(now - recent_admissions_.front()).count();
  const double per_admission = span / double(recent_admissions_.size());
  const double estimate = std::ceil(per_admission * double(line_.size() + 1));
  return std::chrono::seconds(std::clamp<int64_t>(static_cast<int64_t>(estimate), 1, longest));
}

} // namespace llamps
