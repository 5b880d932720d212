#pragma once
// OPA, the optimal placement planner: which servers to use and which contiguous range of a
// model's transformer blocks each one hosts. A pure library (no CAF, no torch): plain data in,
// plain data out, so the planner actor can carry every type here in its messages.
//
// Units: memory in bytes (the command reads GB, 1 GB = 10^9 bytes). The embedding and output
// head stay with the client session, so only blocks are placed. See docs/opa.md.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/shapes/model_shape.hpp"

namespace llamps::opa {

constexpr double bytes_per_gb = 1e9;

// What a contributor offers: leftover memory and free cores.
struct server_offer {
  std::string name;
  std::string address;
  uint64_t memory_bytes = 0;
  int cores = 0;
  // Tokens per second the server pushes through ONE block (a stage hosting n blocks runs at
  // this / n). 0 = not measured: derived from cores (plan_request::core_bytes_per_s).
  double measured_block_tokens_per_s = 0;
};

enum class objective { fewest_servers, max_sessions, max_throughput };
// "fewest-servers", "max-sessions", "max-throughput" ("unknown" for any other value, which
// only a peer's bytes can hold). Inline: the message code prints it without the planner.
inline const char* objective_name(objective o) {
  switch (o) {
  case objective::fewest_servers: return "fewest-servers";
  case objective::max_sessions: return "max-sessions";
  case objective::max_throughput: return "max-throughput";
  }
  return "unknown";
}
std::optional<objective> parse_objective(const std::string& name);
inline std::string to_string(objective o) { return objective_name(o); } // for CAF's printing

// What to place and how: the one plan request, of `llamps plan` and of the wire (the planner
// actor's plan_atom, the deployer's deploy_atom).
struct plan_request {
  // The planner sees a stack of equal blocks: name, n_blocks, block_bytes, head_bytes
  // (informational) and kv_bytes_per_token_per_block (0 = unknown: sessions are not limited
  // by KV); a deployment also reads the file (path, identity).
  model_profile model;
  objective goal = objective::fewest_servers;
  int32_t replicas = 1; // every block on this many distinct servers
  int32_t sessions = 4; // concurrent sessions whose KV cache each hosted block leaves room for
  int32_t context = 0;  // tokens per session (0: the model's own, model.n_ctx)
  uint64_t per_server_overhead_bytes = 0;
  // Speed model: weight bytes one core streams per second while decoding. A server's rate
  // through one block is cores * core_bytes_per_s / block_bytes (unless measured).
  double core_bytes_per_s = 2e9;

  static constexpr int32_t max_replicas = 64;
  static constexpr int32_t max_sessions = 4096;
  static constexpr int32_t max_context = 1 << 24;
};
// Tokens each session's KV cache holds: the request's context, else the model's (0 when
// neither is known: sessions are then not limited by KV).
int32_t context_tokens(const plan_request& r);
// What is out of range in `r` (objective, replicas, sessions, context), or nothing. The
// planner actor refuses such a request whoever sent it; the shell says so before sending, and
// the HTTP API checks each field against the same bounds.
std::optional<std::string> plan_request_problem(const plan_request& r);

// Sessions a server (or chain) can hold when the KV size is unknown.
constexpr int64_t unlimited_sessions = -1;

struct assignment {
  std::string server;
  int server_index = -1; // into the offers the plan was made from
  int replica = 0;       // which chain (0 .. replicas-1)
  int first = 0;         // blocks [first, last), as everywhere in LLaMPS
  int last = 0;
  uint64_t bytes_used = 0; // overhead + weights
  uint64_t bytes_left = 0; // memory - bytes_used: room for KV caches
  int64_t sessions_capacity = unlimited_sessions;
  double tokens_per_s = 0; // this stage's predicted rate
  int blocks() const { return last - first; }
};

struct plan {
  std::string model;
  std::string objective;
  bool feasible = false;
  std::string reason;                  // why not, when infeasible: what is missing
  std::vector<assignment> assignments; // chain 0 in block order, then chain 1, ...
  int replicas = 1;
  int servers_used = 0;
  // Sessions all chains together can hold (each chain holds the minimum over its stages).
  int64_t sessions_capacity = unlimited_sessions;
  // Tokens/s one session sees: the slowest stage of the slowest chain.
  double bottleneck_tokens_per_s = 0;
  // false only if the fewest-servers search hit its node budget: the plan is then the best
  // found, not proven optimal.
  bool proven_optimal = true;
};

plan make_plan(const std::vector<server_offer>& servers, const plan_request& request);

// Several models: each is placed into what the earlier ones left.
std::vector<plan> make_plans(const std::vector<server_offer>& servers,
                             const std::vector<plan_request>& requests);
// The offers minus what `p` uses on them (weights, overhead and the KV reserved for the
// request's target sessions).
std::vector<server_offer> leftover_after(const std::vector<server_offer>& servers, const plan& p,
                                         const plan_request& request);

// Re-planning after servers join, leave or change their leftover.
struct block_move {
  int replica = 0;
  int first = 0; // blocks [first, last)
  int last = 0;
  std::string from; // the old host (may have left)
  std::string to;
};
struct replan_result {
  plan next;
  std::vector<block_move> moves;
  int blocks_moved = 0;
};
// Keeps every block whose host is still there and still fits; only orphaned blocks move.
// Servers are matched to the old plan by name.
replan_result replan(const plan& old, const std::vector<server_offer>& servers, const plan_request& request);

} // namespace llamps::opa
