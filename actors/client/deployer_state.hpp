#pragma once
// The state of the deployer (actors/client/deployer.cpp): the deployments it runs, and the choice
// of a spare server when a host of one is lost or drained, and what its two files share
// (actors/client/deployer.cpp: deploy, undeploy, fetch; actors/client/deployer_replace.cpp: repairs and
// moves). Kept apart so that the actor's files read as its behaviour.
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actors/protocol/actors.hpp"
#include "actors/support/logging.hpp"
#include "actors/client/weight_source.hpp"

namespace llamps::deployer_detail {

// One deployment as this deployer runs it.
struct deployment_record {
  deploy_status status; // model, id, state, one load_progress per plan entry
  plan_request request;
  placement_plan plan;
  std::vector<host_ref> hosts;                           // by plan entry, filled as the hosts report ready
  size_t awaiting = 0;                                   // plan entries still loading
  std::map<std::string, contributor_actor> contributors; // by node id, as they are looked up
  std::shared_ptr<weight_source> source;                 // kept while deployed: replacement hosts pull too
  caf::typed_response_promise<deploy_status> promise;
  // Hosts whose blocks are being loaded on a spare server (a repair or a move): a host that
  // is moved and then dies must not start a second load of the same blocks.
  std::set<caf::actor_addr> replacing;
  bool deploying() const { return status.state == "deploying"; }

  void set_server_state(const std::string& node, const std::string& state) {
    for (load_progress& p : status.servers)
      if (p.node_id == node)
        p.state = state;
  }

  // The deployment as the registry records it.
  deployment published() const {
    return deployment{status.model, status.deployment_id, request.model, plan.replicas, hosts};
  }
};

inline std::set<std::string> nodes_of(const std::vector<host_ref>& hosts) {
  std::set<std::string> nodes;
  for (const host_ref& h : hosts)
    nodes.insert(h.node_id);
  return nodes;
}

// Where a host is in the deployments: the model's record and its index in the hosts.
struct host_position {
  std::string model;
  size_t index = 0;
};

struct deployer_state {
  registry_actor registry;
  planner_actor planner;
  int next_number = 1;
  std::map<std::string, deployment_record> records; // by model name
  std::shared_ptr<spdlog::logger> log = logger("deployer");
  const char* name = "deployer";

  // The record of `model` if it is still deploying as `id` (answers to a deployment that has
  // since failed or been replaced are stale and must change nothing).
  deployment_record* deploying(const std::string& model, const std::string& id) {
    auto found = records.find(model);
    if (found == records.end() || found->second.status.deployment_id != id || !found->second.deploying())
      return nullptr;
    return &found->second;
  }

  deployment_record* by_id(const std::string& id) {
    for (auto& [model, record] : records)
      if (record.status.deployment_id == id)
        return &record;
    return nullptr;
  }

  // The host of a ready deployment at `host`, if any.
  std::optional<host_position> find_host(const caf::actor_addr& host) const {
    for (const auto& [model, r] : records)
      if (r.status.state == "ready")
        for (size_t i = 0; i < r.hosts.size(); ++i)
          if (r.hosts[i].host.address() == host)
            return host_position{model, i};
    return std::nullopt;
  }

  // The record of `model` if it is still ready as `id` with `host` at `index`: a replacement
  // that finds anything else (undeployed, redeployed, replaced meanwhile) must change nothing.
  deployment_record* serving(const std::string& model, const std::string& id, size_t index,
                             const block_host_actor& host) {
    auto r = records.find(model);
    return r != records.end() && r->second.status.deployment_id == id && r->second.status.state == "ready" &&
                   r->second.hosts[index].host == host
               ? &r->second
               : nullptr;
  }
};

// The server to take over a host's blocks: healthy, not already part of the deployment (the
// node that gives them up is part of it until they moved), with room for the weights and KV
// budget; one whose owner's work leaves it a core before a starved one (only such, with
// `need_free_cores`), then the one with the most leftover memory.
inline std::optional<node_offer> pick_spare(const deployment_record& r, const hosted_range& lost,
                                            const std::vector<server_status>& servers, bool need_free_cores) {
  const std::set<std::string> used = nodes_of(r.hosts);
  auto better = [](const server_status& a, const server_status& b) {
    return a.offer.starved != b.offer.starved ? !a.offer.starved
                                              : a.offer.memory_bytes > b.offer.memory_bytes;
  };
  const server_status* best = nullptr;
  for (const server_status& s : servers)
    if (s.healthy && !(need_free_cores && s.offer.starved) && !used.count(s.offer.node_id) &&
        s.offer.memory_bytes >= lost.weight_bytes + lost.kv_budget_bytes && (!best || better(s, *best)))
      best = &s;
  return best ? std::optional<node_offer>(best->offer) : std::nullopt;
}

using deployer_pointer = deployer_actor::stateful_pointer<deployer_state>;

// Hears once how an asynchronous step ended: no error = done.
using outcome_fn = std::function<void(const caf::error&)>;

constexpr auto ask_timeout = std::chrono::seconds(30);
constexpr auto load_timeout = std::chrono::minutes(60); // a 70B range takes a while

// Runs `then` with the contributor of `node` (asked of the registry) once this process has
// tried to link to it at `address`, or `otherwise` with why the registry does not know it
// (actors/client/deployer.cpp).
void reach_contributor(deployer_pointer self, const std::string& node, const std::string& address,
                       std::function<void(contributor_actor)> then, outcome_fn otherwise);

// Records the deployment as it is now with the registry (actors/client/deployer.cpp).
void publish(deployer_pointer self, const deployment_record& r, outcome_fn done);

// Why a host's blocks are loaded elsewhere: it died (repair: sessions that lost their route
// find the blocks again and replay there), or its node gives it up (sessions in flight keep it
// until they end; new ones go to the new host, so the blocks are never unserved): to drain it
// (move), or for want of cores (relieve: only a server whose owner leaves it a core will do).
enum class replacement { repair, move, relieve };

// Loads the blocks of host `index` of `model` (a ready deployment) on a spare server, then
// publishes the deployment with the new host in its place; `done` hears the outcome once
// (actors/client/deployer_replace.cpp).
void replace_host(deployer_pointer self, const std::string& model, size_t index, replacement why,
                  outcome_fn done);

// A contributor drains a host: move its blocks, answer once they are served elsewhere.
caf::result<bool> move_host(deployer_pointer self, const std::string& deployment_id,
                            const caf::actor_addr& host, bool need_free_cores);

} // namespace llamps::deployer_detail
