#pragma once
// The state of the deployer (actors/deployer.cpp): the deployments it runs, and the choice
// of a spare server when a host of one is lost. Kept apart so that the actor's file reads
// as its behaviour.
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actors/actors.hpp"
#include "runtime/logging.hpp"
#include "runtime/weight_source.hpp"

namespace llamps::deployer_detail {

// One deployment as this deployer runs it.
struct deployment_record {
  deploy_status status;          // model, id, state, one load_progress per plan entry
  plan_request request;
  placement_plan plan;
  std::vector<host_ref> hosts;   // by plan entry, filled as the hosts report ready
  size_t awaiting = 0;           // plan entries still loading
  std::map<std::string, contributor_actor> contributors; // by node id, as they are looked up
  std::shared_ptr<weight_source> source; // kept while deployed: replacement hosts pull too
  caf::typed_response_promise<deploy_status> promise;
  bool deploying() const { return status.state == "deploying"; }
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
    if (found == records.end() || found->second.status.deployment_id != id ||
        !found->second.deploying())
      return nullptr;
    return &found->second;
  }

  deployment_record* by_id(const std::string& id) {
    for (auto& [model, record] : records)
      if (record.status.deployment_id == id)
        return &record;
    return nullptr;
  }
};

// The server to take over a lost host's blocks: healthy, not already part of the deployment,
// with room for the weights and KV budget; the one with the most leftover memory.
inline std::optional<std::string> pick_spare(const deployment_record& r, const hosted_range& lost,
                                      const std::vector<server_status>& servers) {
  std::set<std::string> used;
  for (const host_ref& h : r.hosts)
    used.insert(h.node_id);
  const server_status* best = nullptr;
  for (const server_status& s : servers)
    if (s.healthy && !used.count(s.offer.node_id) &&
        s.offer.memory_bytes >= lost.weight_bytes + lost.kv_budget_bytes &&
        (!best || s.offer.memory_bytes > best->offer.memory_bytes))
      best = &s;
  return best ? std::optional<std::string>(best->offer.node_id) : std::nullopt;
}

} // namespace llamps::deployer_detail
