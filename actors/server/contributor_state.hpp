#pragma once
// The state of a contributor: the block hosts it runs and what it may still offer, and what
// its two files share (actors/server/contributor.cpp: join, heartbeats, loads; actors/
// contributor_drain.cpp: draining hosts). Kept apart so that the actor's files read as its
// behaviour.
#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "actors/protocol/actors.hpp"
#include "actors/server/local_copies.hpp"
#include "actors/support/cpu_share.hpp"
#include "actors/support/logging.hpp"
#include "actors/support/units.hpp"

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

inline std::chrono::milliseconds seconds_to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

inline uint64_t cap(uint64_t value, uint64_t limit) { return limit > 0 ? std::min(value, limit) : value; }

// "blocks 1-2 of M", as the logs name a range.
inline std::string blocks_of(const hosted_range& r) {
  return "blocks " + std::to_string(r.first) + "-" + std::to_string(r.last - 1) + " of " + r.model;
}

inline std::string share_limit_text(uint64_t bytes) {
  return bytes > 0 ? human_bytes(bytes) : "all free memory";
}

// A block host this node runs (or is starting) for one deployment.
struct hosted_blocks {
  block_host_actor host;
  hosted_range range; // the order's range and budgets until loaded, then the host's report;
                      // range.draining: no new sessions are routed here
  bool ready = false;
  deployer_actor deployer;           // ordered the load: asked to move the blocks before release
  clock_type::time_point release_by; // draining: released then at the latest
  bool move_answered = false;        // draining: the deployer moved the blocks, or cannot
  uint64_t steps_measured = 0;       // its steps and forward time (us) at the last rate reading
  double forward_us_measured = 0;

  // Weights plus KV budget promised to it (to a loading one too, so that two orders arriving
  // together cannot both take the same memory).
  uint64_t committed_bytes() const { return range.weight_bytes + range.kv_budget_bytes; }
  // What it holds of the machine's memory now: its weights and the KV caches in use.
  uint64_t held_bytes() const { return range.weight_bytes + range.kv_bytes; }
  // A draining host may go once no session uses it and its blocks are served elsewhere (or
  // nobody can move them); a host still loading serves nobody.
  bool may_release() const { return !ready || (range.sessions == 0 && move_answered); }
};

// Which hosts to drain so that the others fit in `usable` bytes: indices into `committed`
// (what each host was promised). The smallest host whose leaving alone closes the shortfall,
// else the largest, then again with what is left: few hosts move, and few bytes more than
// needed.
inline std::vector<size_t> hosts_to_drain(const std::vector<uint64_t>& committed, uint64_t usable) {
  std::vector<size_t> left(committed.size()), chosen;
  std::iota(left.begin(), left.end(), size_t{0});
  std::stable_sort(left.begin(), left.end(), [&](size_t a, size_t b) { return committed[a] < committed[b]; });
  uint64_t total = std::accumulate(committed.begin(), committed.end(), uint64_t{0});
  while (total > usable && !left.empty()) {
    auto enough =
        std::find_if(left.begin(), left.end(), [&](size_t i) { return committed[i] >= total - usable; });
    auto pick = enough != left.end() ? enough : std::prev(left.end());
    chosen.push_back(*pick);
    total -= committed[*pick];
    left.erase(pick);
  }
  return chosen;
}

struct contributor_state {
  contributor_options opts;
  registry_actor registry;
  bool joined = false;
  bool join_pending = false;
  bool registry_lost = false; // its process ended: find it again (opts.reconnect)
  bool reconnect_pending = false;
  bool leaving = false;     // every host drains; the node leaves once all are released
  bool left_in_time = true; // no host was released with sessions still running
  caf::typed_response_promise<bool> leave_promise;
  // How long sessions in flight may take when hosts are drained to fit a smaller leftover
  // (the node's drain-seconds, given with the share limits).
  std::chrono::milliseconds drain_time{std::chrono::seconds(60)};
  int shortfall_ticks = 0; // heartbeat ticks in a row on which the hosts did not fit
  cpu_times cpu_at_last_tick = read_cpu_times();
  double owner_reading = 0;    // cores the machine's own work took over the last tick
  double owner_busy_cores = 0; // over each of the last two ticks (a burst does not count)
  // Since when the owner's work leaves no core free (nullopt: it leaves some), and whether the
  // hosts' blocks were offered to other servers in this stretch (drain_when_starved).
  std::optional<clock_type::time_point> starved_since;
  bool offered_while_starved = false;
  // Tokens per second one session gets through one block here, from the hosts' forward times
  // (0 until a host has run steps): heartbeats carry it, so a loaded machine reports less.
  double block_tokens_per_s = 0;
  std::string last_join_error; // so a registry that keeps refusing does not flood the log
  std::map<std::string, std::vector<hosted_blocks>> hosts; // by deployment id
  link_keeper_actor links;                                 // this process's (actors/cluster/link_keeper.cpp)
  std::map<std::string, std::string> peers; // the contributors this one links to (id -> address)
  std::set<std::string> linking;            // their links being made now
  local_copies copies;                      // model files on this machine
  std::shared_ptr<spdlog::logger> log = logger("contributor");
  const char* name = "contributor";

  template <class F>
  uint64_t sum_over_hosts(F bytes_of) const {
    uint64_t total = 0;
    for (const auto& [id, list] : hosts)
      for (const auto& h : list)
        total += bytes_of(h);
    return total;
  }

  // What this node may give in all: its share limit, or less when the machine has less free.
  // MemAvailable already excludes what its hosts hold, so that is added back before capping:
  // otherwise it would count twice.
  uint64_t usable_bytes() const {
    return cap(meminfo_bytes("MemAvailable") + sum_over_hosts(std::mem_fn(&hosted_blocks::held_bytes)),
               opts.share_memory_bytes);
  }

  // Leftover = what this node may give minus what it already promised; nothing while it
  // leaves (no deployment may move blocks here).
  node_offer offer() const {
    node_offer o;
    o.node_id = opts.node_id;
    o.address = opts.address;
    o.join_token = opts.join_token;
    o.total_memory_bytes = cap(meminfo_bytes("MemTotal"), opts.share_memory_bytes);
    const uint64_t usable = usable_bytes();
    const uint64_t promised = sum_over_hosts(std::mem_fn(&hosted_blocks::committed_bytes));
    o.memory_bytes = usable > promised && !leaving ? usable - promised : 0;
    o.cores = cores_now();
    o.tokens_per_s = block_tokens_per_s;
    o.starved = starved_since.has_value();
    return o;
  }

  // The cores it may compute on now: its share, less what the owner's work keeps busy.
  int32_t cores_now() const { return cores_left(opts.share_cores, machine_cores(), owner_busy_cores); }
  static int32_t machine_cores() {
    return static_cast<int32_t>(std::max(1u, std::thread::hardware_concurrency()));
  }

  // The hosts that still take new sessions, with their deployment ids.
  std::vector<std::pair<std::string, hosted_blocks*>> serving() {
    std::vector<std::pair<std::string, hosted_blocks*>> out;
    for (auto& [id, list] : hosts)
      for (auto& h : list)
        if (!h.range.draining)
          out.emplace_back(id, &h);
    return out;
  }

  std::vector<host_ref> host_refs() const {
    std::vector<host_ref> refs;
    for (const auto& [id, list] : hosts)
      for (const auto& h : list)
        if (h.ready)
          refs.push_back(host_ref{opts.node_id, h.range, h.host, {}});
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

using contributor_pointer = contributor_actor::stateful_pointer<contributor_state>;

// actors/server/contributor.cpp
void send_heartbeat(contributor_pointer self);
// Asks the ready hosts for their live figures, then drains what no longer fits, heartbeats
// and releases what is done draining.
void refresh_and_heartbeat(contributor_pointer self);

// actors/server/contributor_drain.cpp: a draining host takes no new sessions; the deployer that
// loaded it moves its blocks to a spare server; then it is released once its sessions ended.
void drain(contributor_pointer self, const std::string& deployment_id, hosted_blocks& h,
           std::chrono::milliseconds within);
void drain_to_fit(contributor_pointer self);       // when the leftover shrank
void drain_when_starved(contributor_pointer self); // when the owner's work leaves no core
void release_drained(contributor_pointer self);    // those that may go now
void check_movers(contributor_pointer self);       // each tick: do the deployers still answer?
void forget_deployer(contributor_pointer self, const caf::actor_addr& gone);
void finish_leave_when_empty(contributor_pointer self);

} // namespace llamps::contributor_detail
