#pragma once
// How to start each LLaMPS actor. One actor per file in actors/; each file defines its
// spawn function here. Every actor works the same whether its peers are in this process or
// on another machine: they only exchange the messages of actors/protocol/protocol.hpp.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "actors/protocol/protocol.hpp"
#include "actors/support/cpu_share.hpp"

namespace llamps {

struct registry_options {
  std::string join_token;                            // "" = no token required
  std::chrono::milliseconds heartbeat_timeout{3000}; // a silent node is marked gone
  std::string state_file;                            // "" = keep deployments in memory only
  // Sessions that find their model's hosts full wait in a queue per model, this many at most,
  // each this long at most (actors/cluster/admission_queue.hpp).
  size_t queue_length = 256;
  std::chrono::milliseconds queue_wait{std::chrono::seconds(30)};
  // Run detached, on a thread of its own (llamps bench-registry reads that thread's CPU time).
  bool own_thread = false;
};
registry_actor spawn_registry(caf::actor_system& sys, const registry_options& opts);

struct contributor_options {
  std::string node_id;                        // unique; defaults to hostname:port
  std::string address;                        // host:port where this node is reachable
  uint64_t share_memory_bytes = 0;            // cap on what it offers (0 = what the machine has free)
  int32_t share_cores = 0;                    // cap on cores (0 = all)
  cpu_priority priority = cpu_priority::idle; // its block hosts' compute threads
  std::string model_dir;                      // local GGUF copies, used when the identity matches
  std::string cache_dir;                      // where fetched block bytes are kept
  bool use_local_copies = true;               // false: always pull blocks from the deployer (tests, demo)
  std::string join_token;
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds session_idle_timeout{std::chrono::minutes(10)}; // for its hosts
  // The machine's own work leaving this node no core this long offers its hosts' blocks to
  // other servers; a host nobody can take keeps serving at its low priority (0 = never).
  std::chrono::milliseconds cpu_drain_after{std::chrono::seconds(30)};
  // Its hosts compute on CAF's scheduler instead of threads of their own (block_host_options::
  // own_thread), at normal priority and on any core: for contributors that share one process
  // with their sessions and no owner (llamps demo), whose steps then pass host to host
  // without a thread switch.
  bool hosts_on_scheduler = false;
  // Measure the machine's own CPU demand (busy time not this process's) and yield cores to
  // it. Off for nodes that share a machine while standing for separate machines (llamps
  // bench-cluster's): each would take the others' compute for an owner's and shrink to a thread.
  bool watch_owner_cpu = true;
  // Finds the registry again when its process restarts (runs on a thread of its own, may
  // block; throws when it cannot). Empty: the registry is in this process.
  std::function<registry_actor()> reconnect;
};
contributor_actor spawn_contributor(caf::actor_system& sys, const contributor_options& opts,
                                    registry_actor registry);

// What a node publishes instead of the registry: answers hello(token) with `registry` when
// the token matches `join_token`, and logs and refuses anything else. Link it to the actor
// whose lifetime it shares, so that it exits with it (CAF waits for it at shutdown).
gate_actor spawn_gate(caf::actor_system& sys, registry_actor registry, std::string join_token,
                      caf::actor owner);
// Compares join tokens in constant time, so the time to refuse says nothing about how much of
// a guessed token was right (the gate and the registry both check tokens).
bool same_token(const std::string& a, const std::string& b);

planner_actor spawn_planner(caf::actor_system& sys, registry_actor registry);
deployer_actor spawn_deployer(caf::actor_system& sys, registry_actor registry, planner_actor planner);

struct block_host_options {
  std::string node_id;
  std::string cache_dir = "/tmp/llamps-cache"; // where pulled block bytes are written
  std::chrono::milliseconds session_idle_timeout{std::chrono::minutes(10)};
  int32_t compute_threads = 0;                  // threads for its forward passes (0 = every core)
  cpu_priority priority = cpu_priority::normal; // of those threads; pinned to compute_threads CPUs
  caf::actor_addr owner;                        // the host ends when this actor (its contributor) ends
  // A thread of its own, placed at `priority` on `compute_threads` CPUs, whose forward passes
  // hold up nothing else. Without one it runs on CAF's scheduler, unplaced: a step from an
  // actor of the same process then runs on the sender's worker thread, with no wake-up (about
  // a fifth of a small model's token time in one process), but a long forward pass keeps a
  // worker from the node's other actors.
  bool own_thread = true;
};
// A block host starts empty; a load_atom message gives it its blocks.
block_host_actor spawn_block_host(caf::actor_system& sys, const block_host_options& opts);

struct session_options {
  std::string model;      // deployed model name
  std::string model_path; // local GGUF with the tokenizer and head ("" = the
                          // deployment's path, when it exists on this machine)
  std::chrono::milliseconds step_timeout{std::chrono::seconds(30)};
  int32_t max_recoveries = 3; // re-routes (with replay) before giving up
  int32_t route_retries = 60; // while no host serves some blocks, ask again this often,
  std::chrono::milliseconds route_retry_interval{500}; // this far apart
  // The longest it waits in the model's queue for a place (the registry's queue-seconds may
  // end the wait sooner). It also bounds how long a route request waits for an answer at all
  // (this plus 10 s), so that a registry that is gone costs no more than that.
  std::chrono::milliseconds queue_wait{std::chrono::seconds(30)};
};
struct client_model;
// The output-head batcher for `model` in this actor system (spawned on first use).
head_actor head_batcher_for(caf::actor_system& sys, std::shared_ptr<const client_model> model);

session_actor spawn_session(caf::actor_system& sys, registry_actor registry, const session_options& opts);
struct generation_request;
// What a session runs for `order` (the model core's request). A front end passes it to
// check_generation (model/text/generation_loop.hpp) to refuse bad settings before it starts anything.
generation_request to_request(const generation_order& order);

// The process-local actor of this actor system for `key`, spawned by `spawn()` on first use.
// Only its address is remembered: those who use it hold it alive, and it goes away with the
// last of them (then the next caller spawns a new one).
template <class Handle, class Key, class Spawn>
Handle process_local(caf::actor_system& sys, const Key& key, Spawn spawn) {
  static std::mutex mutex;
  static std::map<std::pair<caf::actor_system*, Key>, caf::actor_addr> known;
  std::lock_guard<std::mutex> guard{mutex};
  auto& addr = known[{&sys, key}];
  if (auto existing = caf::actor_cast<Handle>(addr))
    return existing;
  Handle spawned = spawn();
  addr = spawned.address();
  return spawned;
}

// This process's link keeper (actors/cluster/link_keeper.cpp), spawned on first use.
link_keeper_actor link_keeper_for(caf::actor_system& sys);
// Whether a process that runs the contributor `my_rank` ("" = none) links to the node
// `peer_node_id`; if not, that node links to this process.
bool should_link(const std::string& my_rank, const std::string& peer_node_id);

// A node to link to before using one of its actors: its id, its host:port, and the CAF node
// the actor lives on (an actor of this very process needs no link).
struct link_target {
  std::string node;
  std::string address;
  caf::node_id where;
};

// Runs `then()` once this process has tried to link to each of `targets` outside it.
// A node it cannot link to is still reached, more slowly, through the node that introduced it
// (CAF routes there); the keeper logs why the link failed.
template <class Self, class Then>
void when_linked(Self self, const std::vector<link_target>& targets, Then then) {
  auto remote = std::make_shared<size_t>(0);
  for (const auto& t : targets)
    *remote += t.where != self->node();
  if (*remote == 0)
    return then();
  auto keeper = link_keeper_for(self->system());
  auto one_done = [=] {
    if (--*remote == 0)
      then();
  };
  for (const auto& t : targets)
    if (t.where != self->node())
      self->request(keeper, std::chrono::seconds(15), link_atom::value, t.node, t.address)
          .then([=](bool) { one_done(); }, [=](caf::error&) { one_done(); });
}

} // namespace llamps
