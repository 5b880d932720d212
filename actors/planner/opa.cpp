// OPA: the memory and speed model, the proportional split, turning chains into plans,
// replicas and several models. The searches live in opa_fewest.cpp and opa_objectives.cpp,
// re-planning in opa_replan.cpp.
#include "actors/planner/opa.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "actors/planner/opa_detail.hpp"

namespace llamps::opa {

namespace {

std::string gb_text(double bytes) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f GB", bytes / bytes_per_gb);
  return buf;
}

} // namespace

std::optional<objective> parse_objective(const std::string& name) {
  for (objective o : {objective::fewest_servers, objective::max_sessions, objective::max_throughput})
    if (name == objective_name(o))
      return o;
  return std::nullopt;
}

int32_t context_tokens(const plan_request& r) { return r.context > 0 ? r.context : r.model.n_ctx; }

std::optional<std::string> plan_request_problem(const plan_request& r) {
  if (static_cast<unsigned>(r.goal) >= 3)
    return "objective " + std::to_string(static_cast<int>(r.goal)) +
           " is none of fewest-servers, max-sessions, max-throughput";
  auto range = [](const char* name, int32_t value, int32_t low, int32_t high) -> std::optional<std::string> {
    if (value >= low && value <= high)
      return std::nullopt;
    return std::string(name) + " must be between " + std::to_string(low) + " and " + std::to_string(high) +
           ", not " + std::to_string(value);
  };
  if (!(r.core_bytes_per_s > 0) || !std::isfinite(r.core_bytes_per_s))
    return "core bytes per second must be a positive number, not " + std::to_string(r.core_bytes_per_s);
  if (auto p = range("replicas", r.replicas, 1, plan_request::max_replicas))
    return p;
  if (auto p = range("sessions", r.sessions, 1, plan_request::max_sessions))
    return p;
  return range("context", r.context, 0, plan_request::max_context);
}

namespace detail {

uint64_t usable_bytes(const server_offer& s, const plan_request& r) {
  return s.memory_bytes > r.per_server_overhead_bytes ? s.memory_bytes - r.per_server_overhead_bytes : 0;
}

uint64_t kv_bytes_per_block_session(const plan_request& r) {
  return r.model.kv_bytes_per_token_per_block * static_cast<uint64_t>(std::max(context_tokens(r), 0));
}

uint64_t block_cost(const plan_request& r) {
  return r.model.block_bytes + kv_bytes_per_block_session(r) * static_cast<uint64_t>(std::max(r.sessions, 0));
}

int whole_blocks(uint64_t usable, uint64_t cost, int n_blocks) {
  if (cost == 0)
    return n_blocks;
  return static_cast<int>(std::min<uint64_t>(usable / cost, static_cast<uint64_t>(n_blocks)));
}

double block_rate(const server_offer& s, const plan_request& r) {
  if (s.measured_block_tokens_per_s > 0)
    return s.measured_block_tokens_per_s;
  double bytes = static_cast<double>(std::max<uint64_t>(r.model.block_bytes, 1));
  return std::max(s.cores, 0) * r.core_bytes_per_s / bytes;
}

int64_t sessions_held(uint64_t usable, int n, const plan_request& r) {
  uint64_t per_session = kv_bytes_per_block_session(r) * static_cast<uint64_t>(n);
  uint64_t weights = r.model.block_bytes * static_cast<uint64_t>(n);
  if (per_session == 0)
    return unlimited_sessions;
  return usable > weights ? static_cast<int64_t>((usable - weights) / per_session) : 0;
}

int64_t scaled_floor(int n_blocks, uint64_t part, uint64_t total) {
  // 64-bit division when L * part cannot overflow (always, in practice): it is the hot path.
  if (n_blocks > 0 && part <= UINT64_MAX / static_cast<uint64_t>(n_blocks))
    return static_cast<int64_t>(static_cast<uint64_t>(n_blocks) * part / total);
  return static_cast<int64_t>(static_cast<unsigned __int128>(n_blocks) * part / total);
}

std::vector<int> proportional_split(const std::vector<uint64_t>& usable, int n_blocks) {
  uint64_t total = 0;
  for (uint64_t u : usable)
    total += u;
  std::vector<int> counts(usable.size(), 0);
  if (usable.empty() || total == 0)
    return counts;
  uint64_t prefix = 0;
  int64_t end = 0;
  for (size_t k = 0; k < usable.size(); ++k) {
    prefix += usable[k];
    int64_t next = k + 1 == usable.size() ? n_blocks : scaled_floor(n_blocks, prefix, total);
    counts[k] = static_cast<int>(next - end);
    end = next;
  }
  return counts;
}

std::string shortage_reason(const std::vector<server_offer>& offers, const std::vector<int>& allowed,
                            const plan_request& r, uint64_t cost) {
  const int need = r.model.n_blocks;
  int64_t held = 0;
  int best = -1, best_cap = 0;
  for (int i : allowed) {
    int cap = whole_blocks(usable_bytes(offers[i], r), cost, need);
    held += cap;
    if (cap > best_cap)
      best = i, best_cap = cap;
  }
  std::string per_block = gb_text(static_cast<double>(cost));
  if (best < 0)
    return "no server can hold a single block: each needs " + per_block + " plus " +
           gb_text(static_cast<double>(r.per_server_overhead_bytes)) + " overhead";
  if (held >= need)
    return "the servers hold all " + std::to_string(need) +
           " blocks in total, but no proportional split fits (a block short on one server); "
           "add a server or use --objective max-throughput";
  int64_t missing = need - held;
  int64_t more = (missing + best_cap - 1) / best_cap;
  return "the servers hold " + std::to_string(held) + " of " + std::to_string(need) +
         " blocks: " + std::to_string(missing) + " more blocks need " +
         gb_text(static_cast<double>(missing) * static_cast<double>(cost)) + " more memory (" + per_block +
         " each), e.g. " + std::to_string(more) + " more server(s) like " + offers[best].name + " (" +
         gb_text(static_cast<double>(offers[best].memory_bytes)) + ")";
}

plan build_plan(const std::vector<server_offer>& offers, const plan_request& r,
                const std::vector<chain>& chains) {
  plan p;
  p.model = r.model.name;
  p.objective = objective_name(r.goal);
  p.feasible = true;
  p.replicas = static_cast<int>(chains.size());
  p.bottleneck_tokens_per_s = std::numeric_limits<double>::infinity();
  bool limited = false;
  int64_t total_sessions = 0;
  for (size_t c = 0; c < chains.size(); ++c) {
    int next_block = 0;
    int64_t chain_sessions = std::numeric_limits<int64_t>::max();
    for (size_t k = 0; k < chains[c].servers.size(); ++k) {
      const server_offer& s = offers[chains[c].servers[k]];
      assignment a;
      a.server = s.name;
      a.server_index = chains[c].servers[k];
      a.replica = static_cast<int>(c);
      a.first = next_block;
      a.last = next_block + chains[c].counts[k];
      next_block = a.last;
      a.bytes_used =
          std::min<uint64_t>(s.memory_bytes, r.per_server_overhead_bytes + r.model.block_bytes * a.blocks());
      a.bytes_left = s.memory_bytes - a.bytes_used;
      a.sessions_capacity = sessions_held(usable_bytes(s, r), a.blocks(), r);
      a.tokens_per_s = block_rate(s, r) / a.blocks();
      if (a.sessions_capacity != unlimited_sessions)
        chain_sessions = std::min(chain_sessions, a.sessions_capacity);
      p.bottleneck_tokens_per_s = std::min(p.bottleneck_tokens_per_s, a.tokens_per_s);
      p.assignments.push_back(a);
    }
    if (chain_sessions != std::numeric_limits<int64_t>::max())
      limited = true, total_sessions += chain_sessions;
    p.servers_used += static_cast<int>(chains[c].servers.size());
  }
  p.sessions_capacity = limited ? total_sessions : unlimited_sessions;
  if (p.assignments.empty())
    p.bottleneck_tokens_per_s = 0;
  return p;
}

} // namespace detail

namespace {

detail::chain_result place_chain(const std::vector<server_offer>& offers, const std::vector<int>& allowed,
                                 const plan_request& r) {
  switch (r.goal) {
  case objective::max_sessions: return detail::max_sessions(offers, allowed, r);
  case objective::max_throughput: return detail::max_throughput(offers, allowed, r);
  default: return detail::fewest_servers(offers, allowed, r);
  }
}

plan infeasible(const plan_request& r, std::string reason) {
  plan p;
  p.model = r.model.name;
  p.objective = objective_name(r.goal);
  p.replicas = r.replicas;
  p.reason = std::move(reason);
  return p;
}

} // namespace

plan make_plan(const std::vector<server_offer>& servers, const plan_request& request) {
  if (request.model.n_blocks <= 0 || request.model.block_bytes == 0)
    return infeasible(request, "the model has no blocks (or zero-sized blocks)");
  if (request.replicas < 1)
    return infeasible(request, "replicas must be at least 1");
  // Replicas are disjoint chains: chain c uses only servers no earlier chain took, so every
  // block lands on `replicas` distinct servers and each chain survives the others' failures.
  std::vector<bool> taken(servers.size(), false);
  std::vector<detail::chain> chains;
  bool optimal = true;
  for (int c = 0; c < request.replicas; ++c) {
    std::vector<int> allowed;
    for (size_t i = 0; i < servers.size(); ++i)
      if (!taken[i])
        allowed.push_back(static_cast<int>(i));
    detail::chain_result got = place_chain(servers, allowed, request);
    if (!got.ok) {
      std::string which = request.replicas > 1 ? "replica " + std::to_string(c + 1) + " of " +
                                                     std::to_string(request.replicas) + ": "
                                               : "";
      return infeasible(request, which + got.reason);
    }
    for (int i : got.placed.servers)
      taken[i] = true;
    optimal = optimal && got.proven_optimal;
    chains.push_back(std::move(got.placed));
  }
  plan p = detail::build_plan(servers, request, chains);
  p.proven_optimal = optimal;
  return p;
}

std::vector<server_offer> leftover_after(const std::vector<server_offer>& servers, const plan& p,
                                         const plan_request& request) {
  std::vector<server_offer> left = servers;
  uint64_t reserved_per_block =
      detail::kv_bytes_per_block_session(request) * static_cast<uint64_t>(std::max(request.sessions, 0));
  for (const assignment& a : p.assignments) {
    server_offer& s = left[a.server_index];
    uint64_t used = a.bytes_used + reserved_per_block * static_cast<uint64_t>(a.blocks());
    s.memory_bytes = s.memory_bytes > used ? s.memory_bytes - used : 0;
  }
  return left;
}

std::vector<plan> make_plans(const std::vector<server_offer>& servers,
                             const std::vector<plan_request>& requests) {
  std::vector<plan> plans;
  std::vector<server_offer> left = servers;
  for (const plan_request& r : requests) {
    plans.push_back(make_plan(left, r));
    if (plans.back().feasible)
      left = leftover_after(left, plans.back(), r);
  }
  return plans;
}

} // namespace llamps::opa
