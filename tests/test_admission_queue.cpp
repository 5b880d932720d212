// The admission queue's rules alone (actors/cluster/admission_queue.hpp): first in, first
// admitted; a full line refuses; deadlines; cancellation; wait figures; the Retry-After
// estimate. Times are made up, so nothing here depends on how fast the machine is.
#include <catch2/catch.hpp>

#include "actors/cluster/admission_queue.hpp"

using namespace llamps;
using namespace std::chrono_literals;

namespace {

admission_queue::clock::time_point t0 = admission_queue::clock::time_point{} + 1000s;

admission_queue make(size_t length, std::chrono::milliseconds wait = 30s) {
  return admission_queue({length, wait});
}

} // namespace

TEST_CASE("requests are admitted in the order they came", "[queue]") {
  auto q = make(8);
  for (uint64_t t : {5, 3, 9})
    REQUIRE(q.push(t, t0, 30s));
  CHECK(q.position(5) == 1);
  CHECK(q.position(3) == 2);
  CHECK(q.position(9) == 3);
  CHECK(q.position(7) == 0);
  std::vector<uint64_t> order;
  while (auto f = q.front()) {
    order.push_back(*f);
    q.admit_front(t0 + 1s);
  }
  CHECK(order == std::vector<uint64_t>{5, 3, 9});
  CHECK(q.stats().admitted == 3);
  CHECK(q.size() == 0);
}

TEST_CASE("a full line refuses the next request and counts it", "[queue]") {
  auto q = make(2);
  CHECK(q.push(1, t0, 30s));
  CHECK(q.push(2, t0, 30s));
  CHECK(q.full());
  CHECK_FALSE(q.push(3, t0, 30s));
  CHECK(q.stats().rejected_full == 1);
  CHECK(q.position(3) == 0);
  q.admit_front(t0);
  CHECK(q.push(3, t0, 30s)); // a place freed
}

TEST_CASE("requests whose deadline passed leave the line, except the one being admitted", "[queue]") {
  auto q = make(8, 10s);
  q.push(1, t0, 30s);     // capped at the queue's 10 s
  q.push(2, t0 + 1s, 2s); // its requester would wait 2 s only
  q.push(3, t0 + 2s, 30s);
  CHECK(q.expire(t0 + 2500ms).empty());
  CHECK(q.expire(t0 + 3s) == std::vector<uint64_t>{2});
  CHECK(q.expire(t0 + 10s, uint64_t{1}).empty()); // 1 is due, but its admission is under way
  CHECK(q.expire(t0 + 12s) == std::vector<uint64_t>{1, 3});
  CHECK(q.stats().rejected_deadline == 3);
  CHECK(q.size() == 0);
}

TEST_CASE("a zero wait expires at once: the request does not wait at all", "[queue]") {
  auto q = make(8);
  q.push(1, t0, 0ms);
  CHECK(q.expire(t0) == std::vector<uint64_t>{1});
}

TEST_CASE("a cancelled request leaves the line, and the next moves up", "[queue]") {
  auto q = make(8);
  q.push(1, t0, 30s);
  q.push(2, t0, 30s);
  q.push(3, t0, 30s);
  CHECK(q.cancel(2));
  CHECK_FALSE(q.cancel(2));
  CHECK(q.position(3) == 2);
  CHECK(q.remove(1)); // failed for another reason: not counted as cancelled
  CHECK(q.front() == uint64_t{3});
  CHECK(q.stats().cancelled == 1);
}

TEST_CASE("admitted requests' waits fill the histogram", "[queue]") {
  auto q = make(8);
  q.push(1, t0, 30s);
  q.push(2, t0, 30s);
  q.admit_front(t0);      // waited 0 s
  q.admit_front(t0 + 3s); // waited 3 s
  auto& s = q.stats();
  auto& bounds = admission_queue::wait_bounds_s();
  REQUIRE(s.wait_counts.size() == bounds.size() + 1);
  CHECK(s.wait_counts[0] == 1); // 0 s <= the first bound
  size_t three = std::lower_bound(bounds.begin(), bounds.end(), 3.0) - bounds.begin();
  CHECK(bounds[three] >= 3.0);
  CHECK(s.wait_counts[three] == 1);
  CHECK(s.wait_sum_s == Approx(3.0));
}

TEST_CASE("Retry-After follows how fast the line moves, within 1 s and the deadline", "[queue]") {
  auto q = make(64, 30s);
  CHECK(q.retry_after(t0) == 30s); // nothing admitted yet: no idea how fast it moves
  for (uint64_t t = 1; t <= 4; ++t)
    q.push(t, t0, 30s);
  q.admit_front(t0);
  q.admit_front(t0 + 2s);
  q.admit_front(t0 + 4s); // three admissions over 4 s
  // Now, 4 s after the first: 4 s / 3 per admission, 1 waiting + 1 -> ceil(2.67) = 3 s.
  CHECK(q.retry_after(t0 + 4s) == 3s);
  for (uint64_t t = 10; t < 40; ++t)
    q.push(t, t0, 30s);
  CHECK(q.retry_after(t0 + 4s) == 30s); // 32 ahead at 1.33 s each: capped at the deadline
  auto quick = make(8, 30s);
  quick.push(1, t0, 30s);
  quick.push(2, t0, 30s);
  quick.admit_front(t0);
  quick.admit_front(t0 + 1ms);
  CHECK(quick.retry_after(t0 + 2ms) == 1s); // never less than a second
}
