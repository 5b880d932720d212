#pragma once
// The stand-ins of llamps bench-registry (cmd_bench_registry.cpp): contributors that join a real
// registry and heartbeat as a node does, each also the block host of the one block range it
// reports, and sessions that ask for a route and close it. Nothing runs a model: what is
// measured is the registry's side of the protocol.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actors/protocol/actors.hpp"

namespace llamps::bench_registry {

// What the simulated contributors did, counted as they go (any thread).
struct contributor_counters {
  std::atomic<uint64_t> joined{0};
  std::atomic<uint64_t> join_failures{0};
  std::atomic<uint64_t> heartbeats{0}; // sent
  std::atomic<uint64_t> admissions{0}; // admit_atom answered (true: a stand-in is never full)
};

// One simulated node: what it offers, and the block range it hosts (if any), which it reports
// in every heartbeat with its open sessions, as a contributor reports its block hosts.
struct simulated_node {
  node_offer offer;
  std::optional<hosted_range> range;
};

// Joins `registry`, then heartbeats every `interval` (the first after a random part of it, so
// that the nodes do not beat in step). It answers what the registry sends a contributor
// (peers_atom, status_atom) and a block host (admit_atom, drop_atom); the same actor is both
// handles: actor_cast it to contributor_actor or block_host_actor.
caf::actor spawn_simulated_contributor(caf::actor_system& sys, registry_actor registry, simulated_node node,
                                       std::chrono::milliseconds interval,
                                       std::shared_ptr<contributor_counters> counters);

// Route latencies as the sessions measured them (request sent to route received).
struct route_log {
  std::mutex mutex;
  std::vector<double> latencies_ms;
  uint64_t failures = 0;
  std::string first_failure;
  std::atomic<int64_t> in_flight{0};
  void answered(double ms);
  void failed(const std::string& why);
};

// A session: asks `registry` for a route through `model`, and closes it as soon as it has it
// (close_atom), then ends (the registry, which monitors it, sees it go).
void spawn_route_session(caf::actor_system& sys, registry_actor registry, const std::string& model,
                         std::shared_ptr<route_log> log);

} // namespace llamps::bench_registry
