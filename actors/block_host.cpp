// block_host: holds blocks [first, last) of one model and the KV caches of the sessions that
// pass through them. A step arrives with the rest of its route; the host runs its blocks and
// hands the hidden states straight to the next host (delegating the reply), so the last host
// answers the session directly. Decode steps of different sessions that arrive together are
// run as one batched forward call.
#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "actors/actors.hpp"
#include "model/block_stack.hpp"
#include "runtime/logging.hpp"
#include "runtime/model_files.hpp"

namespace llamps {

namespace {

using clock_type = std::chrono::steady_clock;

struct queued_step {
  step_request request;
  caf::typed_response_promise<step_result> promise;
};

struct block_host_state {
  const char* name = "block_host";
  block_host_options options;
  std::unique_ptr<block_stack> blocks;
  hosted_range range;
  uint64_t kv_bytes_per_session = 0; // what admitting one more session reserves
  std::map<uint64_t, clock_type::time_point> admitted; // session -> last step
  std::vector<queued_step> decode_queue;
  bool flush_pending = false;
  uint64_t flush_round = 0;          // a delayed flush of an earlier queue is stale
  double last_batch_seconds = 0;     // the forward time of the last decode batch
  std::shared_ptr<spdlog::logger> log = logger("block_host");
};

using host_pointer = block_host_actor::stateful_pointer<block_host_state>;

// How long decode steps may wait for the other active sessions: twice the last batch's
// forward time, at most this (a straggler further behind joins in a later round).
constexpr double max_batch_wait_seconds = 0.2;
// A session that stepped through here this recently is counted as active.
constexpr auto active_session_horizon = std::chrono::seconds(2);

// Counts `steps` steps that took `seconds` of forward time in all (a batch shares its time).
void record_latency(block_host_state& st, double seconds, size_t steps) {
  auto& bounds = step_latency_bounds_us();
  auto& counts = st.range.latency_counts;
  counts.resize(bounds.size() + 1);
  double us = seconds * 1e6;
  size_t bucket = std::lower_bound(bounds.begin(), bounds.end(), us) - bounds.begin();
  counts[bucket] += steps;
  st.range.latency_sum_us += us * static_cast<double>(steps);
  st.range.steps += steps;
  st.range.batches += 1;
}

// Sessions that stepped through here lately and are not queued now: their next decode step
// is on its way round the chain.
size_t sessions_on_their_way(const block_host_state& st) {
  const auto recent = clock_type::now() - active_session_horizon;
  size_t n = 0;
  for (auto& [session, last_step] : st.admitted)
    n += last_step >= recent;
  return n > st.decode_queue.size() ? n - st.decode_queue.size() : 0;
}

// Decode steps run as soon as every recently active session has one queued; otherwise they
// wait for the others, but no longer than two batches' forward time. Sessions whose steps
// come back staggered (they started at different times; each client samples on its own) thus
// merge into one batch within a few rounds, and one pass over the weights serves them all.
// Decode is bound by memory bandwidth, so a batch of 16 costs little more than a batch of 1:
// one large batch going round the chain does as much per second as several small ones in
// flight at once, with a fraction of the weight traffic. A lone session never waits.
void schedule_flush(host_pointer self) {
  auto& st = self->state;
  if (st.flush_pending)
    return;
  st.flush_pending = true;
  const auto round = ++st.flush_round;
  const auto window = std::chrono::microseconds(static_cast<int64_t>(
      std::min(2 * st.last_batch_seconds, max_batch_wait_seconds) * 1e6));
  if (sessions_on_their_way(st) == 0 || window.count() < 50)
    self->send(self, flush_atom::value, round);
  else
    self->delayed_send(self, window, flush_atom::value, round);
}

std::string host_name(const block_host_state& st) {
  return st.options.node_id + "[" + st.range.model + " " + std::to_string(st.range.first) + "-" +
         std::to_string(st.range.last - 1) + "]";
}

// Hands one finished step on: to the next host of its route, or back to the session.
void pass_on(queued_step& q, tensor_data output) {
  auto& req = q.request;
  if (req.next.empty()) {
    q.promise.deliver(step_result{req.session, req.pos, to_wire(output)});
    return;
  }
  auto next = req.next.front();
  req.next.erase(req.next.begin());
  req.hidden = to_wire(output);
  q.promise.delegate(next, step_atom::value, std::move(req));
}

// Runs every queued decode step in one batched forward call.
void flush_decodes(host_pointer self) {
  auto& st = self->state;
  st.flush_pending = false;
  auto queue = std::move(st.decode_queue);
  st.decode_queue.clear();
  if (queue.empty())
    return;
  std::vector<decode_step> steps;
  std::set<uint64_t> seen;
  for (auto& q : queue) {
    // A session cannot have two decode steps in one batch; the protocol never sends that,
    // but a confused client must not corrupt its own cache.
    if (!seen.insert(q.request.session).second) {
      q.promise.deliver(make_llamps_error("session " + std::to_string(q.request.session) +
                                          " sent two steps at once"));
      continue;
    }
    steps.push_back({q.request.session, q.request.pos, from_wire(q.request.hidden).values});
  }
  try {
    auto started = clock_type::now();
    auto outputs = st.blocks->forward_batch(steps);
    st.last_batch_seconds = std::chrono::duration<double>(clock_type::now() - started).count();
    record_latency(st, st.last_batch_seconds, steps.size());
    size_t i = 0;
    seen.clear();
    for (auto& q : queue) {
      if (!seen.insert(q.request.session).second)
        continue;
      tensor_data out{{1, static_cast<int64_t>(outputs[i].size())}, std::move(outputs[i])};
      ++i;
      pass_on(q, std::move(out));
    }
  } catch (const std::exception& e) {
    st.log->warn("{}: batched step failed: {}", host_name(st), e.what());
    for (auto& q : queue)
      q.promise.deliver(make_llamps_error(host_name(st) + ": " + e.what()));
  }
}

std::optional<std::string> check_step(const block_host_state& st, const step_request& req) {
  if (!st.blocks)
    return st.options.node_id + ": this host has no blocks loaded";
  if (st.admitted.count(req.session) == 0)
    return host_name(st) + ": session " + std::to_string(req.session) +
           " is unknown or expired here";
  // Every size comes from a peer: check it before multiplying (no overflow) and before
  // the forward pass reads the bytes.
  const auto& cfg = st.blocks->config();
  if (req.pos < 0 || req.hidden.shape.size() != 2 || req.hidden.shape[1] != cfg.n_embd ||
      req.hidden.shape[0] < 1 || req.hidden.shape[0] > cfg.n_ctx - req.pos ||
      req.hidden.bytes.size() != static_cast<size_t>(req.hidden.shape[0]) * cfg.n_embd * sizeof(float))
    return host_name(st) + ": malformed hidden states";
  return std::nullopt;
}

hosted_range load(host_pointer self, load_order order, const deployer_actor& deployer) {
  auto& st = self->state;
  auto report = [&](uint64_t done, uint64_t total, const std::string& state) {
    self->send(deployer, progress_atom::value,
               load_progress{order.deployment_id, st.options.node_id, done, total, state});
  };
  auto path = order.local_path;
  if (path.empty())
    path = fetch_blocks(self->system(), deployer, order, st.options.node_id, st.options.cache_dir,
                        [&](uint64_t done, uint64_t total) { report(done, total, "fetching"); });
  report(0, 0, "loading");
  {
    // The file (and its mapping) is released once the blocks hold their own copy.
    auto file = gguf::file::open(path);
    auto cfg = read_llama_config(file);
    if (file.identity() != order.model.identity)
      throw model_error(path + " is not the model being deployed (identity differs)");
    st.blocks = std::make_unique<block_stack>(file, cfg, order.first, order.last, order.kv_budget_bytes);
    st.kv_bytes_per_session = static_cast<uint64_t>(cfg.n_ctx) * order.model.kv_bytes_per_token_per_block *
                              static_cast<uint64_t>(order.last - order.first);
  }
  st.range = hosted_range{};
  st.range.model = order.model.name;
  st.range.first = order.first;
  st.range.last = order.last;
  st.range.weight_bytes = st.blocks->weight_bytes();
  st.range.kv_budget_bytes = order.kv_budget_bytes;
  report(st.blocks->weight_bytes(), st.blocks->weight_bytes(), "ready");
  st.log->info("{}: loaded {:.1f} MB of weights", host_name(st), st.blocks->weight_bytes() / 1e6);
  return st.range;
}

block_host_actor::behavior_type block_host(host_pointer self, block_host_options options) {
  self->state.options = std::move(options);
  // OpenMP settings are per thread, and this actor has a thread of its own: set them here
  // (0 = every core), not inherited from whatever thread spawned it.
  set_compute_threads(self->state.options.compute_threads);
  if (auto owner = self->state.options.owner) {
    // A block host lives no longer than the contributor that spawned it.
    self->monitor(owner);
    self->set_down_handler([=](caf::down_msg& down) {
      if (down.source == owner)
        self->quit(down.reason);
    });
  }
  // Checked often enough that a session is freed within 1.5 idle timeouts.
  auto idle_check = std::min<std::chrono::milliseconds>(std::chrono::seconds(5),
                                                        self->state.options.session_idle_timeout / 2);
  self->delayed_send(self, idle_check, tick_atom::value);
  return {
    [=](load_atom, load_order& order, deployer_actor& deployer) -> caf::result<hosted_range> {
      if (self->state.blocks)
        return make_llamps_error(host_name(self->state) + ": already holds blocks");
      try {
        return load(self, std::move(order), deployer);
      } catch (const std::exception& e) {
        self->state.log->error("{}: load failed: {}", self->state.options.node_id, e.what());
        return make_llamps_error(self->state.options.node_id + ": " + e.what());
      }
    },
    [=](step_atom, step_request& req) -> caf::result<step_result> {
      auto& st = self->state;
      if (auto problem = check_step(st, req))
        return make_llamps_error(*problem);
      st.admitted[req.session] = clock_type::now();
      queued_step q{std::move(req), self->make_response_promise<step_result>()};
      auto promise = q.promise;
      if (q.request.hidden.shape[0] == 1) {
        // Decode: batched with the other sessions' steps (see schedule_flush).
        st.decode_queue.push_back(std::move(q));
        if (st.flush_pending && sessions_on_their_way(st) == 0)
          st.flush_pending = false; // everyone is here: run now instead of at the timer
        schedule_flush(self);
        return promise;
      }
      try {
        auto started = clock_type::now();
        auto output = st.blocks->forward(q.request.session, q.request.pos, from_wire(q.request.hidden));
        record_latency(st, std::chrono::duration<double>(clock_type::now() - started).count(), 1);
        pass_on(q, std::move(output));
      } catch (const std::exception& e) {
        q.promise.deliver(make_llamps_error(host_name(st) + ": " + e.what()));
      }
      return promise;
    },
    [=](flush_atom, uint64_t round) {
      if (round == self->state.flush_round)
        flush_decodes(self);
    },
    [=](admit_atom, uint64_t session) -> caf::result<bool> {
      auto& st = self->state;
      if (!st.blocks)
        return make_llamps_error(st.options.node_id + ": this host has no blocks loaded");
      if (st.range.draining)
        return make_llamps_error(host_name(st) + ": draining, not taking new sessions");
      auto budget = st.blocks->kv_budget_bytes();
      if (budget > 0 && st.admitted.count(session) == 0 &&
          (st.admitted.size() + 1) * st.kv_bytes_per_session > budget)
        return make_llamps_error(host_name(st) + ": busy: its KV budget holds " +
                                 std::to_string(st.admitted.size()) + " sessions, all in use");
      st.admitted[session] = clock_type::now();
      return true;
    },
    [=](drop_atom, uint64_t session) {
      self->state.admitted.erase(session);
      if (self->state.blocks)
        self->state.blocks->drop(session);
    },
    [=](status_atom) -> hosted_range {
      auto& st = self->state;
      auto r = st.range;
      if (st.blocks) {
        r.kv_bytes = st.blocks->kv_bytes();
        r.sessions = static_cast<int32_t>(st.admitted.size());
      }
      return r;
    },
    [=](tick_atom) {
      // Idle sessions are freed: a client that vanished must not pin KV memory forever.
      auto& st = self->state;
      auto now = clock_type::now();
      for (auto i = st.admitted.begin(); i != st.admitted.end();) {
        if (now - i->second > st.options.session_idle_timeout) {
          st.log->info("{}: session {} idle, freed", host_name(st), i->first);
          if (st.blocks)
            st.blocks->drop(i->first);
          i = st.admitted.erase(i);
        } else {
          ++i;
        }
      }
      self->delayed_send(self, idle_check, tick_atom::value);
    },
  };
}

} // namespace

block_host_actor spawn_block_host(caf::actor_system& sys, const block_host_options& opts) {
  return sys.spawn<caf::detached>(block_host, opts);
}

} // namespace llamps
