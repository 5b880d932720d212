// The selectable objectives besides the default (definitions in docs/opa.md):
//
// max-sessions:   maximise the chain's concurrent sessions, i.e. over chosen servers and any
//                 contiguous split, maximise min_i floor((u_i - n_i b) / (n_i q)) where u_i is
//                 usable memory, n_i the blocks hosted, b the block's weights and
//                 q = KV bytes per token per block * context. Then the fewest servers.
// max-throughput: maximise the predicted bottleneck min_i rate_i / n_i (tokens/s), each server
//                 holding at most its whole blocks (weights + KV for the target sessions).
//                 Then the fewest servers.
//
// Both have the same shape: for a target value v, server i can host at most h_i(v) blocks,
// h_i is non-increasing in v, and v is reachable iff sum_i h_i(v) >= L. So binary search v,
// then take the servers with the largest h_i(v*) until they cover L (the fewest possible), and
// fill them in listed order. O(n log range) with no subset enumeration.
#include <algorithm>
#include <cmath>

#include "actors/planner/opa_detail.hpp"

namespace llamps::opa::detail {

namespace {

// Sum of holdings, stopping once it covers the model (and so never overflowing).
template <class Holds>
bool covers(const std::vector<int>& allowed, int n_blocks, const Holds& holds) {
  int64_t sum = 0;
  for (int i : allowed)
    if ((sum += holds(i)) >= n_blocks)
      return true;
  return false;
}

// The fewest servers whose holdings cover the model (largest first; ties to the earlier
// listed), filled in listed order. Every chosen server gets at least one block, since without
// any one of them the rest do not cover the model.
template <class Holds>
chain fewest_covering(const std::vector<int>& allowed, int n_blocks, const Holds& holds) {
  std::vector<std::pair<int, int>> by_holding; // holding, index
  for (int i : allowed)
    if (int h = holds(i); h > 0)
      by_holding.push_back({h, i});
  std::stable_sort(by_holding.begin(), by_holding.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<std::pair<int, int>> chosen; // index, holding
  int64_t sum = 0;
  for (auto [h, i] : by_holding) {
    if (sum >= n_blocks)
      break;
    chosen.push_back({i, h});
    sum += h;
  }
  std::sort(chosen.begin(), chosen.end());
  chain c;
  int remaining = n_blocks;
  for (auto [i, h] : chosen) {
    c.servers.push_back(i);
    c.counts.push_back(std::min(h, remaining));
    remaining -= c.counts.back();
  }
  return c;
}

} // namespace

chain_result max_sessions(const std::vector<server_offer>& offers, const std::vector<int>& allowed,
                          const plan_request& r) {
  const uint64_t q = kv_bytes_per_block_session(r);
  if (q == 0) // KV size unknown: every placement holds unlimited sessions
    return fewest_servers(offers, allowed, r);
  const int n_blocks = r.model.n_blocks;
  const uint64_t b = r.model.block_bytes;
  std::vector<uint64_t> usable(offers.size(), 0);
  for (int i : allowed)
    usable[i] = usable_bytes(offers[i], r);
  // Hosting n blocks leaves s sessions iff n (b + s q) <= u.
  auto holds_at = [&](uint64_t s) {
    return [&, s](int i) { return whole_blocks(usable[i], b + s * q, n_blocks); };
  };
  chain_result out;
  if (!covers(allowed, n_blocks, holds_at(0))) {
    out.reason = shortage_reason(offers, allowed, r, b);
    return out;
  }
  uint64_t lo = 0, hi = 1; // lo reachable, hi not
  for (int i : allowed)
    hi = std::max(hi, usable[i] / q + 1);
  while (hi - lo > 1) {
    uint64_t mid = lo + (hi - lo) / 2;
    (covers(allowed, n_blocks, holds_at(mid)) ? lo : hi) = mid;
  }
  if (r.sessions > 0 && lo < static_cast<uint64_t>(r.sessions)) {
    out.reason = "at most " + std::to_string(lo) + " concurrent sessions of " +
                 std::to_string(context_tokens(r)) + " tokens fit, " + std::to_string(r.sessions) +
                 " requested";
    return out;
  }
  out.ok = true;
  out.placed = fewest_covering(allowed, n_blocks, holds_at(lo));
  return out;
}

chain_result max_throughput(const std::vector<server_offer>& offers, const std::vector<int>& allowed,
                            const plan_request& r) {
  const int n_blocks = r.model.n_blocks;
  const uint64_t cost = block_cost(r);
  std::vector<int> usable; // servers that hold a block and compute
  std::vector<double> rate(offers.size(), 0);
  std::vector<int> cap(offers.size(), 0);
  double max_rate = 0, min_rate = HUGE_VAL;
  for (int i : allowed) {
    rate[i] = block_rate(offers[i], r);
    cap[i] = whole_blocks(usable_bytes(offers[i], r), cost, n_blocks);
    if (rate[i] > 0 && cap[i] > 0) {
      usable.push_back(i);
      max_rate = std::max(max_rate, rate[i]), min_rate = std::min(min_rate, rate[i]);
    }
  }
  // Stage i reaches tau iff it hosts at most rate_i / tau blocks. The relative slack keeps
  // tau = rate / n itself reachable despite rounding.
  auto holds_at = [&](double tau) {
    return [&, tau](int i) {
      double most = std::floor(rate[i] / tau * (1 + 1e-12));
      return most >= cap[i] ? cap[i] : static_cast<int>(most);
    };
  };
  chain_result out;
  if (usable.empty() || !covers(usable, n_blocks, holds_at(min_rate / n_blocks))) {
    out.reason = shortage_reason(offers, allowed, r, cost);
    return out;
  }
  double lo = min_rate / n_blocks, hi = max_rate * 2; // lo reachable, hi not
  for (int iter = 0; iter < 200 && hi - lo > lo * 1e-15; ++iter) {
    double mid = 0.5 * (lo + hi);
    (covers(usable, n_blocks, holds_at(mid)) ? lo : hi) = mid;
  }
  // Snap to the exact optimum, a value rate_i / n: the slowest stage the holdings at lo allow.
  double snapped = HUGE_VAL;
  for (int i : usable)
    if (int h = holds_at(lo)(i); h > 0)
      snapped = std::min(snapped, rate[i] / h);
  if (covers(usable, n_blocks, holds_at(snapped)))
    lo = snapped;
  out.ok = true;
  out.placed = fewest_covering(usable, n_blocks, holds_at(lo));
  return out;
}

} // namespace llamps::opa::detail
