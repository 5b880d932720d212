#pragma once
// The state of a contributor (actors/contributor.cpp): the block hosts it runs and what it
// may still offer. Kept apart so that the actor's file reads as its behaviour.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "actors/actors.hpp"
#include "runtime/local_copies.hpp"
#include "runtime/logging.hpp"

namespace llamps::contributor_detail {

using clock_type = std::chrono::steady_clock;

// A "Key:   1234 kB" line of /proc/meminfo, in bytes (0 when absent, e.g. not on Linux).
inline uint64_t meminfo_bytes(const std::string& key) {
  std::ifstream in("/proc/meminfo");
  std::string name, unit;
  uint64_t kib = 0;
  while (in >> name >> kib) {
    std::getline(in, unit);
    if (name == key + ":")
      return kib * 1024;
  }
  return 0;
}

inline uint64_t cap(uint64_t value, uint64_t limit) { return limit > 0 ? std::min(value, limit) : value; }

// A block host this node runs (or is starting) for one deployment.
struct hosted_blocks {
  block_host_actor host;
  hosted_range range;   // the order's range and budgets until loaded, then the host's report
  bool ready = false;
};

struct contributor_state {
  contributor_options opts;
  registry_actor registry;
  bool joined = false;
  bool join_pending = false;
  bool registry_lost = false;     // its process ended: find it again (opts.reconnect)
  bool reconnect_pending = false;
  bool draining = false;          // leaving: no new sessions, release once they are done
  clock_type::time_point drain_deadline;
  caf::typed_response_promise<bool> drain_promise;
  std::string last_join_error; // so a registry that keeps refusing does not flood the log
  std::map<std::string, std::vector<hosted_blocks>> hosts; // by deployment id
  local_copies copies;                                       // model files on this machine
  std::shared_ptr<spdlog::logger> log = logger("contributor");
  const char* name = "contributor";

  // Weights plus KV budgets promised to the hosts (loading ones included, so two orders
  // arriving together cannot both take the same memory).
  uint64_t committed_bytes() const {
    uint64_t total = 0;
    for (const auto& [id, list] : hosts)
      for (const auto& h : list)
        total += h.range.weight_bytes + h.range.kv_budget_bytes;
    return total;
  }

  uint64_t hosted_weight_bytes() const {
    uint64_t total = 0;
    for (const auto& [id, list] : hosts)
      for (const auto& h : list)
        total += h.range.weight_bytes;
    return total;
  }

  // Leftover = what this node may give minus what it already promised. MemAvailable already
  // excludes the weights our hosts hold, so they are added back before capping: otherwise
  // they would count twice.
  node_offer offer() const {
    node_offer o;
    o.node_id = opts.node_id;
    o.address = opts.address;
    o.join_token = opts.join_token;
    const uint64_t machine = meminfo_bytes("MemTotal");
    o.total_memory_bytes = cap(machine, opts.share_memory_bytes);
    const uint64_t usable = cap(meminfo_bytes("MemAvailable") + hosted_weight_bytes(),
                                opts.share_memory_bytes);
    const uint64_t promised = committed_bytes();
    o.memory_bytes = usable > promised ? usable - promised : 0;
    const auto cores = static_cast<int32_t>(std::max(1u, std::thread::hardware_concurrency()));
    o.cores = opts.share_cores > 0 ? std::min(cores, opts.share_cores) : cores;
    return o;
  }

  std::vector<host_ref> host_refs() const {
    std::vector<host_ref> refs;
    for (const auto& [id, list] : hosts)
      for (const auto& h : list)
        if (h.ready)
          refs.push_back(host_ref{opts.node_id, h.range, h.host});
    return refs;
  }

  std::vector<hosted_range> hosting() const {
    std::vector<hosted_range> ranges;
    for (const auto& [id, list] : hosts)
      for (const auto& h : list)
        ranges.push_back(h.range);
    return ranges;
  }

  hosted_blocks* find(const std::string& deployment_id, const block_host_actor& host) {
    auto list = hosts.find(deployment_id);
    if (list == hosts.end())
      return nullptr;
    for (auto& h : list->second)
      if (h.host == host)
        return &h;
    return nullptr;
  }

  // Forgets one host; false if it was not (or no longer) known.
  bool forget(const caf::actor_addr& who) {
    for (auto it = hosts.begin(); it != hosts.end(); ++it) {
      auto& list = it->second;
      auto found = std::find_if(list.begin(), list.end(), [&](const hosted_blocks& h) {
        return caf::actor_cast<caf::actor_addr>(h.host) == who;
      });
      if (found != list.end()) {
        list.erase(found);
        if (list.empty())
          hosts.erase(it);
        return true;
      }
    }
    return false;
  }
};

} // namespace llamps::contributor_detail
