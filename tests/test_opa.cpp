// OPA planner: the reference case, each objective against exhaustive search on random small
// instances, replicas, several models, re-planning, infeasibility and the model catalog.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <set>

#include "model/shapes/model_catalog.hpp"
#include "actors/planner/opa.hpp"
#include "actors/planner/opa_detail.hpp"

using namespace llamps;
using opa::server_offer;

namespace {

uint64_t gb(double g) { return static_cast<uint64_t>(std::llround(g * 1e9)); }

std::vector<server_offer> reference_servers() {
  return {{"s1", "", gb(155), 8, 0},
          {"s2", "", gb(113.5), 8, 0},
          {"s3", "", gb(83.5), 2, 0},
          {"s4", "", gb(83.5), 4, 0},
          {"s5", "", gb(83.5), 8, 0}};
}

// A model the planner sees as `blocks` blocks of `block_bytes`, with KV bytes per token per block.
model_profile blocks_of(const char* name, int blocks, uint64_t block_bytes, uint64_t kv = 0) {
  model_profile m;
  m.name = name;
  m.n_blocks = blocks;
  m.block_bytes = block_bytes;
  m.kv_bytes_per_token_per_block = kv;
  return m;
}

// No KV reservation unless a test asks for sessions.
opa::plan_request reference_request() {
  opa::plan_request r;
  r.model = blocks_of("llama-2-70b", 80, gb(3.75));
  r.sessions = 0;
  return r;
}

// Every chain covers 0..L-1 contiguously, no server exceeds its whole blocks, and the servers
// of different chains are distinct.
void check_valid(const opa::plan& p, const std::vector<server_offer>& servers, const opa::plan_request& r) {
  REQUIRE(p.feasible);
  std::set<int> used;
  int chain = -1, next = 0;
  for (const auto& a : p.assignments) {
    if (a.replica != chain) {
      if (chain >= 0)
        CHECK(next == r.model.n_blocks);
      chain = a.replica, next = 0;
    }
    CHECK(a.first == next);
    CHECK(a.blocks() >= 1);
    next = a.last;
    uint64_t usable = opa::detail::usable_bytes(servers[a.server_index], r);
    CHECK(a.blocks() <= opa::detail::whole_blocks(usable, opa::detail::block_cost(r), r.model.n_blocks));
    CHECK(used.insert(a.server_index).second);
  }
  CHECK(next == r.model.n_blocks);
}

// ---- random small instances ----
struct instance {
  std::vector<server_offer> servers;
  opa::plan_request request;
};

instance random_instance(std::mt19937& rng, bool few_kinds) {
  instance in;
  int n = std::uniform_int_distribution<int>(1, 8)(rng);
  int blocks = std::uniform_int_distribution<int>(1, 40)(rng);
  uint64_t block = std::uniform_int_distribution<uint64_t>(1, 1000)(rng) * 1000000;
  std::uniform_real_distribution<double> size(0.5, blocks / 2.0 + 2);
  double kinds[3] = {size(rng), size(rng), size(rng)};
  for (int i = 0; i < n; ++i) {
    server_offer s;
    s.name = "s" + std::to_string(i + 1);
    double mult = few_kinds ? kinds[rng() % 3] : size(rng);
    s.memory_bytes = static_cast<uint64_t>(mult * static_cast<double>(block));
    s.cores =
        few_kinds ? 4 * (1 + static_cast<int>(rng() % 2)) : std::uniform_int_distribution<int>(1, 16)(rng);
    if (rng() % 5 == 0)
      s.measured_block_tokens_per_s = std::uniform_real_distribution<double>(1, 100)(rng);
    in.servers.push_back(s);
  }
  in.request.model =
      blocks_of("random", blocks, block, std::uniform_int_distribution<uint64_t>(1, 5000)(rng));
  in.request.sessions = 0;
  in.request.context = std::uniform_int_distribution<int>(1, 256)(rng);
  return in;
}

std::vector<std::vector<int>> subsets(int n) {
  std::vector<std::vector<int>> out;
  for (int mask = 1; mask < (1 << n); ++mask) {
    std::vector<int> s;
    for (int i = 0; i < n; ++i)
      if (mask >> i & 1)
        s.push_back(i);
    out.push_back(s);
  }
  return out;
}

// Exhaustive fewest-servers: every subset, split, fit check, then (size, worst blocks per
// core, -memory, indices). Returns the chosen indices (empty if none fits).
std::vector<int> brute_fewest(const instance& in) {
  const auto& r = in.request;
  std::vector<int> best;
  double best_worst = 0;
  uint64_t best_mem = 0;
  for (const auto& s : subsets(static_cast<int>(in.servers.size()))) {
    std::vector<uint64_t> mems;
    for (int i : s)
      mems.push_back(opa::detail::usable_bytes(in.servers[i], r));
    auto counts = opa::detail::proportional_split(mems, r.model.n_blocks);
    bool fits = true;
    double worst = 0;
    uint64_t mem = 0;
    for (size_t k = 0; k < s.size(); ++k) {
      const auto& sv = in.servers[s[k]];
      int cap = opa::detail::whole_blocks(mems[k], opa::detail::block_cost(r), r.model.n_blocks);
      fits = fits && sv.cores > 0 && counts[k] >= 1 && counts[k] <= cap;
      worst = std::max(worst, static_cast<double>(counts[k]) / sv.cores);
      mem += mems[k];
    }
    if (!fits)
      continue;
    bool better = best.empty() || s.size() < best.size() ||
                  (s.size() == best.size() &&
                   (worst < best_worst - 1e-12 || (std::abs(worst - best_worst) <= 1e-12 &&
                                                   (mem > best_mem || (mem == best_mem && s < best)))));
    if (better)
      best = s, best_worst = worst, best_mem = mem;
  }
  return best;
}

// Exhaustive max-min over contiguous splits of each subset (a DP over the subset's servers is
// exact): returns {best value, fewest servers reaching it}. value(i, n) < 0 = cannot host.
template <class Value>
std::pair<double, int> brute_maxmin(const instance& in, Value value) {
  const int L = in.request.model.n_blocks;
  double best = -1;
  int fewest = 0;
  for (const auto& s : subsets(static_cast<int>(in.servers.size()))) {
    std::vector<double> dp(L + 1, -1); // dp[t]: best min with t blocks placed so far
    dp[0] = HUGE_VAL;
    for (int i : s) {
      std::vector<double> next(L + 1, -1);
      for (int t = 0; t < L; ++t)
        for (int n = 1; dp[t] >= 0 && t + n <= L; ++n)
          if (double v = value(i, n); v >= 0)
            next[t + n] = std::max(next[t + n], std::min(dp[t], v));
      dp = next;
    }
    double v = dp[L];
    if (v < 0)
      continue;
    int size = static_cast<int>(s.size());
    if (v > best * (1 + 1e-9) || (std::abs(v - best) <= 1e-9 * best && size < fewest))
      best = v, fewest = size;
  }
  return {best, fewest};
}

// OPA's plan for `in`, checked against the exhaustive search's answer: feasible exactly when
// it found one, valid, and on as few servers. The caller compares the objective's value.
opa::plan planned_as_brute_force(const instance& in, double best, int fewest) {
  opa::plan p = opa::make_plan(in.servers, in.request);
  REQUIRE(p.feasible == (best >= 0));
  if (p.feasible) {
    check_valid(p, in.servers, in.request);
    CHECK(p.servers_used == fewest);
  }
  return p;
}

} // namespace

TEST_CASE("reference case: s1, s2, s5 host 0-34, 35-60, 61-79") {
  auto servers = reference_servers();
  auto r = reference_request();
  opa::plan p = opa::make_plan(servers, r);
  check_valid(p, servers, r);
  REQUIRE(p.assignments.size() == 3);
  CHECK(p.assignments[0].server == "s1");
  CHECK(p.assignments[0].first == 0);
  CHECK(p.assignments[0].last == 35);
  CHECK(p.assignments[1].server == "s2");
  CHECK(p.assignments[1].first == 35);
  CHECK(p.assignments[1].last == 61);
  CHECK(p.assignments[2].server == "s5");
  CHECK(p.assignments[2].first == 61);
  CHECK(p.assignments[2].last == 80);
  CHECK(p.assignments[0].bytes_used == gb(131.25));
  CHECK(p.assignments[0].bytes_left == gb(23.75));
  CHECK(p.sessions_capacity == opa::unlimited_sessions);
}

TEST_CASE("proportional split ends at floor(L * prefix / total) - 1") {
  auto counts = opa::detail::proportional_split({gb(155), gb(113.5), gb(83.5)}, 80);
  CHECK(counts == std::vector<int>{35, 26, 19});
}

TEST_CASE("fewest-servers matches exhaustive search on random instances") {
  std::mt19937 rng(1234);
  int feasible = 0;
  for (int t = 0; t < 3000; ++t) {
    instance in = random_instance(rng, t % 2 == 1);
    std::vector<int> want = brute_fewest(in);
    opa::plan p = opa::make_plan(in.servers, in.request);
    INFO("instance " << t);
    REQUIRE(p.feasible == !want.empty());
    if (want.empty())
      continue;
    ++feasible;
    check_valid(p, in.servers, in.request);
    std::vector<int> got;
    for (const auto& a : p.assignments)
      got.push_back(a.server_index);
    CHECK(got == want);
  }
  CHECK(feasible > 1000);
}

TEST_CASE("max-sessions matches exhaustive search on random instances") {
  std::mt19937 rng(99);
  for (int t = 0; t < 1500; ++t) {
    instance in = random_instance(rng, t % 2 == 1);
    in.request.goal = opa::objective::max_sessions;
    const auto& r = in.request;
    auto [best, fewest] = brute_maxmin(in, [&](int i, int n) -> double {
      uint64_t u = opa::detail::usable_bytes(in.servers[i], r);
      if (n > opa::detail::whole_blocks(u, r.model.block_bytes, r.model.n_blocks))
        return -1;
      return static_cast<double>(opa::detail::sessions_held(u, n, r));
    });
    INFO("instance " << t);
    opa::plan p = planned_as_brute_force(in, best, fewest);
    if (p.feasible)
      CHECK(static_cast<double>(p.sessions_capacity) == best);
  }
}

TEST_CASE("max-throughput matches exhaustive search on random instances") {
  std::mt19937 rng(7);
  for (int t = 0; t < 1500; ++t) {
    instance in = random_instance(rng, t % 2 == 1);
    in.request.goal = opa::objective::max_throughput;
    in.request.sessions = static_cast<int>(rng() % 3);
    const auto& r = in.request;
    auto [best, fewest] = brute_maxmin(in, [&](int i, int n) -> double {
      uint64_t u = opa::detail::usable_bytes(in.servers[i], r);
      if (n > opa::detail::whole_blocks(u, opa::detail::block_cost(r), r.model.n_blocks))
        return -1;
      double rate = opa::detail::block_rate(in.servers[i], r);
      return rate > 0 ? rate / n : -1;
    });
    INFO("instance " << t);
    opa::plan p = planned_as_brute_force(in, best, fewest);
    if (p.feasible)
      CHECK(p.bottleneck_tokens_per_s == Approx(best).epsilon(1e-9));
  }
}

TEST_CASE("infeasible: the reason names the missing memory and servers") {
  auto r = reference_request();
  r.model.n_blocks = 150; // 137 whole blocks fit in all five
  opa::plan p = opa::make_plan(reference_servers(), r);
  CHECK_FALSE(p.feasible);
  CHECK(p.reason.find("137 of 150") != std::string::npos);
  CHECK(p.reason.find("48.75 GB") != std::string::npos); // 13 blocks x 3.75 GB
  CHECK(p.reason.find("1 more server(s) like s1") != std::string::npos);
}

TEST_CASE("replicas: every block on K distinct servers") {
  std::vector<server_offer> servers = reference_servers();
  for (int i = 6; i <= 9; ++i)
    servers.push_back({"s" + std::to_string(i), "", gb(100), 8, 0});
  auto r = reference_request();
  r.replicas = 2;
  opa::plan p = opa::make_plan(servers, r);
  check_valid(p, servers, r);
  CHECK(p.replicas == 2);
  r.replicas = 4;
  opa::plan too_many = opa::make_plan(servers, r);
  CHECK_FALSE(too_many.feasible);
  CHECK(too_many.reason.find("replica") != std::string::npos);
}

TEST_CASE("several models share servers without exceeding their memory") {
  auto servers = reference_servers();
  auto first = reference_request();
  first.model.n_blocks = 40;
  auto second = reference_request();
  second.model = blocks_of("small", 32, gb(2));
  auto plans = opa::make_plans(servers, {first, second});
  REQUIRE(plans.size() == 2);
  REQUIRE(plans[0].feasible);
  REQUIRE(plans[1].feasible);
  std::vector<uint64_t> used(servers.size(), 0);
  for (const auto& p : plans)
    for (const auto& a : p.assignments)
      used[a.server_index] += a.bytes_used;
  for (size_t i = 0; i < servers.size(); ++i)
    CHECK(used[i] <= servers[i].memory_bytes);
}

TEST_CASE("re-planning moves only the orphaned blocks") {
  auto servers = reference_servers();
  auto r = reference_request();
  opa::plan old = opa::make_plan(servers, r);

  SECTION("a server joins: nothing moves") {
    servers.push_back({"s6", "", gb(200), 16, 0});
    auto next = opa::replan(old, servers, r);
    check_valid(next.next, servers, r);
    CHECK(next.blocks_moved == 0);
  }
  SECTION("s2 leaves: only its 26 blocks move") {
    servers.erase(servers.begin() + 1);
    auto next = opa::replan(old, servers, r);
    check_valid(next.next, servers, r);
    CHECK(next.blocks_moved == 26);
    for (const auto& m : next.moves)
      CHECK(m.from == "s2");
  }
  SECTION("s1 shrinks: only the blocks it no longer holds move") {
    servers[0].memory_bytes = gb(120); // holds 32 of its 35
    auto next = opa::replan(old, servers, r);
    check_valid(next.next, servers, r);
    CHECK(next.blocks_moved == 3);
  }
  SECTION("too little left: a fresh plan reports infeasible") {
    servers.resize(2);
    auto next = opa::replan(old, servers, r);
    CHECK_FALSE(next.next.feasible);
  }
}

TEST_CASE("many identical servers: the earliest listed, quickly") {
  std::vector<server_offer> servers;
  for (int i = 0; i < 10000; ++i)
    servers.push_back({"s" + std::to_string(i), "", gb(83.5), 8, 0});
  auto r = reference_request();
  auto t0 = std::chrono::steady_clock::now();
  opa::plan p = opa::make_plan(servers, r);
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  check_valid(p, servers, r);
  REQUIRE(p.assignments.size() == 4);
  for (int k = 0; k < 4; ++k)
    CHECK(p.assignments[k].server_index == k);
  CHECK(p.proven_optimal);
  CHECK(ms < 2000); // generous: a sanity bound, docs/benchmarks.md has the real figures
}

TEST_CASE("memory model: KV for target sessions, overhead, sessions reported") {
  auto r = reference_request();
  r.model.kv_bytes_per_token_per_block = 2 * 1024 * 4; // llama-2-70b, f32 K and V
  r.context = 4096;
  r.sessions = 8; // 8 x 4096 x 8 KiB = 268 MB per block
  r.per_server_overhead_bytes = gb(2);
  opa::plan p = opa::make_plan(reference_servers(), r);
  check_valid(p, reference_servers(), r);
  CHECK(p.sessions_capacity >= 8);
  for (const auto& a : p.assignments)
    CHECK(a.sessions_capacity >= 8);
}

TEST_CASE("catalog: known shapes, forgiving names, scaled unknowns") {
  auto l70 = catalog::find("LLaMA 2 70B");
  REQUIRE(l70);
  CHECK(l70->n_blocks == 80);
  CHECK(l70->kv_dim() == 1024);
  CHECK(l70->sized(catalog::dtype::f16, kv_type::f32).kv_bytes_per_token_per_block == 8192);
  CHECK(l70->sized(catalog::dtype::f16).kv_bytes_per_token_per_block ==
        4096); // the runtime's default F16 cache
  CHECK(l70->total_params() == Approx(69e9).epsilon(0.01));
  auto tiny = catalog::find("tinyllama-1.1b");
  REQUIRE(tiny);
  CHECK(tiny->n_blocks == 22);
  CHECK(tiny->total_params() == Approx(1.1e9).epsilon(0.02));
  CHECK(catalog::find("llama-2-7b")->block_bytes_at(catalog::dtype::f16) == 2 * 202375168ull + 8 * 4096);
  CHECK(catalog::find("mistral-7b")->n_ctx == 32768);
  CHECK(catalog::find("codellama-34b")->n_blocks == 48);
  CHECK(*catalog::parse_params("70B") == 70e9);
  CHECK(*catalog::parse_params("1.1b") == Approx(1.1e9));
  CHECK_FALSE(catalog::parse_params("big"));
  for (double params : {1e9, 7e9, 13e9, 34e9, 70e9}) {
    auto s = catalog::lookup("mystery", params);
    REQUIRE(s);
    CHECK(s->scaled);
    CHECK(s->total_params() == Approx(params).epsilon(0.1));
  }
  auto named = catalog::lookup("my-model-13b", std::nullopt);
  REQUIRE(named);
  CHECK(named->n_blocks == Approx(40).margin(4));
  CHECK_FALSE(catalog::lookup("nothing", std::nullopt));
}

TEST_CASE("re-planning random changes: valid plans, no more moves than needed") {
  std::mt19937 rng(55);
  for (int t = 0; t < 2000; ++t) {
    instance in = random_instance(rng, false);
    opa::plan old = opa::make_plan(in.servers, in.request);
    if (!old.feasible)
      continue;
    auto servers = in.servers;
    std::set<std::string> gone;
    size_t victim = rng() % servers.size();
    if (rng() % 2) {
      gone.insert(servers[victim].name);
      servers.erase(servers.begin() + victim);
    } else {
      servers[victim].memory_bytes = servers[victim].memory_bytes / 2;
    }
    servers.push_back({"new", "", in.request.model.block_bytes * (1 + rng() % 40), 4, 0});
    auto next = opa::replan(old, servers, in.request);
    INFO("instance " << t);
    if (!next.next.feasible)
      continue;
    check_valid(next.next, servers, in.request);
    int orphaned = 0; // blocks whose host left: they must move
    for (const auto& a : old.assignments)
      if (gone.count(a.server))
        orphaned += a.blocks();
    CHECK(next.blocks_moved >= orphaned);
    if (next.blocks_moved > 0)
      CHECK_FALSE(next.moves.empty());
  }
}

TEST_CASE("catalog: every supported family has published shapes") {
  auto qwen = catalog::find("Qwen2.5 7B");
  REQUIRE(qwen);
  CHECK(std::string(qwen->architecture) == "qwen2");
  CHECK(qwen->n_head_kv == 4);
  // A tied model's head holds one vocabulary matrix, an untied one two.
  auto small = catalog::find("qwen2.5-0.5b");
  REQUIRE(small);
  CHECK(small->tied);
  CHECK(small->head_bytes_at(catalog::dtype::f16) == 2ull * 151936 * 896 + 4 * 896);
  auto phi = catalog::find("phi-3-mini-4k");
  REQUIRE(phi);
  CHECK(std::string(phi->architecture) == "phi3");
  CHECK(phi->total_params() == Approx(3.82e9).epsilon(0.01));
  CHECK(std::string(catalog::find("llama-3-8b")->architecture) == "llama");
}
