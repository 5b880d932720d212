// The planner: turns the registry's healthy servers and a model's block profile into a
// placement plan. The placement itself is OPA (actors/planner/opa.hpp), a pure library; this actor
// only gathers its inputs, converts between the protocol's types and OPA's, and words the
// answer (or the reason there is none).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "actors/protocol/actors.hpp"
#include "actors/support/logging.hpp"
#include "actors/support/units.hpp"
#include "actors/planner/opa.hpp"

namespace llamps {

namespace {

constexpr auto registry_timeout = std::chrono::seconds(10);
// KV room given to a host when the model does not say how big its KV cache is: most of
// what the weights leave, keeping a margin for activations and allocator slack.
constexpr double unknown_kv_share = 0.9;

opa::server_offer to_opa(const server_status& s) {
  opa::server_offer o;
  o.name = s.offer.node_id;
  o.address = s.offer.address;
  o.memory_bytes = s.offer.memory_bytes;
  o.cores = s.offer.cores;
  // A contributor that measured its rate reports tokens/s through one block; 0 lets OPA
  // derive it from the cores.
  o.measured_block_tokens_per_s = s.offer.tokens_per_s;
  return o;
}

// KV bytes one session needs on one block (0 when the model does not say).
uint64_t kv_per_session_block(const plan_request& req) {
  return req.model.kv_bytes_per_token_per_block *
         static_cast<uint64_t>(std::max<int32_t>(opa::context_tokens(req), 0));
}

plan_entry to_entry(const opa::assignment& a, const opa::server_offer& server, const plan_request& req) {
  plan_entry e;
  e.node_id = server.name;
  e.address = server.address;
  e.first = a.first;
  e.last = a.last;
  e.weight_bytes = req.model.block_bytes * static_cast<uint64_t>(a.blocks());
  const uint64_t per_session = kv_per_session_block(req) * static_cast<uint64_t>(a.blocks());
  const uint64_t reserved = per_session * static_cast<uint64_t>(std::max<int32_t>(req.sessions, 0));
  e.kv_budget_bytes =
      reserved > 0 ? reserved : static_cast<uint64_t>(static_cast<double>(a.bytes_left) * unknown_kv_share);
  // -1: the model does not say how big its KV cache is, so sessions are not counted.
  e.sessions_capacity =
      per_session > 0 ? static_cast<int32_t>(std::min<uint64_t>(e.kv_budget_bytes / per_session, INT32_MAX))
                      : -1;
  return e;
}

std::string describe(const placement_plan& p, const std::string& objective) {
  std::string text = objective + ": " + std::to_string(p.entries.size()) + " server(s), " +
                     std::to_string(p.replicas) + " replica(s);";
  for (const plan_entry& e : p.entries)
    text += " " + e.node_id + " [" + std::to_string(e.first) + "," + std::to_string(e.last) + ")";
  char rate[64];
  std::snprintf(rate, sizeof rate, "; about %.0f tokens/s", p.predicted_tokens_per_s);
  return text + rate;
}

// Why there is no plan, with the totals first so the admin sees the gap at a glance.
std::string infeasible_reason(const plan_request& req, const std::vector<opa::server_offer>& healthy,
                              size_t known, const std::string& opa_reason) {
  uint64_t offered = 0;
  for (const auto& s : healthy)
    offered += s.memory_bytes;
  const uint64_t needed =
      (req.model.block_bytes +
       kv_per_session_block(req) * static_cast<uint64_t>(std::max<int32_t>(req.sessions, 0))) *
      static_cast<uint64_t>(req.model.n_blocks) * static_cast<uint64_t>(std::max(req.replicas, 1));
  std::string text = "model " + req.model.name + " needs " + human_bytes(needed) + " for " +
                     std::to_string(req.model.n_blocks) + " blocks";
  if (req.replicas > 1)
    text += " x " + std::to_string(req.replicas) + " replicas";
  text += " but the " + std::to_string(healthy.size()) + " healthy server(s) (of " + std::to_string(known) +
          " known) offer " + human_bytes(offered);
  if (needed > offered)
    text += "; add about " + human_bytes(needed - offered);
  return text + " (" + opa_reason + ")";
}

// Pure: a plan for `req` over the registry's rows, or the reason there is none.
caf::expected<placement_plan> make_placement(const plan_request& req,
                                             const std::vector<server_status>& servers) {
  if (auto problem = plan_request_problem(req))
    return make_llamps_error(*problem);
  if (req.model.n_blocks <= 0)
    return make_llamps_error("model " + req.model.name + " has no blocks to place");
  std::vector<opa::server_offer> healthy;
  for (const server_status& s : servers)
    if (s.healthy)
      healthy.push_back(to_opa(s));
  if (healthy.empty())
    return make_llamps_error("no healthy servers to place model " + req.model.name + " on (" +
                             std::to_string(servers.size()) + " known); start a contributor");
  opa::plan chosen = opa::make_plan(healthy, req);
  if (!chosen.feasible)
    return make_llamps_error(infeasible_reason(req, healthy, servers.size(), chosen.reason));
  placement_plan p;
  p.model = req.model.name;
  p.replicas = chosen.replicas;
  p.predicted_tokens_per_s = chosen.bottleneck_tokens_per_s;
  // Chain capacity = its tightest stage; the plan holds the sum over its replica chains.
  std::vector<int32_t> chain_sessions(static_cast<size_t>(std::max(chosen.replicas, 1)), INT32_MAX);
  for (const opa::assignment& a : chosen.assignments) {
    p.entries.push_back(to_entry(a, healthy[static_cast<size_t>(a.server_index)], req));
    int32_t& chain = chain_sessions[static_cast<size_t>(a.replica)];
    if (p.entries.back().sessions_capacity >= 0)
      chain = std::min(chain, p.entries.back().sessions_capacity);
  }
  for (int32_t chain : chain_sessions) {
    if (chain == INT32_MAX) { // sessions are not counted when the KV size is unknown
      p.sessions_capacity = -1;
      break;
    }
    p.sessions_capacity += chain;
  }
  p.summary = describe(p, chosen.objective);
  return p;
}

struct planner_state {
  registry_actor registry;
  std::shared_ptr<spdlog::logger> log = logger("planner");
  const char* name = "planner";
};

planner_actor::behavior_type planner(planner_actor::stateful_pointer<planner_state> self,
                                     registry_actor registry) {
  self->state.registry = std::move(registry);
  return {
      [=](plan_atom, const plan_request& req) -> caf::result<placement_plan> {
        auto promise = self->make_response_promise<placement_plan>();
        self->request(self->state.registry, registry_timeout, servers_atom::value)
            .then(
                [=](const std::vector<server_status>& servers) mutable {
                  auto plan = make_placement(req, servers);
                  if (!plan) {
                    self->state.log->warn("no plan for {}: {}", req.model.name, error_text(plan.error()));
                    promise.deliver(plan.error());
                    return;
                  }
                  self->state.log->info("plan for {}: {}", req.model.name, plan->summary);
                  promise.deliver(std::move(*plan));
                },
                [=](caf::error& err) mutable {
                  promise.deliver(make_llamps_error("cannot plan " + req.model.name +
                                                    ": the registry did not answer (" + error_text(err) +
                                                    ")"));
                });
        return promise;
      },
  };
}

} // namespace

planner_actor spawn_planner(caf::actor_system& sys, registry_actor registry) {
  return sys.spawn(planner, std::move(registry));
}

} // namespace llamps
