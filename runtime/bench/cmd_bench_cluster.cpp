// llamps bench-cluster: the distributed speed figures on loopback. Starts a registry and N
// contributor node processes (this binary, `node ...`, on free ports), drives them as a shell
// does (planner, deployer and sessions in this process), and prints:
//   (a) decode tokens/s of the whole model in this process vs through the N-process chain;
//   (b) one session vs S concurrent sessions through the chain (batching across sessions);
//   (c) the added latency per hop: median step round trip minus the hosts' own forward time,
//       divided by the hops (hosts + the return), optionally on a second, wide model;
//   (d) each host process's resident memory vs its weight bytes + KV budget.
// Every child process is killed at the end, also on errors (and dies with us: PDEATHSIG).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "actors/support/blocking_ask.hpp"
#include "model/quant/dot.hpp"
#include "actors/protocol/actors.hpp"
#include "model/decoder/block_stack.hpp"
#include "model/text/generator.hpp"
#include "model/shapes/presets.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/node/cluster_client.hpp"
#include "runtime/node/cluster_gate.hpp"
#include "runtime/cli/commands.hpp"
#include "actors/support/logging.hpp"
#include "runtime/bench/loopback_probe.hpp"
#include "actors/server/model_files.hpp"
#include "runtime/bench/process_group.hpp"
#include "runtime/node/system.hpp"

namespace llamps {

namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

double since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error(what); }

struct options {
  std::string model;
  int nodes = 3;
  int sessions = 16;
  int tokens = 32;
  std::string prompt = "Once upon a time";
  int hop_hidden = 4096;
  std::string hop_model;
  int hop_steps = 40;
  int hop_gap_ms = 0; // idle time before each timed step (shows what idling costs a hop)
  int threads = 0;
  int node_cores = 0;
  std::string cpu_priority = "idle";
  double timeout = 900;
  std::string log_level = "warn";
  bool keep = false;
};

// Decode tokens/s from the arrival times of generated tokens: (n - 1) / (last - first), the
// first token's wait (prefill) left out.
struct token_times {
  std::vector<double> t;
  double rate() const {
    return t.size() < 2 ? 0 : double(t.size() - 1) / std::max(1e-9, t.back() - t.front());
  }
};

// A started cluster: registry + contributors, the model deployed.
struct cluster {
  std::unique_ptr<process_group> procs;
  std::vector<std::string> node_ids;
  std::string model_name;
  model_profile profile;
  planner_actor planner;
  deployer_actor deployer;

  // Unloads the model (so the deployer does not try to replace hosts that go away), stops
  // the client-side actors (the actor system waits for them at exit) and the processes.
  void stop(std::unique_ptr<cluster_client>& client) {
    try {
      if (client && !model_name.empty())
        client->undeploy(model_name);
      std::this_thread::sleep_for(std::chrono::milliseconds(300)); // the unload answers
    } catch (const std::exception&) {
    }
    client.reset();
    if (deployer)
      caf::anon_send_exit(deployer, caf::exit_reason::user_shutdown);
    if (planner)
      caf::anon_send_exit(planner, caf::exit_reason::user_shutdown);
    deployer = nullptr;
    planner = nullptr;
    if (procs)
      procs->stop_all();
  }
};

double now_s() {
  return std::chrono::duration<double>(clock_type::now().time_since_epoch()).count();
}

// Memory each contributor offers so that a plan needs all `nodes` of them: ceil(n/nodes)
// blocks with their KV budget, plus half a block of slack.
double share_gb(const model_profile& p, int nodes, int sessions) {
  const uint64_t kv = p.kv_bytes_per_token_per_block * uint64_t(p.n_ctx) * uint64_t(sessions);
  const uint64_t per_block = p.block_bytes + kv;
  const int k = (p.n_blocks + nodes - 1) / nodes;
  return double(per_block * uint64_t(k) + per_block / 2) / 1e9;
}

void start_cluster(cluster& c, caf::actor_system& sys, system_config& cfg, const std::string& work,
                   const std::string& tag, const std::string& model_path, const options& o,
                   int plan_sessions, std::unique_ptr<cluster_client>& client) {
  c.procs = std::make_unique<process_group>(work);
  c.profile = profile_of(model_path);
  c.model_name = c.profile.name;
  // A model directory holding only this model, so every node loads from the local copy.
  const std::string model_dir = work + "/models-" + tag;
  fs::create_directories(model_dir);
  fs::create_symlink(fs::absolute(model_path), model_dir + "/" + fs::path(model_path).filename().string());
  const uint16_t reg_port = free_port();
  const std::string reg = "127.0.0.1:" + std::to_string(reg_port);
  c.procs->start(tag + "-registry", {"node", "--role", "registry", "--listen", reg, "--heartbeat-ms", "1000",
                                     "--log-level", o.log_level});
  c.procs->wait_for(tag + "-registry", "registry listening", 30);
  char share[32];
  std::snprintf(share, sizeof share, "%.6f", share_gb(c.profile, o.nodes, plan_sessions));
  c.node_ids.clear();
  for (int i = 0; i < o.nodes; ++i) {
    std::string id = tag + "-c" + std::to_string(i);
    c.node_ids.push_back(id);
    c.procs->start(id, {"node", "--role", "contributor", "--node-id", id, "--listen",
                        "127.0.0.1:" + std::to_string(free_port()), "--registry", reg,
                        "--share-memory-gb", share, "--share-cores", std::to_string(o.node_cores),
                        "--cpu-priority", o.cpu_priority, "--model-dir", model_dir, "--cache-dir", work + "/cache-" + id,
                        "--heartbeat-ms", "1000", "--log-level", o.log_level});
  }
  for (auto& id : c.node_ids)
    c.procs->wait_for(id, "contributor listening", 30);
  auto registry = connect_registry(sys, cfg, reg, "");
  c.planner = spawn_planner(sys, registry);
  c.deployer = spawn_deployer(sys, registry, c.planner);
  client = std::make_unique<cluster_client>(sys, registry, c.planner, c.deployer);
  // Wait until the registry lists every contributor.
  auto t0 = clock_type::now();
  for (;;) {
    size_t healthy = 0;
    for (auto& s : client->servers())
      healthy += s.healthy ? 1 : 0;
    if (healthy >= size_t(o.nodes))
      break;
    if (since(t0) > 30)
      fail("only " + std::to_string(healthy) + " of " + std::to_string(o.nodes) +
           " contributors joined the registry within 30 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  plan_request req;
  req.model = c.profile;
  req.sessions = plan_sessions;
  std::printf("cpu: %s\n", quant::cpu_description().c_str());
  std::printf("deploying %s (%d blocks, %.2f GB of blocks) over %d node processes, %s GB offered each...\n",
              c.model_name.c_str(), c.profile.n_blocks,
              double(c.profile.block_bytes) * c.profile.n_blocks / 1e9, o.nodes, share);
  std::fflush(stdout);
  auto t1 = clock_type::now();
  auto status = client->deploy(req);
  if (status.state != "ready")
    fail("deploying " + c.model_name + ": " + status.state);
  std::printf("deployed in %.1f s:", since(t1));
  for (auto& d : client->deployments())
    if (d.model == c.model_name)
      for (auto& h : d.hosts)
        std::printf(" %s[%d,%d)", h.node_id.c_str(), h.range.first, h.range.last);
  std::printf("\n");
  std::fflush(stdout);
}

// One generation through the chain; the arrival time of every generated token.
token_times run_session(cluster_client& client, const session_actor& s, const options& o, int tokens) {
  generation_order order;
  order.prompt = o.prompt;
  order.steps = 1 << 20; // bounded by max_new_tokens and the context
  order.max_new_tokens = tokens;
  order.temperature = 0;
  token_times tt;
  client.generate(s, order, [&](int32_t, const std::string&) { tt.t.push_back(now_s()); });
  return tt;
}

session_actor open(cluster_client& client, const cluster& c, const std::string& model_path) {
  session_options so;
  so.model = c.model_name;
  so.model_path = model_path;
  so.step_timeout = std::chrono::seconds(120);
  return client.open_session(so);
}

// Aggregate decode tokens/s of concurrent sessions: tokens that arrived while every session
// was decoding (after the last first token, before the first last token), over that window;
// the whole span when the window is empty.
double aggregate_rate(const std::vector<token_times>& all, double* span_out) {
  double lo = 0, hi = 1e300, first = 1e300, last = 0;
  size_t total = 0;
  for (auto& s : all) {
    if (s.t.empty())
      continue;
    lo = std::max(lo, s.t.front());
    hi = std::min(hi, s.t.back());
    first = std::min(first, s.t.front());
    last = std::max(last, s.t.back());
    total += s.t.size();
  }
  if (hi - lo > 1e-3) {
    size_t n = 0;
    for (auto& s : all)
      for (double t : s.t)
        n += (t > lo && t <= hi) ? 1 : 0;
    if (n >= all.size()) {
      *span_out = hi - lo;
      return double(n) / (hi - lo);
    }
  }
  *span_out = last - first;
  return last > first ? double(total - all.size()) / (last - first) : 0;
}

struct hop_figures {
  int hosts = 0;
  int width = 0;
  int steps = 0;
  double rtt_us = 0, forward_us = 0, added_us = 0, per_hop_us = 0;
  double floor_us = 0; // the machine's: one way over loopback TCP, same bytes, same idle gap
};

double median(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// Raw decode steps through the chain, each between two status reads of every host: the
// hosts' forward time of exactly that step is the growth of their latency sums.
hop_figures measure_hops(cluster_client& client, const cluster& c, int steps, int gap_ms) {
  caf::scoped_actor self{client.system()};
  session_route route;
  try {
    route = blocking_ask<session_route>(self, client.registry(), std::chrono::seconds(30), route_atom::value,
                                        c.model_name, std::vector<std::string>{}, int32_t{20000});
  } catch (const std::runtime_error& e) {
    fail("no route for " + c.model_name + ": " + e.what());
  }
  std::string failure;
  if (route.hosts.empty())
    fail("empty route for " + c.model_name);
  auto status_sum = [&](uint64_t* steps_out) {
    double sum = 0;
    uint64_t n = 0;
    for (auto& h : route.hosts) {
      self->request(h.host, std::chrono::seconds(30), status_atom::value)
          .receive([&](hosted_range& r) {
                     sum += r.latency_sum_us;
                     n += r.steps;
                   },
                   [&](caf::error& e) { failure = error_text(e); });
      if (!failure.empty())
        fail("status of " + h.node_id + ": " + failure);
    }
    *steps_out = n;
    return sum;
  };
  const int width = c.profile.n_embd;
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<block_host_actor> next;
  for (size_t i = 1; i < route.hosts.size(); ++i)
    next.push_back(route.hosts[i].host);
  std::vector<double> rtt, fwd, added;
  const int warmup = 3;
  const int n = std::min(steps + warmup, c.profile.n_ctx);
  for (int pos = 0; pos < n; ++pos) {
    tensor_data x;
    x.shape = {1, width};
    x.values.resize(size_t(width));
    for (auto& v : x.values)
      v = dist(rng);
    step_request req{route.session, pos, to_wire(x), next};
    uint64_t s0 = 0, s1 = 0;
    double f0 = status_sum(&s0);
    if (gap_ms > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
    auto t0 = clock_type::now();
    self->request(route.hosts.front().host, std::chrono::seconds(120), step_atom::value, std::move(req))
        .receive([&](step_result&) {}, [&](caf::error& e) { failure = error_text(e); });
    double us = since(t0) * 1e6;
    if (!failure.empty())
      fail("step " + std::to_string(pos) + " through the chain: " + failure);
    double f1 = status_sum(&s1);
    if (s1 - s0 != route.hosts.size())
      fail("internal: the hosts counted " + std::to_string(s1 - s0) + " steps for one step");
    if (pos < warmup)
      continue;
    rtt.push_back(us);
    fwd.push_back(f1 - f0);
    added.push_back(us - (f1 - f0));
  }
  for (auto& h : route.hosts)
    self->send(h.host, drop_atom::value, route.session);
  self->send(client.registry(), close_atom::value, route.session);
  hop_figures f;
  f.hosts = int(route.hosts.size());
  f.width = width;
  f.steps = int(rtt.size());
  f.rtt_us = median(rtt);
  f.forward_us = median(fwd);
  f.added_us = median(added);
  f.per_hop_us = f.added_us / double(f.hosts + 1);
  // Each host idles while the others compute; the floor is taken after the same idle time.
  const auto idle = std::chrono::microseconds(static_cast<int64_t>(f.forward_us / f.hosts));
  f.floor_us = probe_loopback(size_t(width) * sizeof(float), idle, f.steps).one_way_us;
  return f;
}

struct memory_row {
  std::string node;
  int first = 0, last = 0;
  uint64_t rss = 0, hwm = 0, weights = 0, kv_budget = 0, kv_used = 0;
  uint64_t steps = 0, batches = 0; // so far: the mean decode batch, 1-session runs included
};

std::vector<memory_row> measure_memory(cluster_client& client, const cluster& c) {
  std::vector<memory_row> rows;
  for (auto& h : client.live_hosts()) {
    if (h.range.model != c.model_name)
      continue;
    memory_row r;
    r.node = h.node_id;
    r.first = h.range.first;
    r.last = h.range.last;
    pid_t pid = c.procs->pid_of(h.node_id);
    r.rss = proc_status_kb(pid, "VmRSS:");
    r.hwm = proc_status_kb(pid, "VmHWM:");
    r.weights = h.range.weight_bytes;
    r.kv_budget = h.range.kv_budget_bytes;
    r.kv_used = h.range.kv_bytes;
    r.steps = h.range.steps;
    r.batches = h.range.batches;
    rows.push_back(r);
  }
  std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.first < b.first; });
  return rows;
}

void print_hops(const char* label, const hop_figures& f) {
  std::printf("| %s | %d | %d | %d | %.0f | %.0f | %.0f | **%.0f** | %.0f | %.2f |\n", label, f.width,
              f.hosts, f.steps, f.rtt_us, f.forward_us, f.added_us, f.per_hop_us, f.floor_us,
              f.floor_us > 0 ? f.per_hop_us / f.floor_us : 0);
}

std::string make_hop_model(process_group& procs, const std::string& work, const options& o) {
  std::string preset = "hop-" + std::to_string(o.hop_hidden);
  find_preset(preset); // throws listing the presets when there is no such shape
  std::string out = work + "/" + preset + ".gguf";
  procs.start("make-model", {"make-model", "--preset", preset, "--blocks", std::to_string(o.nodes),
                             "--out", out});
  procs.wait_for("make-model", "wrote ", o.timeout);
  procs.stop_all();
  return out;
}

int run(const options& o) {
  if (o.nodes < 1 || o.sessions < 1 || o.tokens < 2)
    fail("--nodes and --sessions must be at least 1, --tokens at least 2");
  char tmpl[] = "/tmp/llamps-bench-cluster.XXXXXX";
  if (!::mkdtemp(tmpl))
    fail("cannot create a work directory in /tmp");
  const std::string work = tmpl;
  struct remove_work {
    std::string dir;
    bool keep;
    ~remove_work() {
      std::error_code ec;
      if (!keep)
        fs::remove_all(dir, ec);
    }
  } cleanup{work, o.keep};
  std::printf("llamps bench-cluster: %s, %d node processes, %d sessions, %d tokens each (work dir %s)\n",
              o.model.c_str(), o.nodes, o.sessions, o.tokens, work.c_str());

  // (a) the whole model in this process, same prompt and greedy decoding: measured before
  // and again after the chain (best of all runs), so a busy moment does not decide the ratio.
  auto single = std::make_unique<generator>(o.model);
  auto single_runs = [&](int runs) {
    generation_request req;
    req.prompt = o.prompt;
    req.steps = single->config().n_ctx;
    req.max_new_tokens = std::min(4, o.tokens);
    req.sampling.temperature = 0;
    single->generate(req); // warm-up: caches, allocator
    double best = 0;
    for (int run = 0; run < runs; ++run) {
      req.max_new_tokens = o.tokens;
      token_times tt;
      single->generate(req, [&](int32_t, const std::string&) { tt.t.push_back(now_s()); });
      best = std::max(best, tt.rate());
    }
    return best;
  };
  const double single_before = single_runs(2);
  double single_rate = single_before, single_after = 0;
  std::printf("single process: %.2f tok/s decode (best of 2)\n", single_before);
  std::fflush(stdout);

  system_config cfg;
  caf::actor_system sys{cfg};
  const int plan_sessions = o.sessions + 2; // the measured sessions, the lone one, the hop probe
  cluster main;
  std::unique_ptr<cluster_client> client;
  double chain_rate = 0, agg_rate = 0, agg_span = 0, one_rate = 0;
  hop_figures main_hops;
  std::vector<memory_row> memory;
  size_t agg_tokens = 0;
  try {
    start_cluster(main, sys, cfg, work, "m", o.model, o, plan_sessions, client);
    {
      auto s = open(*client, main, o.model);
      run_session(*client, s, o, std::min(4, o.tokens)); // warm-up: connections, caches
      for (int run = 0; run < 2; ++run)
        chain_rate = std::max(chain_rate, run_session(*client, s, o, o.tokens).rate());
      client->close_session(s);
    }
    one_rate = chain_rate;
    std::printf("chain, 1 session: %.2f tok/s decode (best of 2)\n", chain_rate);
    std::fflush(stdout);
    {
      std::vector<session_actor> ss;
      for (int i = 0; i < o.sessions; ++i)
        ss.push_back(open(*client, main, o.model));
      std::vector<token_times> all(size_t(o.sessions));
      std::vector<std::string> errors(size_t(o.sessions));
      std::vector<std::thread> threads;
      for (int i = 0; i < o.sessions; ++i)
        threads.emplace_back([&, i] {
          try {
            all[size_t(i)] = run_session(*client, ss[size_t(i)], o, o.tokens);
          } catch (const std::exception& e) {
            errors[size_t(i)] = e.what();
          }
        });
      for (auto& t : threads)
        t.join();
      for (auto& e : errors)
        if (!e.empty())
          fail("a concurrent session failed: " + e);
      for (auto& t : all)
        agg_tokens += t.t.size();
      agg_rate = aggregate_rate(all, &agg_span);
      memory = measure_memory(*client, main); // with every session's KV still held
      for (auto& s : ss)
        client->close_session(s);
    }
    std::printf("chain, %d sessions: %.2f tok/s aggregate\n", o.sessions, agg_rate);
    std::fflush(stdout);
    main_hops = measure_hops(*client, main, o.hop_steps, o.hop_gap_ms);
  } catch (...) {
    main.stop(client);
    throw;
  }
  main.stop(client);
  single_after = single_runs(2);
  single_rate = std::max(single_before, single_after);
  single.reset();
  std::printf("single process again: %.2f tok/s decode (best of 2)\n", single_after);
  std::fflush(stdout);

  // (c) on a wide model: its own cluster, the same number of processes.
  hop_figures wide_hops;
  bool have_wide = false;
  if (!o.hop_model.empty() || o.hop_hidden > 0) {
    process_group maker(work);
    std::string path = o.hop_model.empty() ? make_hop_model(maker, work, o) : o.hop_model;
    cluster wide;
    try {
      start_cluster(wide, sys, cfg, work, "w", path, o, 2, client);
      wide_hops = measure_hops(*client, wide, o.hop_steps, o.hop_gap_ms);
      have_wide = true;
    } catch (...) {
      wide.stop(client);
      throw;
    }
    wide.stop(client);
  }

  std::printf("\n| figure | value |\n|---|---:|\n");
  std::printf("| (a) decode, single process | %.2f tok/s (best of %.2f before, %.2f after the chain) |\n",
              single_rate, single_before, single_after);
  std::printf("| (a) decode, %d-process chain, 1 session | %.2f tok/s |\n", o.nodes, chain_rate);
  std::printf("| (a) distribution efficiency (chain / single) | **%.3f** |\n",
              single_rate > 0 ? chain_rate / single_rate : 0);
  std::printf("| (b) chain, 1 session | %.2f tok/s |\n", one_rate);
  std::printf("| (b) chain, %d concurrent sessions, aggregate | %.2f tok/s (%zu tokens, %.2f s window) |\n",
              o.sessions, agg_rate, agg_tokens, agg_span);
  std::printf("| (b) many-clients ratio (aggregate / 1 session) | **%.2f** |\n",
              one_rate > 0 ? agg_rate / one_rate : 0);
  std::printf("\n(c) per-hop added latency (median over steps; hops = hosts + 1 return), and the machine's\n"
              "floor: one message of the hidden state's size over loopback TCP to an idle process:\n\n");
  std::printf("| model | hidden | hosts | steps | step round trip us | hosts' forward us | added us | per hop us "
              "| loopback TCP floor us | per hop / floor |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  print_hops(main.model_name.c_str(), main_hops);
  if (have_wide)
    print_hops("wide", wide_hops);
  std::printf("\n(d) host process memory (with %d sessions' KV held):\n\n", o.sessions);
  std::printf("| host | blocks | VmRSS MB | VmHWM MB | weights MB | KV budget MB | KV used MB | RSS / (weights + KV budget) | steps / forward calls |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (auto& m : memory)
    std::printf("| %s | [%d,%d) | %.1f | %.1f | %.1f | %.1f | %.1f | **%.3f** | %.2f |\n", m.node.c_str(), m.first,
                m.last, m.rss / 1e6, m.hwm / 1e6, m.weights / 1e6, m.kv_budget / 1e6, m.kv_used / 1e6,
                double(m.rss) / double(std::max<uint64_t>(1, m.weights + m.kv_budget)),
                double(m.steps) / double(std::max<uint64_t>(1, m.batches)));
  std::fflush(stdout);
  return 0;
}

} // namespace

int cmd::bench_cluster(int argc, char** argv) {
  namespace po = cli::po;
  options o;
  po::options_description opts("llamps bench-cluster options");
  opts.add_options()
    ("model", po::value(&o.model)->required(), "GGUF model to deploy and decode")
    ("nodes", po::value(&o.nodes)->default_value(o.nodes), "contributor node processes")
    ("sessions", po::value(&o.sessions)->default_value(o.sessions), "concurrent sessions for (b)")
    ("tokens", po::value(&o.tokens)->default_value(o.tokens), "tokens decoded per session")
    ("prompt", po::value(&o.prompt)->default_value(o.prompt), "prompt of every session")
    ("hop-hidden", po::value(&o.hop_hidden)->default_value(o.hop_hidden),
     "hidden size of the generated model for the per-hop figure (preset hop-N; 0 = only --model)")
    ("hop-model", po::value(&o.hop_model), "use this GGUF for the wide per-hop figure instead")
    ("hop-steps", po::value(&o.hop_steps)->default_value(o.hop_steps), "decode steps timed for (c)")
    ("hop-gap-ms", po::value(&o.hop_gap_ms)->default_value(o.hop_gap_ms)->notifier(cli::between("hop-gap-ms", 0, 10000)),
     "idle milliseconds before each timed step of (c): every node idle, as a wide model's hosts are")
    ("threads", po::value(&o.threads)->default_value(o.threads), "compute threads of the single-process run (0 = all)")
    ("node-cores", po::value(&o.node_cores)->default_value(o.node_cores), "--share-cores of each node (0 = all)")
    ("cpu-priority", po::value(&o.cpu_priority)->default_value(o.cpu_priority),
     "--cpu-priority of each node: idle as deployed, or normal to measure the chain on a machine "
     "busy with other work (at idle the hosts get only the cores that work leaves)")
    ("timeout", po::value(&o.timeout)->default_value(o.timeout), "seconds allowed for making the hop model")
    ("keep", po::bool_switch(&o.keep), "keep the work directory (node logs)")
    ("log-level", po::value(&o.log_level)->default_value(o.log_level), "log level of the nodes and this process");
  auto parsed = cli::parse(argc, argv, "llamps bench-cluster --model PATH [--nodes 3] [--sessions 16] [--tokens N] [--hop-hidden 4096]", opts);
  if (parsed.exit_code)
    return *parsed.exit_code;
  set_log_level(o.log_level);
  set_compute_threads(o.threads);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "llamps bench-cluster: %s\n", e.what());
    return 1;
  }
}

} // namespace llamps
