#include "runtime/bench/bench_cluster_measures.hpp"

#include <algorithm>
#include <chrono>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "actors/support/blocking_ask.hpp"
#include "runtime/bench/bench_cluster_report.hpp"
#include "runtime/bench/loopback_probe.hpp"

namespace llamps::bench_cluster_detail {

namespace {

double now_s() { return std::chrono::duration<double>(clock_type::now().time_since_epoch()).count(); }

// Decode tokens/s from the arrival times of generated tokens: (n - 1) / (last - first), the
// first token's wait (prefill) left out.
struct token_times {
  std::vector<double> t;
  double rate() const {
    return t.size() < 2 ? 0 : double(t.size() - 1) / std::max(1e-9, t.back() - t.front());
  }
};

double median(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
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

// (a) and (b)'s lone session: the best of 2 generations after a warm-up.
double one_session_rate(cluster_client& client, const cluster& c, const options& o) {
  auto s = open(client, c, o.model);
  run_session(client, s, o, std::min(4, o.tokens)); // warm-up: connections, caches
  double best = 0;
  for (int run = 0; run < 2; ++run)
    best = std::max(best, run_session(client, s, o, o.tokens).rate());
  client.close_session(s);
  return best;
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

// Every session generates at once, each from its own thread; one failing fails the run.
std::vector<token_times> run_concurrently(cluster_client& client, const std::vector<session_actor>& ss,
                                          const options& o) {
  std::vector<token_times> all(ss.size());
  std::vector<std::string> errors(ss.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < ss.size(); ++i)
    threads.emplace_back([&, i] {
      try {
        all[i] = run_session(client, ss[i], o, o.tokens);
      } catch (const std::exception& e) {
        errors[i] = e.what();
      }
    });
  for (auto& t : threads)
    t.join();
  for (auto& e : errors)
    if (!e.empty())
      throw_error("a concurrent session failed: " + e);
  return all;
}

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

// (b) with o.sessions sessions, and (d) while they still hold their KV.
void measure_concurrent(cluster_client& client, const cluster& c, const options& o, chain_figures& f) {
  std::vector<session_actor> ss;
  for (int i = 0; i < o.sessions; ++i)
    ss.push_back(open(client, c, o.model));
  const std::vector<token_times> all = run_concurrently(client, ss, o);
  for (auto& t : all)
    f.tokens += t.t.size();
  f.aggregate = aggregate_rate(all, &f.window_s);
  f.memory = measure_memory(client, c); // with every session's KV still held
  for (auto& s : ss)
    client.close_session(s);
}

// The route a new session gets, asked of the registry as a session asks for one.
session_route route_of(caf::scoped_actor& self, cluster_client& client, const cluster& c) {
  session_route route;
  try {
    route = blocking_ask<session_route>(self, client.registry(), std::chrono::seconds(30), route_atom::value,
                                        c.model_name, std::vector<std::string>{}, int32_t{20000});
  } catch (const std::runtime_error& e) {
    throw_error("no route for " + c.model_name + ": " + e.what());
  }
  if (route.hosts.empty())
    throw_error("empty route for " + c.model_name);
  return route;
}

// The latency sums (us) of the route's hosts, and into steps_out their step counts.
double forward_sum_us(caf::scoped_actor& self, const session_route& route, uint64_t* steps_out) {
  double sum = 0;
  uint64_t n = 0;
  for (auto& h : route.hosts) {
    try {
      const auto r = blocking_ask<hosted_range>(self, h.host, std::chrono::seconds(30), status_atom::value);
      sum += r.latency_sum_us;
      n += r.steps;
    } catch (const std::exception& e) {
      throw_error("status of " + h.node_id + ": " + e.what());
    }
  }
  *steps_out = n;
  return sum;
}

struct step_sample {
  double rtt_us = 0;
  double forward_us = 0; // the hosts' own of that step
};

// One raw decode step of `x` at pos, between two status reads of every host: the hosts'
// forward time of exactly that step is the growth of their latency sums.
step_sample time_step(caf::scoped_actor& self, const session_route& route,
                      const std::vector<block_host_actor>& next, int pos, const tensor_data& x, int gap_ms) {
  step_request req{route.session, pos, to_wire(x), next};
  uint64_t s0 = 0, s1 = 0;
  double f0 = forward_sum_us(self, route, &s0);
  if (gap_ms > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
  auto t0 = clock_type::now();
  try {
    blocking_ask<step_result>(self, route.hosts.front().host, std::chrono::seconds(120), step_atom::value,
                              std::move(req));
  } catch (const std::exception& e) {
    throw_error("step " + std::to_string(pos) + " through the chain: " + e.what());
  }
  double us = seconds_since(t0) * 1e6;
  double f1 = forward_sum_us(self, route, &s1);
  if (s1 - s0 != route.hosts.size())
    throw_error("internal: the hosts counted " + std::to_string(s1 - s0) + " steps for one step");
  return {us, f1 - f0};
}

// The medians of the timed steps, per hop, and the machine's floor beside them.
hop_figures hop_summary(int hosts, int width, const std::vector<step_sample>& samples) {
  std::vector<double> rtt, fwd, added;
  for (auto& s : samples) {
    rtt.push_back(s.rtt_us);
    fwd.push_back(s.forward_us);
    added.push_back(s.rtt_us - s.forward_us);
  }
  hop_figures f;
  f.hosts = hosts;
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

// (c): raw decode steps of random hidden states through the chain, after a few warm-up ones.
hop_figures measure_hops(cluster_client& client, const cluster& c, int steps, int gap_ms) {
  caf::scoped_actor self{client.system()};
  const session_route route = route_of(self, client, c);
  const int width = c.profile.n_embd;
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.f, 1.f);
  std::vector<block_host_actor> next;
  for (size_t i = 1; i < route.hosts.size(); ++i)
    next.push_back(route.hosts[i].host);
  std::vector<step_sample> samples;
  const int warmup = 3;
  const int n = std::min(steps + warmup, c.profile.n_ctx);
  for (int pos = 0; pos < n; ++pos) {
    tensor_data x;
    x.shape = {1, width};
    x.values.resize(size_t(width));
    for (auto& v : x.values)
      v = dist(rng);
    const step_sample s = time_step(self, route, next, pos, x, gap_ms);
    if (pos >= warmup)
      samples.push_back(s);
  }
  for (auto& h : route.hosts)
    self->send(h.host, drop_atom::value, route.session);
  self->send(client.registry(), close_atom::value, route.session);
  return hop_summary(int(route.hosts.size()), width, samples);
}

} // namespace

double single_process_rate(generator& g, const options& o, int runs) {
  generation_request req;
  req.prompt = o.prompt;
  req.steps = g.config().n_ctx;
  req.max_new_tokens = std::min(4, o.tokens);
  req.sampling.temperature = 0;
  g.generate(req); // warm-up: caches, allocator
  double best = 0;
  for (int run = 0; run < runs; ++run) {
    req.max_new_tokens = o.tokens;
    token_times tt;
    g.generate(req, [&](int32_t, const std::string&) { tt.t.push_back(now_s()); });
    best = std::max(best, tt.rate());
  }
  return best;
}

chain_figures measure_chain(harness& h) {
  const options& o = h.o;
  const int plan_sessions = o.sessions + 2; // the measured sessions, the lone one, the hop probe
  chain_figures f;
  with_cluster(h, "m", o.model, plan_sessions, [&](cluster_client& client, const cluster& c) {
    f.model = c.model_name;
    f.one_session = one_session_rate(client, c, o);
    print_progress("chain, 1 session", f.one_session, "decode (best of 2)");
    measure_concurrent(client, c, o, f);
    print_progress("chain, " + std::to_string(o.sessions) + " sessions", f.aggregate, "aggregate");
    f.hops = measure_hops(client, c, o.hop_steps, o.hop_gap_ms);
  });
  return f;
}

hop_figures measure_wide_hops(harness& h) {
  const std::string path = hop_model_path(h);
  hop_figures f;
  with_cluster(h, "w", path, 2, [&](cluster_client& client, const cluster& c) {
    f = measure_hops(client, c, h.o.hop_steps, h.o.hop_gap_ms);
  });
  return f;
}

} // namespace llamps::bench_cluster_detail
