// The default objective, fewest-servers (docs/opa.md has the rule and its reconstruction):
//   1. the smallest set whose proportional split fits every server;
//   2. blocks split in proportion to usable memory, in listed order;
//   3. among sets of that size: smallest worst blocks-per-core, then most memory, then the
//      earliest-listed servers (lexicographic on indices).
//
// It never enumerates all subsets. Sort capacities to get the minimum size k (prefix sums of the
// largest), keep only servers big enough to be in any k-set that covers the model, seed an
// incumbent from a sweep that is exact for the continuous relaxation, drop the servers that
// provably cannot match it, then branch and bound in listed order over what is left.
#include <algorithm>
#include <functional>
#include <queue>

#include "actors/planner/opa_detail.hpp"

namespace llamps::opa::detail {

namespace {

struct cand {
  int index;    // into the offers
  uint64_t mem; // usable bytes
  int cap;      // whole blocks
  int cores;
};

// Rationals n/c compared exactly (n, c are small: blocks and cores).
int compare_ratio(int64_t n1, int64_t c1, int64_t n2, int64_t c2) {
  int64_t lhs = n1 * c2, rhs = n2 * c1;
  return lhs < rhs ? -1 : lhs > rhs ? 1 : 0;
}

struct score {
  int64_t worst_n = 0, worst_c = 1; // largest blocks per core, as n / c
  uint64_t mem = 0;
};

// Splits a full set (positions into cs, ascending) and scores it; false if a server would get
// no block or more than it holds.
bool evaluate(const std::vector<cand>& cs, const std::vector<int>& pos, int n_blocks, score& out) {
  uint64_t total = 0;
  for (int p : pos)
    total += cs[p].mem;
  out = score{0, 1, total};
  uint64_t prefix = 0;
  int64_t end = 0;
  for (size_t i = 0; i < pos.size(); ++i) {
    const cand& c = cs[pos[i]];
    prefix += c.mem;
    int64_t next = i + 1 == pos.size() ? n_blocks : scaled_floor(n_blocks, prefix, total);
    int64_t n = next - end;
    end = next;
    if (n < 1 || n > c.cap)
      return false;
    if (compare_ratio(n, c.cores, out.worst_n, out.worst_c) > 0)
      out.worst_n = n, out.worst_c = c.cores;
  }
  return true;
}

class fewest_search {
public:
  static constexpr long node_budget = 20'000'000;

  fewest_search(std::vector<cand> cs, int k, int n_blocks) : cs_(std::move(cs)), k_(k), blocks_(n_blocks) {}

  bool run() {
    seed_from_sweep();
    if (have_best_)
      drop_hopeless();
    aggregate();
    chosen_.assign(k_, 0);
    prefix_.assign(k_ + 1, 0);
    dfs(0, 0, 0);
    return have_best_;
  }
  const std::vector<int>& best_indices() const { return best_idx_; }
  bool exhausted() const { return nodes_ > node_budget; }

private:
  // Continuous relaxation: with n_i ~ L m_i / M the worst blocks-per-core is
  // L/M * max(m_i / c_i). For each server j taken as the one with the largest m/c, the best
  // partners are the k-1 largest memories among servers with smaller m/c (largest memory is
  // also largest capacity). A sweep in m/c order with a heap finds those in O(n log k); the
  // few best sets are then scored exactly and the best becomes the incumbent.
  void seed_from_sweep() {
    std::vector<int> order(cs_.size());
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = static_cast<int>(i);
    auto rho_less = [&](int a, int b) {
      return static_cast<unsigned __int128>(cs_[a].mem) * cs_[b].cores <
             static_cast<unsigned __int128>(cs_[b].mem) * cs_[a].cores;
    };
    std::stable_sort(order.begin(), order.end(), rho_less);
    using entry = std::pair<uint64_t, int>; // memory, position
    std::priority_queue<entry, std::vector<entry>, std::greater<entry>> heap;
    uint64_t heap_mem = 0;
    int64_t heap_cap = 0;
    struct seed {
      double value;
      int j;
      std::vector<int> partners;
    };
    std::vector<seed> seeds;
    const size_t keep = 8;
    for (int j : order) {
      if (static_cast<int>(heap.size()) == k_ - 1 && heap_cap + cs_[j].cap >= blocks_) {
        double value =
            static_cast<double>(cs_[j].mem) / cs_[j].cores / static_cast<double>(heap_mem + cs_[j].mem);
        if (seeds.size() < keep || value < seeds.back().value) {
          seed s{value, j, {}};
          for (auto copy = heap; !copy.empty(); copy.pop())
            s.partners.push_back(copy.top().second);
          seeds.push_back(std::move(s));
          std::sort(seeds.begin(), seeds.end(), [](auto& a, auto& b) { return a.value < b.value; });
          if (seeds.size() > keep)
            seeds.pop_back();
        }
      }
      if (k_ > 1) {
        heap.push({cs_[j].mem, j});
        heap_mem += cs_[j].mem, heap_cap += cs_[j].cap;
        if (static_cast<int>(heap.size()) > k_ - 1) {
          heap_mem -= heap.top().first, heap_cap -= cs_[heap.top().second].cap;
          heap.pop();
        }
      }
    }
    for (seed& s : seeds) {
      s.partners.push_back(s.j);
      std::sort(s.partners.begin(), s.partners.end());
      consider(s.partners);
    }
  }

  // A server i in any k-set gets at least floor(L m_i / M) blocks, and M is at most the k
  // largest memories: drop it when even that is slower than the incumbent.
  void drop_hopeless() {
    std::vector<uint64_t> mems;
    for (const cand& c : cs_)
      mems.push_back(c.mem);
    std::nth_element(mems.begin(), mems.begin() + (k_ - 1), mems.end(), std::greater<>());
    uint64_t m_max = 0;
    for (int i = 0; i < k_; ++i)
      m_max += mems[i];
    std::vector<cand> kept;
    for (const cand& c : cs_)
      if (compare_ratio(scaled_floor(blocks_, c.mem, m_max), c.cores, best_.worst_n, best_.worst_c) <= 0)
        kept.push_back(c);
    cs_ = std::move(kept);
  }

  // Sums of the r largest / smallest memories and r largest capacities, for the bounds.
  void aggregate() {
    std::vector<uint64_t> mems;
    std::vector<int64_t> caps;
    for (const cand& c : cs_)
      mems.push_back(c.mem), caps.push_back(c.cap);
    std::sort(mems.begin(), mems.end());
    std::sort(caps.begin(), caps.end(), std::greater<>());
    size_t n = mems.size();
    top_mem_.assign(k_ + 1, 0), bot_mem_.assign(k_ + 1, 0), top_cap_.assign(k_ + 1, 0);
    for (int r = 1; r <= k_ && static_cast<size_t>(r) <= n; ++r) {
      bot_mem_[r] = bot_mem_[r - 1] + mems[r - 1];
      top_mem_[r] = top_mem_[r - 1] + mems[n - r];
      top_cap_[r] = top_cap_[r - 1] + caps[r - 1];
    }
  }

  void dfs(int from, int depth, int64_t cap_sum) {
    if (depth == k_) {
      consider(chosen_);
      return;
    }
    int last = static_cast<int>(cs_.size()) - (k_ - depth);
    for (int j = from; j <= last; ++j) {
      if (++nodes_ > node_budget)
        return;
      chosen_[depth] = j;
      prefix_[depth + 1] = prefix_[depth] + cs_[j].mem;
      int64_t caps = cap_sum + cs_[j].cap;
      if (depth + 1 == k_ ? caps >= blocks_ : may_improve(depth + 1, caps))
        dfs(j + 1, depth + 1, caps);
    }
  }

  // Bound for the partial set chosen_[0..d): its members precede every later pick in listed
  // order, so their prefix sums are final; only the total M is unknown, within
  // [S_d + r smallest, S_d + r largest]. Member i gets at least
  // max(floor(L m_i / M_hi), floor(L S_i / M_hi) - floor(L S_{i-1} / M_lo)) blocks.
  bool may_improve(int d, int64_t cap_sum) const {
    int r = k_ - d;
    if (cap_sum + top_cap_[r] < blocks_)
      return false;
    uint64_t m_lo = prefix_[d] + bot_mem_[r], m_hi = prefix_[d] + top_mem_[r];
    int64_t worst_n = 0, worst_c = 1;
    for (int i = 0; i < d; ++i) {
      const cand& c = cs_[chosen_[i]];
      int64_t lb = std::max(scaled_floor(blocks_, c.mem, m_hi), scaled_floor(blocks_, prefix_[i + 1], m_hi) -
                                                                    scaled_floor(blocks_, prefix_[i], m_lo));
      if (lb > c.cap)
        return false;
      if (compare_ratio(lb, c.cores, worst_n, worst_c) > 0)
        worst_n = lb, worst_c = c.cores;
    }
    if (!have_best_)
      return true;
    int cmp = compare_ratio(worst_n, worst_c, best_.worst_n, best_.worst_c);
    if (cmp != 0)
      return cmp < 0;
    if (m_hi != best_.mem)
      return m_hi > best_.mem;
    for (int i = 0; i < d; ++i) // a full tie can only be won by listing earlier
      if (cs_[chosen_[i]].index != best_idx_[i])
        return cs_[chosen_[i]].index < best_idx_[i];
    return true;
  }

  void consider(const std::vector<int>& pos) {
    score s;
    if (!evaluate(cs_, pos, blocks_, s) || (have_best_ && !beats_best(s, pos)))
      return;
    have_best_ = true;
    best_ = s;
    best_idx_.clear();
    for (int p : pos)
      best_idx_.push_back(cs_[p].index);
  }

  // Step 3's order: worst blocks per core, then more memory, then the earlier-listed servers.
  bool beats_best(const score& s, const std::vector<int>& pos) const {
    int cmp = compare_ratio(s.worst_n, s.worst_c, best_.worst_n, best_.worst_c);
    if (cmp != 0)
      return cmp < 0;
    if (s.mem != best_.mem)
      return s.mem > best_.mem;
    for (size_t i = 0; i < pos.size(); ++i)
      if (cs_[pos[i]].index != best_idx_[i])
        return cs_[pos[i]].index < best_idx_[i];
    return false;
  }

  std::vector<cand> cs_;
  int k_, blocks_;
  std::vector<uint64_t> top_mem_, bot_mem_;
  std::vector<int64_t> top_cap_;
  std::vector<int> chosen_;
  std::vector<uint64_t> prefix_;
  bool have_best_ = false;
  score best_;
  std::vector<int> best_idx_;
  long nodes_ = 0;
};

} // namespace

chain_result fewest_servers(const std::vector<server_offer>& offers, const std::vector<int>& allowed,
                            const plan_request& r) {
  const int n_blocks = r.model.n_blocks;
  const uint64_t cost = block_cost(r);
  std::vector<cand> all;
  for (int i : allowed) {
    cand c{i, usable_bytes(offers[i], r), 0, offers[i].cores};
    c.cap = whole_blocks(c.mem, cost, n_blocks);
    if (c.cap > 0 && c.cores > 0)
      all.push_back(c);
  }
  std::vector<int64_t> caps;
  for (const cand& c : all)
    caps.push_back(c.cap);
  std::sort(caps.begin(), caps.end(), std::greater<>());
  std::vector<int64_t> top(caps.size() + 1, 0); // top[k]: the k largest capacities
  for (size_t k = 0; k < caps.size(); ++k)
    top[k + 1] = top[k] + caps[k];

  chain_result out;
  for (size_t k = 1; k <= caps.size(); ++k) {
    if (top[k] < n_blocks)
      continue;
    // A member of a covering k-set holds at least L - (the k-1 largest others).
    int64_t needed = std::max<int64_t>(1, n_blocks - top[k - 1]);
    std::vector<cand> cs;
    for (const cand& c : all)
      if (c.cap >= needed)
        cs.push_back(c);
    fewest_search search(std::move(cs), static_cast<int>(k), n_blocks);
    if (!search.run())
      continue;
    out.ok = true;
    out.proven_optimal = !search.exhausted();
    out.placed.servers = search.best_indices();
    std::vector<uint64_t> mems;
    for (int i : out.placed.servers)
      mems.push_back(usable_bytes(offers[i], r));
    out.placed.counts = proportional_split(mems, n_blocks);
    return out;
  }
  out.reason = shortage_reason(offers, allowed, r, cost);
  return out;
}

} // namespace llamps::opa::detail
