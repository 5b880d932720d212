// The owner-first pieces: priorities by name, the owner's demand from two readings of the
// machine's CPU times, and the cores a contributor may still offer.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "actors/support/cpu_share.hpp"

using namespace llamps;

TEST_CASE("cpu priorities by name", "[cpu]") {
  CHECK(parse_cpu_priority("idle") == cpu_priority::idle);
  CHECK(parse_cpu_priority("low") == cpu_priority::low);
  CHECK(parse_cpu_priority("normal") == cpu_priority::normal);
  CHECK_THROWS_WITH(parse_cpu_priority("high"), Catch::Contains("idle, low or normal, not 'high'"));
}

TEST_CASE("the owner's cores are the machine's busy time less this process's", "[cpu]") {
  cpu_times a{100.0, 10.0, 1000.0}, b{103.0, 11.0, 1002.0}; // 3 s busy, 1 s ours, over 2 s
  CHECK(owner_cores(a, b) == Approx(1.0));
  CHECK(owner_cores(a, cpu_times{100.5, 10.9, 1001.0}) == 0.0); // never below zero
  CHECK(owner_cores(a, a) == 0.0);                              // no time passed
  // This process spinning for a while is not the owner's work. It spins until it has used
  // 0.3 s of CPU (a loaded machine gives a niced test less than its wall time), 20 s at most.
  const cpu_times before = read_cpu_times();
  cpu_times after = before;
  for (auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
       after.own_seconds - before.own_seconds < 0.3 && std::chrono::steady_clock::now() < end;)
    after = read_cpu_times();
  CHECK(after.own_seconds - before.own_seconds > 0.2);
  CHECK(after.busy_seconds - before.busy_seconds >= after.own_seconds - before.own_seconds - 0.05);
}

TEST_CASE("cores left: the share, less what the owner keeps busy, at least one", "[cpu]") {
  CHECK(free_cores(8, 0.0) == 8);
  CHECK(free_cores(8, 7.5) == 0); // most of the last core is taken: starved
  CHECK(free_cores(8, 7.2) == 1);
  CHECK(free_cores(2, 3.5) == 0);    // a reading above the machine (noise) is none left
  CHECK(cores_left(0, 8, 0.0) == 8); // share everything, idle machine
  CHECK(cores_left(6, 8, 0.0) == 6); // the share caps
  CHECK(cores_left(6, 8, 3.0) == 5); // 5 free
  CHECK(cores_left(6, 8, 2.9) == 5); // most of a core counts as taken
  CHECK(cores_left(6, 8, 1.7) == 6);
  CHECK(cores_left(6, 8, 8.0) == 1);  // the owner takes all: one, at idle priority
  CHECK(cores_left(16, 8, 0.0) == 8); // a share beyond the machine
}
