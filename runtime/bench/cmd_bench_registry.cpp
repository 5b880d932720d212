// llamps bench-registry: the registry's cost at scale, by simulation. One process runs one real
// registry actor and N simulated contributors (simulated_cluster.hpp) that join it and
// heartbeat at a node's rate, each hosting one block range of a deployment of a 70B-shaped
// model, and then sessions that ask for routes (and close them) at a set rate. It prints:
//   - the joins: how long N contributors took to join;
//   - the registry's CPU time per heartbeat, over a window of heartbeats alone;
//   - route latency p50/p99 as the sessions measured it (request sent to route received;
//     the registry admits each session on every host of its route first), and the registry's
//     CPU time per route, over a window of heartbeats and routes (the heartbeats' share taken
//     off at the first window's rate);
//   - the planner's latency for a plan over the N servers.
//
// CPU time: the registry runs detached, on a thread of its own (registry_options::own_thread),
// and the figures are that thread's on-CPU time (/proc/self/task/TID/schedstat): everything the
// registry does (its handlers, its mailbox, its timeout tick, its admissions' messages to the
// hosts), nothing the simulators, the sessions or the planner do. Each window ends with a
// servers list asked of the registry, so that it has processed every heartbeat counted (the
// time that takes is its lag; its own cost is in the window, a few microseconds per server).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "actors/support/blocking_ask.hpp"
#include "actors/support/logging.hpp"
#include "actors/support/units.hpp"
#include "model/quant/dot.hpp"
#include "model/shapes/model_catalog.hpp"
#include "runtime/bench/simulated_cluster.hpp"
#include "runtime/bench/process_group.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/cli/commands.hpp"

namespace llamps {

namespace {

using namespace bench_registry;
using clock_type = std::chrono::steady_clock;

// Each deployment: the 80 blocks in 10 stages of 8, each stage on 4 nodes (replicas); node i
// hosts one range of deployment i / 40 (the last N mod 40 nodes host nothing).
constexpr int32_t stages = 10;
constexpr int32_t replicas = 4;
constexpr int32_t nodes_per_deployment = stages * replicas;
constexpr int32_t max_contributors = 100000;

struct options {
  std::string contributors = "1000";
  int heartbeat_ms = 1000; // a node's default (contributor_options::heartbeat_interval)
  double seconds = 10;
  double routes_per_s = 50;
  int join_seconds = 300;
  std::string log_level = "error"; // "warn" shows the nodes marked gone while others join
};

std::vector<int> parse_counts(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    size_t used = 0;
    int n = 0;
    try {
      n = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || n < nodes_per_deployment || n > max_contributors)
      throw cli::po::error("--contributors must be a number or a comma-separated list of numbers, each " +
                           std::to_string(nodes_per_deployment) + " (one deployment: " +
                           std::to_string(stages) + " stages x " + std::to_string(replicas) +
                           " replicas) to " + std::to_string(max_contributors) + ", not '" + text + "'");
    out.push_back(n);
  }
  if (out.empty())
    throw cli::po::error("--contributors must name at least one count");
  return out;
}

std::set<std::string> thread_ids() {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task"))
    out.insert(e.path().filename().string());
  return out;
}

// On-CPU seconds of one thread of this process (the first field of its schedstat, in ns).
double thread_cpu_seconds(const std::string& tid) {
  std::ifstream in("/proc/self/task/" + tid + "/schedstat");
  double ns = 0;
  if (!(in >> ns))
    throw std::runtime_error("cannot read /proc/self/task/" + tid + "/schedstat");
  return ns / 1e9;
}

double process_cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// Asks the registry for its servers list: once it answers, it has processed everything sent
// before. Returns the seconds that took, and how many servers it counts healthy.
std::pair<double, size_t> flush(caf::scoped_actor& self, const registry_actor& registry) {
  const auto t0 = clock_type::now();
  std::vector<server_status> rows;
  try {
    rows = blocking_ask<std::vector<server_status>>(self, registry, std::chrono::minutes(10),
                                                    servers_atom::value);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("the registry did not list its servers: ") + e.what());
  }
  const auto healthy = static_cast<size_t>(
      std::count_if(rows.begin(), rows.end(), [](const server_status& r) { return r.healthy; }));
  return {seconds_since(t0), healthy};
}

double percentile(std::vector<double> v, double q) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<size_t>(std::ceil(q * double(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

model_profile seventy_b() {
  auto entry = catalog::find("llama-2-70b");
  if (!entry)
    throw std::runtime_error("llama-2-70b is not in the model catalog");
  model_profile p;
  static_cast<model_shape&>(p) = entry->sized(catalog::dtype::q4_0);
  return p;
}

simulated_node node_of(int i, const model_profile& model) {
  simulated_node n;
  char id[32];
  std::snprintf(id, sizeof id, "sim-%05d", i);
  n.offer.node_id = id;
  n.offer.address = n.offer.node_id + ":4242";
  n.offer.memory_bytes = uint64_t(2 + (i * 7) % 15) << 30; // 2 to 16 GiB left over
  n.offer.cores = 4 + (i * 5) % 29;
  const int32_t d = i / nodes_per_deployment;
  const int32_t stage = (i % nodes_per_deployment) / replicas;
  const int32_t per_stage = model.n_blocks / stages;
  hosted_range r;
  r.model = model.name + "-" + std::to_string(d);
  r.first = stage * per_stage;
  r.last = stage == stages - 1 ? model.n_blocks : r.first + per_stage;
  r.weight_bytes = model.block_bytes * uint64_t(r.last - r.first);
  r.kv_budget_bytes = uint64_t(4) << 30;
  r.latency_counts.assign(step_latency_bounds_us().size() + 1, 0);
  n.range = r;
  n.offer.total_memory_bytes = n.offer.memory_bytes + r.weight_bytes + r.kv_budget_bytes;
  return n;
}

void print_row(const char* name, const std::string& text) {
  std::printf("%-30s %s\n", name, text.c_str());
  std::fflush(stdout);
}

// One window: the registry thread's CPU seconds and the heartbeats sent, from its start to its
// end (after a flush, so that every heartbeat counted was processed).
struct window {
  double wall = 0, cpu = 0;
  uint64_t heartbeats = 0;
  double lag = 0;
  size_t healthy = 0;
};

template <class During>
window measure(caf::scoped_actor& self, const registry_actor& registry, const std::string& tid,
               const contributor_counters& c, double seconds, During during) {
  flush(self, registry);
  window w;
  const double cpu0 = thread_cpu_seconds(tid);
  const uint64_t hb0 = c.heartbeats;
  const auto t0 = clock_type::now();
  during(t0 + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(seconds)));
  w.heartbeats = c.heartbeats - hb0;
  std::tie(w.lag, w.healthy) = flush(self, registry);
  w.wall = seconds_since(t0);
  w.cpu = thread_cpu_seconds(tid) - cpu0;
  return w;
}

void run(int n, const options& o) {
  const auto interval = std::chrono::milliseconds(o.heartbeat_ms);
  const model_profile model = seventy_b();
  const int32_t n_deployments = n / nodes_per_deployment;
  std::printf("llamps bench-registry: %d simulated contributors, a heartbeat each every %d ms; %.1f s of "
              "heartbeats alone, then %.1f s with %.0f routes/s\n",
              n, o.heartbeat_ms, o.seconds / 2, o.seconds / 2, o.routes_per_s);
  print_row("cpu", quant::cpu_description());
  const double process_cpu0 = process_cpu_seconds();

  caf::actor_system_config cfg;
  register_protocol(cfg);
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  registry_options ropts;
  ropts.heartbeat_timeout = 3 * interval; // as a node sets it (node_config: silent for 3 intervals)
  ropts.own_thread = true;
  const auto before = thread_ids();
  auto registry = spawn_registry(sys, ropts);
  flush(self, registry); // its thread runs now
  std::vector<std::string> born;
  for (const auto& t : thread_ids())
    if (!before.count(t))
      born.push_back(t);
  if (born.size() != 1)
    throw std::runtime_error("cannot tell the registry's thread: " + std::to_string(born.size()) +
                             " threads started with it");
  const std::string tid = born.front();

  // Joins.
  auto counters = std::make_shared<contributor_counters>();
  std::vector<simulated_node> nodes;
  std::vector<caf::actor> sims;
  const double join_cpu0 = thread_cpu_seconds(tid);
  const auto join_t0 = clock_type::now();
  for (int i = 0; i < n; ++i) {
    nodes.push_back(node_of(i, model));
    sims.push_back(spawn_simulated_contributor(sys, registry, nodes.back(), interval, counters));
  }
  auto stop_all = [&] {
    self->send_exit(registry, caf::exit_reason::user_shutdown);
    for (auto& s : sims)
      self->send_exit(s, caf::exit_reason::user_shutdown);
  };
  while (counters->joined + counters->join_failures < uint64_t(n)) {
    if (seconds_since(join_t0) > o.join_seconds) {
      print_row("joins",
                format_text("only %llu of %d joined within %d s (--join-seconds); registry thread %.1f s CPU",
                            (unsigned long long)counters->joined.load(), n, o.join_seconds,
                            thread_cpu_seconds(tid) - join_cpu0));
      // The registry's mailbox still holds the other joins, each of which it would process
      // before its exit message: the actor system would wait for them all. End here instead.
      std::fprintf(stderr, "llamps bench-registry: the contributors did not all join in time\n");
      std::fflush(nullptr);
      std::_Exit(1);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (counters->join_failures > 0) {
    stop_all();
    throw std::runtime_error(std::to_string(counters->join_failures) + " contributors could not join");
  }
  const double join_wall = seconds_since(join_t0), join_cpu = thread_cpu_seconds(tid) - join_cpu0;
  print_row("joins", format_text("%d in %.2f s (registry thread %.2f s CPU; %zu healthy right after)", n,
                                 join_wall, join_cpu, flush(self, registry).second));

  // Deployments, their hosts spread over the nodes.
  const auto deploy_t0 = clock_type::now();
  for (int32_t d = 0; d < n_deployments; ++d) {
    deployment dep;
    dep.model = model.name + "-" + std::to_string(d);
    dep.deployment_id = "bench-" + std::to_string(d);
    dep.profile = model;
    dep.profile.name = dep.model;
    dep.replicas = replicas;
    for (int i = d * nodes_per_deployment; i < (d + 1) * nodes_per_deployment; ++i)
      dep.hosts.push_back(
          host_ref{nodes[i].offer.node_id, *nodes[i].range, caf::actor_cast<block_host_actor>(sims[i]), ""});
    try {
      blocking_ask<bool>(self, registry, std::chrono::minutes(1), deployed_atom::value, dep);
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string("deployment refused: ") + e.what());
    }
  }
  print_row("deployments",
            format_text("%d x %s (80 blocks of %.0f MB, q4_0), %d stages x %d replicas: %d hosts, in %.2f s",
                        n_deployments, model.name.c_str(), model.block_bytes / 1e6, stages, replicas,
                        n_deployments * nodes_per_deployment, seconds_since(deploy_t0)));

  // Heartbeats alone.
  const double expected_per_s = n * 1000.0 / o.heartbeat_ms;
  auto hb = measure(self, registry, tid, *counters, o.seconds / 2,
                    [](clock_type::time_point end) { std::this_thread::sleep_until(end); });
  const double per_heartbeat = hb.heartbeats > 0 ? hb.cpu / double(hb.heartbeats) : 0;
  print_row("heartbeats",
            format_text("%llu in %.2f s (%.0f/s; %.0f/s expected)", (unsigned long long)hb.heartbeats,
                        hb.wall, hb.heartbeats / hb.wall, expected_per_s));
  print_row("registry CPU per heartbeat", format_text("%.2f us (its thread busy %.1f%% of the window)",
                                                      per_heartbeat * 1e6, 100 * hb.cpu / hb.wall));
  print_row("registry lag",
            format_text("%.2f ms (a servers list asked at the window's end; %zu of %d healthy)", hb.lag * 1e3,
                        hb.healthy, n));

  // Heartbeats and routes.
  auto log = std::make_shared<route_log>();
  uint64_t asked = 0;
  auto routes = measure(self, registry, tid, *counters, o.seconds / 2, [&](clock_type::time_point end) {
    const auto start = clock_type::now();
    std::minstd_rand rng{42};
    while (o.routes_per_s > 0 && clock_type::now() < end) {
      const auto due = start + std::chrono::duration_cast<clock_type::duration>(
                                   std::chrono::duration<double>(double(asked) / o.routes_per_s));
      std::this_thread::sleep_until(std::min(due, end));
      if (clock_type::now() >= end)
        break;
      spawn_route_session(sys, registry, model.name + "-" + std::to_string(rng() % n_deployments), log);
      ++asked;
    }
    std::this_thread::sleep_until(end);
    const auto grace = clock_type::now();
    while (log->in_flight > 0 && seconds_since(grace) < 60)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  std::vector<double> latencies;
  uint64_t failures = 0;
  std::string first_failure;
  {
    std::lock_guard<std::mutex> guard{log->mutex};
    latencies = log->latencies_ms;
    failures = log->failures;
    first_failure = log->first_failure;
  }
  print_row("routes",
            format_text("%zu answered, %llu failed, of %llu asked (%.1f/s)%s", latencies.size(),
                        (unsigned long long)failures, (unsigned long long)asked, asked / (o.seconds / 2),
                        first_failure.empty() ? "" : ("; first failure: " + first_failure).c_str()));
  print_row("route latency", format_text("p50 %.3f ms  p99 %.3f ms  max %.3f ms (admitted on %d hosts each)",
                                         percentile(latencies, 0.5), percentile(latencies, 0.99),
                                         percentile(latencies, 1.0), stages));
  const double route_cpu = std::max(0.0, routes.cpu - per_heartbeat * double(routes.heartbeats));
  print_row(
      "registry CPU per route",
      format_text("%.1f us (route, admissions, close and the session's end; the %llu heartbeats' share taken "
                  "off; thread busy %.1f%%)",
                  latencies.empty() ? 0.0 : route_cpu / double(latencies.size()) * 1e6,
                  (unsigned long long)routes.heartbeats, 100 * routes.cpu / routes.wall));

  // Planning over the N servers (the planner asks the registry for its list, then runs OPA).
  auto planner = spawn_planner(sys, registry);
  plan_request req;
  req.model = model;
  req.sessions = 4;
  std::vector<double> plan_ms;
  std::string plan_text;
  for (int k = 0; k < 3; ++k) {
    const auto t0 = clock_type::now();
    try {
      const auto p =
          blocking_ask<placement_plan>(self, planner, std::chrono::minutes(10), plan_atom::value, req);
      plan_text = p.summary.substr(0, p.summary.find(';'));
    } catch (const std::exception& e) {
      plan_text = std::string("no plan: ") + e.what();
    }
    plan_ms.push_back(seconds_since(t0) * 1e3);
  }
  print_row("plan latency",
            format_text("median %.1f ms of 3 (%.1f, %.1f, %.1f ms; the servers list included) "
                        "for %s over %d servers: %s",
                        percentile(plan_ms, 0.5), plan_ms[0], plan_ms[1], plan_ms[2], model.name.c_str(), n,
                        plan_text.c_str()));
  print_row("process CPU", format_text("%.2f s (registry, simulators, sessions, planner; since the start)",
                                       process_cpu_seconds() - process_cpu0));
  self->send_exit(planner, caf::exit_reason::user_shutdown);
  stop_all();
}

void add_options(cli::po::options_description& opts, options& o) {
  namespace po = cli::po;
  opts.add_options()(
      "contributors",
      po::value(&o.contributors)->default_value(o.contributors)->notifier([](const std::string& v) {
        parse_counts(v);
      }),
      "simulated contributors: a count, or a comma-separated list of counts run one after "
      "the other (e.g. 1000,10000)")("heartbeat-ms",
                                     po::value(&o.heartbeat_ms)
                                         ->default_value(o.heartbeat_ms)
                                         ->notifier(cli::between("heartbeat-ms", 10, 600000)),
                                     "each contributor's heartbeat interval (a node's default)")(
      "seconds",
      po::value(&o.seconds)->default_value(o.seconds)->notifier(cli::between<double>("seconds", 1, 3600)),
      "measured time: the first half heartbeats alone, the second half with routes")(
      "routes-per-s",
      po::value(&o.routes_per_s)
          ->default_value(o.routes_per_s)
          ->notifier(cli::between<double>("routes-per-s", 0, 10000)),
      "sessions asking for a route (then closing it) per second, in the second half")(
      "join-seconds",
      po::value(&o.join_seconds)
          ->default_value(o.join_seconds)
          ->notifier(cli::between("join-seconds", 1, 86400)),
      "the longest the contributors may take to join")("log-level",
                                                       po::value(&o.log_level)->default_value(o.log_level),
                                                       "log level of the registry and planner");
}

} // namespace

int cmd::bench_registry(int argc, char** argv) {
  options o;
  cli::po::options_description opts("llamps bench-registry options");
  add_options(opts, o);
  auto parsed =
      cli::parse(argc, argv,
                 "llamps bench-registry [--contributors 1000,10000] [--heartbeat-ms 1000] "
                 "[--seconds 10] [--routes-per-s 50]\n"
                 "One real registry and N simulated contributors in this process: the registry's CPU "
                 "time per heartbeat, route latency, planning time",
                 opts);
  if (parsed.exit_code)
    return *parsed.exit_code;
  const std::vector<int> counts = parse_counts(o.contributors); // checked by its notifier already
  try {
    set_log_level(o.log_level);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "llamps bench-registry: %s\n", e.what());
    return 2;
  }
  try {
    for (size_t k = 0; k < counts.size(); ++k) {
      if (k > 0)
        std::printf("\n");
      run(counts[k], o);
    }
    return 0;
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "llamps bench-registry: %s\n", e.what());
    return 1;
  }
}

} // namespace llamps
