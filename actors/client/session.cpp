// session: the client side of one conversation. It holds the tokenizer, the embedding, the
// output head and the sampler; asks the registry for a route through the block hosts; sends
// each step into the chain and gets the last host's hidden states back; streams tokens to its
// caller. When a host dies or stops answering, it asks for a new route that avoids the dead
// node and replays everything it has fed so far, so the output is the same as without the
// fault. On close it frees its caches on every host.
//
// A chat order carries the conversation: the session renders it with the model's chat template
// (model/text/chat_prompt.hpp). Between generations the hosts keep the session's caches, and a
// new prompt that starts with the ids they hold is fed from where they end, so each turn of a
// chat pays only for what it adds.
#include <chrono>
#include <memory>
#include <optional>
#include <set>

#include "actors/protocol/actors.hpp"
#include "model/decoder/client_model.hpp"
#include "model/text/chat_prompt.hpp"
#include "model/text/generation_loop.hpp"
#include "actors/support/logging.hpp"

namespace llamps {

namespace {

using clock_type = std::chrono::steady_clock;

struct generation_in_flight {
  std::unique_ptr<generation_loop> loop;
  caf::actor listener;
  caf::typed_response_promise<generation_report> promise;
  clock_type::time_point started, first_token;
  bool prefilled = false;
  int32_t fed = 0;               // positions whose K/V the hosts hold
  std::vector<std::string> stop; // the order's stop strings
  std::string text;              // the generated text so far, searched for them
  size_t searched = 0;           // text before this offset holds no stop string's end
  std::string stopped_by;
  // Where a step's time goes: in the chain (sent until its result is back), in the head (the
  // logits), and the rest here (sampling, embedding, scheduling). Logged at debug level.
  clock_type::time_point sent, result_in, logits_in;
  double chain_s = 0, head_s = 0, client_s = 0;
};

struct session_state {
  const char* name = "session";
  session_options options;
  registry_actor registry;
  std::shared_ptr<const client_model> model;
  head_actor head; // computes logits, batched with this process's other sessions
  std::optional<session_route> route;
  std::optional<session_route> linking; // a new route whose hosts are being linked to
  std::vector<int32_t> conversation;    // ids whose K/V the hosts hold (after a generation)
  std::optional<generation_in_flight> current;
  // A place asked for ahead of a generation (route_atom), and who hears that it waits in line.
  std::optional<caf::typed_response_promise<std::vector<std::string>>> admitting;
  caf::actor queue_listener;
  uint64_t attempt = 0; // replies to older attempts are stale and ignored
  // The step in flight (attempt step_attempt, sent at step_sent) and whether a deadline check
  // is on its way. One check per step_timeout instead of a timeout on each request: CAF
  // arms and cancels a request's timeout on its clock thread, two wake-ups of that thread
  // per token.
  std::optional<clock_type::time_point> step_sent;
  uint64_t step_attempt = 0;
  bool deadline_due = false;
  std::set<std::string> failed_nodes;
  int32_t recoveries = 0;
  int32_t route_retries = 0;
  clock_type::time_point rerouting_since; // the first attempt of the current re-route
  bool rerouting = false;                 // a new route is on its way: further failures of the
                                          // old chain (its other hosts going down) are one fault
  std::shared_ptr<spdlog::logger> log = logger("session");
};

using session_pointer = session_actor::stateful_pointer<session_state>;

void send_feed(session_pointer self, const generation_loop::feed& feed);

std::vector<std::string> route_nodes(const session_state& st) {
  std::vector<std::string> out;
  if (st.route)
    for (auto& h : st.route->hosts)
      out.push_back(h.node_id);
  return out;
}

void fail(session_pointer self, const caf::error& why) {
  auto& st = self->state;
  if (!st.current)
    return;
  st.log->warn("session {}: {}", st.route ? st.route->session : 0, error_text(why));
  st.current->promise.deliver(why);
  st.current.reset();
  st.rerouting = false;
  st.conversation.clear(); // the caches may be partial: the next generation starts afresh
}

void fail(session_pointer self, const std::string& why) { fail(self, make_llamps_error(why)); }

void finish(session_pointer self) {
  auto& st = self->state;
  auto& g = *st.current;
  auto end = clock_type::now();
  generation_report report;
  report.session = st.route->session;
  report.ids = g.loop->ids();
  report.route = route_nodes(st);
  report.prompt_tokens = g.loop->prompt_tokens();
  report.cached_tokens = g.loop->cached_tokens();
  report.generated_tokens = g.loop->generated_tokens();
  report.stopped_by = g.stopped_by;
  report.prefill_seconds = std::chrono::duration<double>(g.first_token - g.started).count();
  report.decode_seconds = std::chrono::duration<double>(end - g.first_token).count();
  report.recoveries = st.recoveries;
  const double steps = std::max<double>(1, report.ids.size() - report.prompt_tokens);
  st.log->debug("session {}: per step {:.2f} ms in the chain, {:.2f} ms in the head, {:.2f} ms here",
                report.session, 1e3 * g.chain_s / steps, 1e3 * g.head_s / steps, 1e3 * g.client_s / steps);
  // The last sampled token was never fed (nor an end-of-turn token, which is not in the ids).
  st.conversation.assign(report.ids.begin(), report.ids.begin() + std::min<size_t>(g.fed, report.ids.size()));
  self->send(
      st.registry, report_atom::value,
      session_info{report.session, st.options.model, static_cast<int32_t>(report.ids.size()), report.route});
  g.promise.deliver(std::move(report));
  st.current.reset();
}

// Whether the generated text now contains one of the order's stop strings (then the
// generation ends here, and its session is free, rather than running on unseen).
bool reached_stop(generation_in_flight& g) {
  for (auto& s : g.stop) {
    auto from = g.searched >= s.size() ? g.searched - s.size() + 1 : 0;
    if (g.text.find(s, from) != std::string::npos) {
      g.stopped_by = s;
      return true;
    }
  }
  g.searched = g.text.size();
  return false;
}

// Samples from the logits of the last fed position and feeds the next token, or finishes.
void on_logits(session_pointer self, std::vector<float>& logits) {
  auto& st = self->state;
  auto& g = *st.current;
  auto session = st.route->session;
  g.logits_in = clock_type::now();
  g.head_s += std::chrono::duration<double>(g.logits_in - g.result_in).count();
  std::vector<std::pair<int32_t, std::string>> tokens;
  auto next = g.loop->next(logits, [&](int32_t token, const std::string& piece) {
    g.text += piece;
    tokens.emplace_back(token, piece);
  });
  // The listener hears of the tokens after the next step has left (waking the listener's
  // thread is then off the chain's path) but before the generation's report.
  auto tell = [&, listener = g.listener] {
    if (listener)
      for (auto& [token, piece] : tokens)
        caf::anon_send(listener, token_atom::value, session, token, std::move(piece));
  };
  if (next && !reached_stop(g)) {
    send_feed(self, *next);
    tell();
  } else {
    tell();
    finish(self);
  }
}

void on_step_result(session_pointer self, const step_result& result) {
  auto& st = self->state;
  auto& g = *st.current;
  g.result_in = clock_type::now();
  g.chain_s += std::chrono::duration<double>(g.result_in - g.sent).count();
  if (!g.prefilled) {
    g.prefilled = true;
    g.first_token = clock_type::now();
  }
  auto hidden = from_wire(result.hidden);
  if (hidden.rows() < 1 || hidden.cols() != st.model->config.n_embd)
    return fail(self, "a host returned malformed hidden states");
  std::vector<float> last(hidden.values.end() - hidden.cols(), hidden.values.end());
  if (result.batch_size <= 1) {
    // A step that came back alone has no partner to share the head's product with: its
    // logits are computed here, a round trip through the batcher less per token.
    std::vector<float> logits;
    try {
      logits = st.model->head.logits(last.data());
    } catch (const std::exception& e) {
      return fail(self, std::string("output head: ") + e.what());
    }
    return on_logits(self, logits);
  }
  // The logits of a batch's members come from the head batcher this process's sessions share.
  auto attempt = st.attempt;
  self->request(st.head, caf::infinite, logits_atom::value, std::move(last), result.batch, result.batch_size)
      .then(
          [=](std::vector<float>& logits) {
            if (attempt == self->state.attempt && self->state.current)
              on_logits(self, logits);
          },
          [=](caf::error& e) { fail(self, error_text(e)); });
}

// Frees the session's caches on hosts that are no longer on its route.
void drop_on(session_pointer self, const std::vector<host_ref>& hosts, uint64_t session) {
  for (auto& h : hosts)
    self->send(h.host, drop_atom::value, session);
}

void adopt_route(session_pointer self, session_route route) {
  auto& st = self->state;
  if (st.route) {
    drop_on(self, st.route->hosts, st.route->session);
    // A host that only looked dead (its link dropped, not its node) comes back in the new
    // route under a fresh handle; the old handle no longer reaches it, so the old session's
    // caches are freed through the new one too.
    for (auto& old : st.route->hosts)
      for (auto& fresh : route.hosts)
        if (fresh.node_id == old.node_id && fresh.host != old.host)
          self->send(fresh.host, drop_atom::value, st.route->session);
    self->send(st.registry, close_atom::value, st.route->session);
  }
  for (auto& h : route.hosts)
    self->monitor(h.host);
  st.route = std::move(route);
}

// Asks the registry for a route (avoiding every node seen failing, if asked), then runs `then`
// (or `otherwise` with the reason, a caf::error of the registry's kind). The request may wait
// in the model's queue for up to the session's queue_wait.
template <class Continue, class Otherwise>
void request_route(session_pointer self, bool avoid_failed, Continue then, Otherwise otherwise) {
  auto& st = self->state;
  std::vector<std::string> avoid;
  if (avoid_failed)
    avoid.assign(st.failed_nodes.begin(), st.failed_nodes.end());
  const auto wait = std::min<std::chrono::milliseconds>(st.options.queue_wait, std::chrono::hours(24 * 20));
  self->request(st.registry, wait + std::chrono::seconds(10), route_atom::value, st.options.model, avoid,
                static_cast<int32_t>(wait.count()))
      .then(
          [=](session_route& route) {
            // Linked to every host's node before the first step, so that steps do not take a
            // way through the registry (actors/cluster/link_keeper.cpp).
            std::vector<link_target> nodes;
            for (auto& h : route.hosts)
              nodes.push_back({h.node_id, h.address, h.host.node()});
            self->state.linking = route; // a close meanwhile gives its admissions back
            when_linked(self, nodes, [=] {
              self->state.linking.reset();
              adopt_route(self, route);
              then();
            });
          },
          [=](caf::error& e) {
            const bool silent = e == caf::sec::request_timeout;
            otherwise(reworded(e, "no route for model '" + self->state.options.model +
                                      "': " + (silent ? "the registry does not answer" : error_text(e))));
          });
}

// After a failure: a new route, then everything fed so far replayed through it. While no
// host serves some blocks (the deployer is loading them on a spare server), keep asking.
void reroute(session_pointer self) {
  if (self->state.route_retries == 0)
    self->state.rerouting_since = clock_type::now();
  // Only the first attempt avoids the nodes this session saw fail: a host can look dead from
  // here (a dropped connection) while its node is alive, and then the registry, which checks
  // the node itself, is the better judge; it never routes to a node it knows is gone.
  request_route(
      self, self->state.route_retries == 0,
      [=] {
        self->state.route_retries = 0;
        self->state.rerouting = false;
        if (self->state.current)
          send_feed(self, self->state.current->loop->replay());
      },
      [=](const caf::error& e) {
        auto& st = self->state;
        const auto why = error_text(e);
        // Undeployed meanwhile: no repair will bring the blocks back, so waiting is useless.
        if (why.find("it is not deployed") != std::string::npos)
          return fail(self, "model '" + st.options.model + "' was undeployed during the generation");
        // Bounded in time too: a registry that is gone may let each request run into its
        // timeout instead of refusing it at once.
        const auto patience = st.options.route_retries * st.options.route_retry_interval;
        if (++st.route_retries > st.options.route_retries ||
            clock_type::now() - st.rerouting_since > patience)
          return fail(self, e);
        self->delayed_send(self, st.options.route_retry_interval, tick_atom::value);
      });
}

void recover(session_pointer self, const std::string& why) {
  auto& st = self->state;
  if (!st.current)
    return;
  ++st.attempt; // whatever the old chain still sends back is now stale
  if (st.rerouting)
    return;
  if (st.recoveries >= st.options.max_recoveries)
    return fail(self, why + " (gave up after " + std::to_string(st.recoveries) + " recoveries)");
  ++st.recoveries;
  st.log->warn("session {}: {}; re-routing and replaying {} tokens", st.route->session, why,
               st.current->loop->ids().size());
  st.rerouting = true;
  reroute(self);
}

void send_feed(session_pointer self, const generation_loop::feed& feed) {
  auto& st = self->state;
  auto& hosts = st.route->hosts;
  step_request req;
  req.session = st.route->session;
  req.pos = feed.pos;
  req.hidden = to_wire(st.model->head.embed(feed.tokens));
  for (size_t i = 1; i < hosts.size(); ++i)
    req.next.push_back(hosts[i].host);
  auto attempt = ++st.attempt;
  if (st.current) {
    auto& g = *st.current;
    g.fed = feed.pos + static_cast<int32_t>(feed.tokens.size());
    g.sent = clock_type::now();
    if (g.logits_in > g.started)
      g.client_s += std::chrono::duration<double>(g.sent - g.logits_in).count();
  }
  st.step_sent = clock_type::now();
  st.step_attempt = attempt;
  if (!st.deadline_due) {
    st.deadline_due = true;
    self->delayed_send(self, st.options.step_timeout, deadline_atom::value);
  }
  self->request(hosts.front().host, caf::infinite, step_atom::value, std::move(req))
      .then(
          [=](step_result& result) {
            if (attempt != self->state.attempt)
              return;
            self->state.step_sent.reset();
            if (self->state.current)
              on_step_result(self, result);
          },
          [=](caf::error& e) {
            if (attempt != self->state.attempt)
              return;
            self->state.step_sent.reset();
            recover(self, "step failed: " + error_text(e));
          });
}

// The deadline check: a step still in flight step_timeout after it left counts as failed (a
// host that hangs without its connection dropping); one sent since is checked at its own
// deadline.
void check_deadline(session_pointer self) {
  auto& st = self->state;
  st.deadline_due = false;
  if (!st.step_sent || st.step_attempt != st.attempt)
    return;
  const auto deadline = *st.step_sent + st.options.step_timeout;
  const auto now = clock_type::now();
  if (now < deadline) {
    st.deadline_due = true;
    self->delayed_send(self,
                       std::chrono::duration_cast<std::chrono::microseconds>(deadline - now) +
                           std::chrono::microseconds(1),
                       deadline_atom::value);
    return;
  }
  st.step_sent.reset();
  recover(self, "step failed: no answer from the chain within " +
                    std::to_string(st.options.step_timeout.count()) + " ms");
}

// Loads the tokenizer and head the first time: from the configured path, or from the
// deployment's own path when that file is on this machine.
std::optional<std::string> ensure_client_model(session_pointer self) {
  auto& st = self->state;
  if (st.model)
    return std::nullopt;
  auto path = st.options.model_path.empty() ? st.route->profile.path : st.options.model_path;
  try {
    auto model = load_client_model(path);
    if (model->identity != st.route->profile.identity)
      return path + " is not the deployed model '" + st.options.model + "' (identity differs)";
    st.head = head_batcher_for(self->system(), model);
    st.model = std::move(model);
    return std::nullopt;
  } catch (const std::exception& e) {
    return std::string("cannot load the tokenizer and head: ") + e.what();
  }
}

} // namespace

generation_request to_request(const generation_order& order) {
  generation_request req;
  req.prompt = order.prompt;
  req.steps = order.steps;
  req.max_new_tokens = order.max_new_tokens;
  req.sampling = sampling_params{order.temperature, order.top_p, order.top_k, order.seed};
  return req;
}

namespace {

void start(session_pointer self, const generation_order& order) {
  auto& st = self->state;
  if (auto problem = ensure_client_model(self))
    return fail(self, *problem);
  try {
    auto req = to_request(order);
    if (!order.messages.empty()) {
      auto chat = make_chat_prompt(st.model->tok, st.model->chat_template, order.chat_template,
                                   order.messages, order.add_generation_prompt);
      req.prompt_ids = std::move(chat.ids);
      req.stop_tokens = std::move(chat.stop_tokens);
    }
    st.current->loop =
        std::make_unique<generation_loop>(st.model->tok, st.model->config.n_ctx, req, st.conversation);
  } catch (const std::exception& e) {
    return fail(self, e.what());
  }
  st.current->stop = order.stop;
  st.current->started = clock_type::now();
  send_feed(self, st.current->loop->first());
}

session_actor::behavior_type session(session_pointer self, registry_actor registry, session_options options) {
  self->state.registry = std::move(registry);
  self->state.options = std::move(options);
  self->set_down_handler([=](caf::down_msg& down) {
    auto& st = self->state;
    if (!st.route)
      return;
    for (auto& h : st.route->hosts) {
      if (h.host.address() == down.source) {
        st.failed_nodes.insert(h.node_id);
        // A host stopped on purpose (undeployed, or its node drained) says nothing about the
        // node's health: only a crash or a lost connection is reported to the registry.
        if (down.reason != caf::exit_reason::user_shutdown)
          self->send(st.registry, failed_atom::value, h.node_id);
        recover(self, "host " + h.node_id + " is gone (" + error_text(down.reason) + ")");
        return;
      }
    }
  });
  return {
      [=](generate_atom, generation_order& order) -> caf::result<generation_report> {
        auto& st = self->state;
        if (st.current || st.admitting)
          return make_llamps_error("this session is already generating");
        st.current.emplace();
        st.current->listener = order.listener;
        st.current->promise = self->make_response_promise<generation_report>();
        auto promise = st.current->promise;
        st.recoveries = 0;
        if (st.route)
          start(self, order);
        else
          request_route(
              self, true, [=] { start(self, order); }, [=](const caf::error& e) { fail(self, e); });
        return promise;
      },
      [=](route_atom) -> caf::result<std::vector<std::string>> {
        auto& st = self->state;
        if (st.route)
          return route_nodes(st);
        if (st.current || st.admitting)
          return make_llamps_error("this session is already asking for a route");
        st.queue_listener = caf::actor_cast<caf::actor>(self->current_sender());
        st.admitting = self->make_response_promise<std::vector<std::string>>();
        auto promise = *st.admitting;
        auto settle = [=](const caf::error& e) {
          auto& st = self->state;
          if (!st.admitting)
            return;
          if (e)
            st.admitting->deliver(e);
          else
            st.admitting->deliver(route_nodes(st));
          st.admitting.reset();
        };
        request_route(
            self, true, [=] { settle(caf::error{}); }, settle);
        return promise;
      },
      [=](queued_atom, int32_t position) {
        auto& st = self->state;
        auto listener = st.current ? st.current->listener : st.queue_listener;
        if (listener)
          caf::anon_send(listener, queued_atom::value, position);
      },
      [=](close_atom) {
        auto& st = self->state;
        for (auto* r : {&st.route, &st.linking})
          if (*r) {
            drop_on(self, (*r)->hosts, (*r)->session);
            self->send(st.registry, close_atom::value, (*r)->session);
          }
        fail(self, "session closed");
        if (st.admitting)
          st.admitting->deliver(make_llamps_error("session closed"));
        self->quit();
      },
      [=](tick_atom) {
        if (self->state.current)
          reroute(self);
      },
      [=](deadline_atom) { check_deadline(self); },
  };
}

} // namespace

session_actor spawn_session(caf::actor_system& sys, registry_actor registry, const session_options& opts) {
  return sys.spawn(session, std::move(registry), opts);
}

} // namespace llamps
