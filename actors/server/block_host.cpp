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
#include <random>
#include <set>

#include "actors/protocol/actors.hpp"
#include "actors/support/batch_assembler.hpp"
#include "model/decoder/block_stack.hpp"
#include "actors/support/logging.hpp"
#include "actors/server/model_files.hpp"

namespace llamps {

namespace {

using clock_type = std::chrono::steady_clock;

struct queued_step {
  step_request request;
  caf::typed_response_promise<step_result> promise;
  clock_type::time_point arrived = clock_type::now();
};

// When a session last stepped through here, and how far apart its steps usually are.
struct session_rhythm {
  clock_type::time_point last_step;
  double interval = 0; // seconds, smoothed; 0 until it has stepped twice
  bool stepped = false;
};

struct block_host_state {
  const char* name = "block_host";
  block_host_options options;
  std::unique_ptr<block_stack> blocks;
  hosted_range range;
  uint64_t kv_bytes_per_session = 0; // what admitting one more session reserves
  std::map<uint64_t, session_rhythm> admitted;
  std::vector<queued_step> decode_queue;
  batch_assembler arriving; // batches the previous host sent together
  std::mt19937_64 batch_ids{std::random_device{}()};
  flush_timer flush;
  std::shared_ptr<spdlog::logger> log = logger("block_host");
};

using host_pointer = block_host_actor::stateful_pointer<block_host_state>;

// The longest that decode steps wait for the sessions expected to join their batch.
constexpr auto max_batch_wait = std::chrono::milliseconds(500);

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

void note_step(block_host_state& st, uint64_t session) {
  auto now = clock_type::now();
  auto& r = st.admitted[session];
  if (r.stepped) {
    // A pause (a chat waiting for its user) counts as at most twice the usual interval, so
    // one long gap does not make the others wait for this session for many steps after.
    double gap = std::chrono::duration<double>(now - r.last_step).count();
    r.interval = r.interval > 0 ? 0.5 * r.interval + 0.5 * std::min(gap, 2 * r.interval) : gap;
  }
  r.last_step = now;
  r.stepped = true;
}

bool queued(const block_host_state& st, uint64_t session) {
  return std::any_of(st.decode_queue.begin(), st.decode_queue.end(),
                     [&](const queued_step& q) { return q.request.session == session; });
}

// When the last of the sessions not queued now is due back here: each one's last step plus
// its usual interval, with a quarter to spare; `now` if none is due (bounded by max_batch_wait).
clock_type::time_point expected_arrivals(const block_host_state& st, clock_type::time_point now) {
  auto latest = now;
  for (auto& [session, r] : st.admitted) {
    if (r.interval <= 0 || queued(st, session))
      continue;
    auto due = r.last_step + std::chrono::duration_cast<clock_type::duration>(
                                 std::chrono::duration<double>(1.25 * r.interval));
    latest = std::max(latest, due);
  }
  return std::min(latest, now + max_batch_wait);
}

// When the queued decode steps should run: at hop 0, once the sessions due back soon are
// here (expected_arrivals); further down the chain, once the rest of every batch the
// previous host sent is here.
clock_type::time_point flush_time(const block_host_state& st, bool entering_chain,
                                  clock_type::time_point now) {
  if (entering_chain)
    return expected_arrivals(st, now);
  return st.arriving.complete() ? now : now + max_batch_rest_wait;
}

// Decode steps that enter the chain here (hop 0) wait for the sessions due back soon, until
// every one of them has a step queued or its time is up; further down the chain, steps wait
// only for the rest of their batch (waiting for more there would add up along the chain).
// Sessions that come round staggered (they started at different times; each client samples
// on its own) thus merge into one batch within a round or two, and one pass over the weights serves them all. Decode is bound by
// memory bandwidth, so a batch of 16 costs little more than a batch of 1: one large batch
// going round the chain does as much per second as several small ones in flight, with a
// fraction of the weight traffic. A lone session, or one whose partners stopped, never waits.
void flush_decodes(host_pointer self);

void schedule_flush(host_pointer self, bool entering_chain) {
  auto& st = self->state;
  const auto now = clock_type::now();
  const auto at = flush_time(st, entering_chain, now);
  if (at <= now)
    st.flush.now(self, [=] { flush_decodes(self); }); // everyone expected is here
  else
    st.flush.schedule(self, at - now);
}

std::string host_name(const block_host_state& st) {
  return st.options.node_id + "[" + st.range.model + " " + std::to_string(st.range.first) + "-" +
         std::to_string(st.range.last - 1) + "]";
}

// Hands one finished step on: to the next host of its route, or back to the session.
void pass_on(queued_step& q, tensor_data output, uint64_t batch = 0, int32_t batch_size = 1) {
  auto& req = q.request;
  if (req.next.empty()) {
    q.promise.deliver(step_result{req.session, req.pos, to_wire(output), batch, batch_size});
    return;
  }
  auto next = req.next.front();
  req.next.erase(req.next.begin());
  req.hidden = to_wire(output);
  req.hop += 1;
  req.batch = batch;
  req.batch_size = batch_size;
  q.promise.delegate(next, step_atom::value, std::move(req));
}

// Where a step goes next: the next host of its route, or (null) back to its session.
caf::actor_addr next_stop(const queued_step& q) {
  return q.request.next.empty() ? caf::actor_addr{} : q.request.next.front().address();
}

// How many of the batch's steps go on to each next stop (the routes may differ).
std::map<caf::actor_addr, int32_t> steps_per_next_stop(const std::vector<queued_step*>& batch) {
  std::map<caf::actor_addr, int32_t> count;
  for (auto* q : batch)
    ++count[next_stop(*q)];
  return count;
}

// Runs every queued decode step in one batched forward call.
void flush_decodes(host_pointer self) {
  auto& st = self->state;
  auto queue = std::move(st.decode_queue);
  st.decode_queue.clear();
  if (queue.empty())
    return;
  st.arriving.clear();
  std::vector<decode_step> steps;
  std::vector<queued_step*> batch;
  std::set<uint64_t> seen;
  for (auto& q : queue) {
    // A session cannot have two decode steps in one batch; the protocol never sends that,
    // but a confused client must not corrupt its own cache.
    if (!seen.insert(q.request.session).second) {
      q.promise.deliver(
          make_llamps_error("session " + std::to_string(q.request.session) + " sent two steps at once"));
      continue;
    }
    steps.push_back({q.request.session, q.request.pos, from_wire(q.request.hidden).values});
    batch.push_back(&q);
  }
  try {
    auto started = clock_type::now();
    auto outputs = st.blocks->forward_batch(steps);
    const double forward = std::chrono::duration<double>(clock_type::now() - started).count();
    record_latency(st, forward, steps.size());
    st.log->debug("{}: batch of {} (hop {}) waited {:.0f} us, forward {:.0f} us", host_name(st), batch.size(),
                  batch.front()->request.hop,
                  std::chrono::duration<double, std::micro>(started - batch.front()->arrived).count(),
                  forward * 1e6);
    const uint64_t id = st.batch_ids() | 1; // never 0 ("no batch")
    auto per_next = steps_per_next_stop(batch);
    for (size_t i = 0; i < batch.size(); ++i)
      pass_on(*batch[i], tensor_data{{1, static_cast<int64_t>(outputs[i].size())}, std::move(outputs[i])}, id,
              per_next[next_stop(*batch[i])]);
  } catch (const std::exception& e) {
    st.log->warn("{}: batched step failed: {}", host_name(st), e.what());
    for (auto* q : batch)
      q->promise.deliver(make_llamps_error(host_name(st) + ": " + e.what()));
  }
}

std::optional<std::string> check_step(const block_host_state& st, const step_request& req) {
  if (!st.blocks)
    return st.options.node_id + ": this host has no blocks loaded";
  if (st.admitted.count(req.session) == 0)
    return host_name(st) + ": session " + std::to_string(req.session) + " is unknown or expired here";
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
    // The blocks compute on the file's mapping in place; it lives as long as they do.
    auto file = gguf::file::open(path);
    auto cfg = read_llama_config(file);
    if (file.identity() != order.model.identity)
      throw model_error(path + " is not the model being deployed (identity differs)");
    st.blocks = std::make_unique<block_stack>(file, cfg, order.first, order.last, order.kv_budget_bytes,
                                              kv_type_of(order.model.kv_bytes_per_token_per_block, cfg));
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
  // The compute team's size (0 = every core), as this host's options say.
  set_compute_threads(self->state.options.compute_threads);
  // Its thread and the compute workers it starts (which inherit both) yield to the owner's
  // work and stay on the shared cores. On the scheduler, the thread is a CAF worker's: it is
  // left as it is.
  const std::string placed =
      self->state.options.own_thread
          ? place_compute_thread(self->state.options.priority, self->state.options.compute_threads)
          : "CAF's scheduler";
  self->state.log->info("{}: compute threads: {}", self->state.options.node_id, placed);
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
        note_step(st, req.session);
        queued_step q{std::move(req), self->make_response_promise<step_result>()};
        auto promise = q.promise;
        if (q.request.hidden.shape[0] == 1) {
          // Decode: batched with the other sessions' steps (see schedule_flush).
          const bool entering_chain = q.request.hop == 0;
          st.arriving.arrived(q.request.batch, q.request.batch_size);
          st.decode_queue.push_back(std::move(q));
          schedule_flush(self, entering_chain);
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
        if (self->state.flush.take(round))
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
                                       std::to_string(st.admitted.size()) + " sessions, all in use",
                                   failure_kind::busy);
        st.admitted[session].last_step = clock_type::now();
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
          if (now - i->second.last_step > st.options.session_idle_timeout) {
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
  return opts.own_thread ? sys.spawn<caf::detached>(block_host, opts) : sys.spawn(block_host, opts);
}

} // namespace llamps
