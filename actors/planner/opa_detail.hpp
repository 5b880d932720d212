#pragma once
// Internals shared by the opa_*.cpp files: the memory and speed model, the proportional split,
// and the objectives' searches. Not part of the planner's API.
#include <cstdint>
#include <string>
#include <vector>

#include "actors/planner/opa.hpp"

namespace llamps::opa::detail {

// ---- memory and speed model ----
// Memory a server can give to blocks and their KV caches: offer minus the per-server overhead.
uint64_t usable_bytes(const server_offer& s, const plan_request& r);
// KV bytes one hosted block needs per session: kv per token per block * context.
uint64_t kv_bytes_per_block_session(const plan_request& r);
// What one hosted block costs when the request reserves KV for its target sessions.
uint64_t block_cost(const plan_request& r);
// Whole blocks that fit in `usable` bytes at `cost` each, at most n_blocks.
int whole_blocks(uint64_t usable, uint64_t cost, int n_blocks);
// Tokens/s through one block.
double block_rate(const server_offer& s, const plan_request& r);
// Sessions a server can hold while hosting n blocks (unlimited_sessions if KV is unknown).
int64_t sessions_held(uint64_t usable, int n, const plan_request& r);

// Step 2 of the default objective: contiguous counts in proportion to `usable`, in the given
// order; entry k ends at floor(L * prefix_k / total) - 1, the last takes the rest.
std::vector<int> proportional_split(const std::vector<uint64_t>& usable, int n_blocks);
// floor(L * part / total) without overflow.
int64_t scaled_floor(int n_blocks, uint64_t part, uint64_t total);

// ---- one chain: the servers chosen (indices into the offers, listed order) and counts ----
struct chain {
  std::vector<int> servers;
  std::vector<int> counts;
};
struct chain_result {
  bool ok = false;
  chain placed;
  std::string reason;
  bool proven_optimal = true;
};

// The objectives, each over the offers whose indices are in `allowed` (ascending).
chain_result fewest_servers(const std::vector<server_offer>& offers, const std::vector<int>& allowed,
                            const plan_request& r);
chain_result max_sessions(const std::vector<server_offer>& offers, const std::vector<int>& allowed,
                          const plan_request& r);
chain_result max_throughput(const std::vector<server_offer>& offers, const std::vector<int>& allowed,
                            const plan_request& r);

// "What is missing" when the allowed servers cannot hold the model at `cost` per block.
std::string shortage_reason(const std::vector<server_offer>& offers, const std::vector<int>& allowed,
                            const plan_request& r, uint64_t cost);

// Turns chains into a plan: ranges, bytes, sessions, speeds, totals.
plan build_plan(const std::vector<server_offer>& offers, const plan_request& r,
                const std::vector<chain>& chains);

} // namespace llamps::opa::detail
