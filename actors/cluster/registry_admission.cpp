// The registry's admission of sessions: a route through the block hosts for each, and a queue
// per model where sessions wait while the hosts are full (actors/cluster/admission_queue.hpp).
//
// Every route request takes its place at the back of its model's queue, and only the first in
// line is being admitted at any time (on every host of its route), so none overtakes another.
// A host whose KV budget is full refuses it (failure_kind::busy): the line then waits for
// capacity — a session closes, a requester goes away, a host reports fewer sessions, the
// registry's tick — and tries its first again. Requests that cannot be served at all (unknown
// model, no live host) fail at once; a full queue or a passed deadline fails with a kind of
// its own and a time to try again.
#include <algorithm>

#include "actors/cluster/registry_detail.hpp"

namespace llamps::registry_detail {

std::string unknown_model(const std::string& model) {
  return "unknown model '" + model + "': it is not deployed";
}

namespace {

// A host is usable unless its node is known to be gone. Hosts of nodes that never joined
// (an application that embeds block hosts and records a deployment itself) count as live.
bool node_usable(const registry_state& st, const std::string& node_id) {
  auto i = st.servers.find(node_id);
  return i == st.servers.end() || i->second.healthy;
}

// Sessions routed through a node's hosts, of every deployment.
int32_t node_sessions(const registry_state& st, const std::string& node_id) {
  int32_t n = 0;
  for (const auto& [model, d] : st.deployments)
    for (const auto& h : d.hosts)
      if (h.node_id == node_id)
        n += h.range.sessions;
  return n;
}

// A host's share of its node's compute for one more session: the cores the node offers now
// (fewer while its owner is busy) over the sessions it would then serve.
double spare_compute(const registry_state& st, const host_ref& h) {
  auto s = st.servers.find(h.node_id);
  const double cores = s == st.servers.end() || s->second.offer.starved ? 0 : double(s->second.offer.cores);
  return cores / double(node_sessions(st, h.node_id) + 1);
}

// Picks one host per stage so that the stages cover [0, n_blocks): at each block, the live
// host whose range starts there with the most spare compute, then the fewest sessions.
std::optional<std::vector<host_ref>> pick_route(const registry_state& st, const deployment& d,
                                                const std::vector<std::string>& avoid, std::string& why) {
  std::vector<host_ref> route;
  int32_t block = 0;
  while (block < d.profile.n_blocks) {
    const host_ref* best = nullptr;
    for (auto& h : d.hosts) {
      if (h.range.first != block || h.range.draining || !node_usable(st, h.node_id) ||
          std::find(avoid.begin(), avoid.end(), h.node_id) != avoid.end())
        continue;
      if (!best || spare_compute(st, h) > spare_compute(st, *best) ||
          (spare_compute(st, h) == spare_compute(st, *best) && h.range.sessions < best->range.sessions))
        best = &h;
    }
    if (!best) {
      why = "no live host serves blocks from " + std::to_string(block) + " of model '" + d.model + "'";
      return std::nullopt;
    }
    route.push_back(*best);
    block = best->range.last;
  }
  return route;
}

// Sessions per host, so that new routes go to the least busy replica.
void count_route_sessions(registry_state& st, const std::string& model,
                          const std::vector<std::string>& route_nodes, int delta) {
  auto d = st.deployments.find(model);
  if (d == st.deployments.end())
    return;
  for (auto& node : route_nodes)
    for (auto& h : d->second.hosts)
      if (h.node_id == node)
        h.range.sessions = std::max(0, h.range.sessions + delta);
}

model_queue& queue_of(registry_state& st, const std::string& model) {
  auto i = st.queues.find(model);
  if (i == st.queues.end())
    i = st.queues.emplace(model, model_queue({st.options.queue_length, st.options.queue_wait})).first;
  return i->second;
}

// Takes a request out of the books (it is out of the line already). Its requester stays
// monitored: CAF's demonitor would drop every monitor of it, also the one that watches its
// open session (a session that re-routes has one); a down that finds nothing is harmless.
waiting_route forget(model_queue& q, uint64_t ticket) {
  auto i = q.waiting.find(ticket);
  if (i == q.waiting.end())
    return {};
  auto w = std::move(i->second);
  q.waiting.erase(i);
  return w;
}

void refuse(registry_pointer self, model_queue& q, uint64_t ticket, caf::error why) {
  q.line.remove(ticket);
  forget(q, ticket).promise.deliver(std::move(why));
}

caf::error queue_refusal(const std::string& model, const model_queue& q, failure_kind kind,
                         std::chrono::milliseconds waited) {
  auto retry = static_cast<int32_t>(q.line.retry_after(clock_type::now()).count());
  std::string text = kind == failure_kind::queue_full
                         ? "queue full: " + std::to_string(q.line.size()) +
                               " requests already wait for model '" + model + "'"
                         : "no session of model '" + model + "' freed within " +
                               std::to_string((waited.count() + 500) / 1000) + " s in its queue";
  return make_llamps_error(text + "; try again in " + std::to_string(retry) + " s", kind, retry);
}

// Tells each request that waits for capacity, once, its place in line.
void tell_waiting(registry_pointer self, model_queue& q) {
  for (auto& [ticket, w] : q.waiting)
    if (!w.told && w.requester) {
      w.told = true;
      caf::anon_send(caf::actor_cast<caf::actor>(w.requester), queued_atom::value,
                     static_cast<int32_t>(q.line.position(ticket)));
    }
}

void admitted(registry_pointer self, const std::string& model, uint64_t ticket, std::vector<host_ref> hosts) {
  auto& st = self->state;
  auto qi = st.queues.find(model);
  auto d = st.deployments.find(model);
  if (qi != st.queues.end())
    qi->second.admitting.reset();
  if (qi == st.queues.end() || !qi->second.waiting.count(ticket) || d == st.deployments.end()) {
    // Its requester went away (or the model) while the hosts admitted it.
    for (auto& h : hosts)
      self->send(h.host, drop_atom::value, ticket);
    return pump(self, model);
  }
  auto& q = qi->second;
  if (q.line.front() == ticket)
    q.line.admit_front(clock_type::now());
  else
    q.line.remove(ticket);
  q.blocked = false;
  session_route route{ticket, model, d->second.profile, hosts};
  open_session open{session_info{ticket, model, 0, {}}, {}, {}};
  for (auto& h : hosts) {
    open.info.route.push_back(h.node_id);
    open.hosts.push_back(h.host);
  }
  count_route_sessions(st, model, open.info.route, +1);
  auto w = forget(q, ticket);
  open.requester = caf::actor_cast<caf::actor_addr>(w.requester);
  st.sessions[ticket] = std::move(open);
  w.promise.deliver(std::move(route));
  pump(self, model);
}

void refused(registry_pointer self, const std::string& model, uint64_t ticket, const std::string& node_id,
             const caf::error& e) {
  auto& st = self->state;
  auto qi = st.queues.find(model);
  if (qi == st.queues.end())
    return;
  auto& q = qi->second;
  q.admitting.reset();
  if (!q.waiting.count(ticket))
    return pump(self, model);
  if (kind_of(e) == failure_kind::busy) {
    // The first stays first; the line waits until capacity may have freed (see pump's callers).
    if (!q.blocked)
      st.log->debug("model {}: {} full; {} request(s) wait", model, node_id, q.line.size());
    q.blocked = true;
    tell_waiting(self, q);
    return expire_waiting(self, model); // its deadline may have passed during the attempt
  }
  refuse(self, q, ticket, reworded(e, node_id + ": " + error_text(e)));
  pump(self, model);
}

// Admits the session on every host of its route before handing the route out: hosts refuse
// steps of sessions they were not told about, and admission when their KV budget is full.
void try_admit(registry_pointer self, const std::string& model, uint64_t ticket,
               std::vector<host_ref> hosts) {
  auto& st = self->state;
  for (auto& h : hosts)
    if (auto s = st.servers.find(h.node_id); s != st.servers.end())
      h.address = s->second.link_address; // the session links to each host's node
  queue_of(st, model).admitting = ticket;
  if (hosts.empty()) // a model of no blocks: nothing to admit it on
    return admitted(self, model, ticket, hosts);
  auto pending = std::make_shared<size_t>(hosts.size());
  auto settled = std::make_shared<bool>(false);
  for (auto& h : hosts)
    self->request(h.host, std::chrono::seconds(10), admit_atom::value, ticket)
        .then(
            [=](bool) {
              if (--*pending == 0 && !*settled) {
                *settled = true;
                admitted(self, model, ticket, hosts);
              }
            },
            [=](caf::error& e) {
              if (*settled)
                return;
              *settled = true;
              for (auto& other : hosts) // those that admitted it give the place back
                self->send(other.host, drop_atom::value, ticket);
              refused(self, model, ticket, h.node_id, e);
            });
}

} // namespace

caf::result<session_route> request_route(registry_pointer self, const std::string& model,
                                         const std::vector<std::string>& avoid, int32_t max_wait_ms) {
  auto& st = self->state;
  auto d = st.deployments.find(model);
  if (d == st.deployments.end())
    return make_llamps_error(unknown_model(model));
  std::string why;
  if (!pick_route(st, d->second, avoid, why))
    return make_llamps_error(why);
  auto& q = queue_of(st, model);
  const uint64_t ticket = st.ids() >> 1;
  const auto wait = std::min(std::chrono::milliseconds(std::max(0, max_wait_ms)), q.line.max_wait());
  if (!q.line.push(ticket, clock_type::now(), wait))
    return queue_refusal(model, q, failure_kind::queue_full, wait);
  auto& w = q.waiting[ticket];
  w.requester = self->current_sender(); // before the promise, which takes the sender over
  if (w.requester)
    self->monitor(w.requester);
  w.promise = self->make_response_promise<session_route>();
  w.avoid = avoid;
  w.wait = wait;
  auto promise = w.promise;
  self->delayed_send(self, wait, expire_atom::value, model);
  if (q.blocked)
    tell_waiting(self, q);
  pump(self, model);
  return promise;
}

void pump(registry_pointer self, const std::string& model) {
  auto& st = self->state;
  auto qi = st.queues.find(model);
  if (qi == st.queues.end())
    return;
  auto& q = qi->second;
  while (!q.admitting) {
    auto ticket = q.line.front();
    if (!ticket)
      return;
    auto d = st.deployments.find(model);
    if (d == st.deployments.end())
      return fail_waiting(self, model, unknown_model(model));
    std::string why;
    auto hosts = pick_route(st, d->second, q.waiting.at(*ticket).avoid, why);
    if (!hosts) {
      refuse(self, q, *ticket, make_llamps_error(why));
      continue;
    }
    try_admit(self, model, *ticket, std::move(*hosts));
  }
}

void close_session(registry_pointer self, uint64_t session) {
  auto& st = self->state;
  auto i = st.sessions.find(session);
  if (i == st.sessions.end())
    return;
  // The session frees its caches itself; the registry's own drop reaches each host before the
  // admission it sends next (one sender, one order), so the next in line finds the place free.
  for (auto& h : i->second.hosts)
    self->send(h, drop_atom::value, session);
  auto model = i->second.info.model;
  count_route_sessions(st, model, i->second.info.route, -1);
  st.sessions.erase(i);
  pump(self, model);
}

void requester_down(registry_pointer self, const caf::actor_addr& who) {
  std::vector<uint64_t> left_open;
  for (auto& [id, s] : self->state.sessions)
    if (s.requester == who)
      left_open.push_back(id);
  for (auto id : left_open) {
    self->state.log->info("session {}: its client is gone; freed on its hosts", id);
    close_session(self, id);
  }
  for (auto& [model, q] : self->state.queues) {
    std::vector<uint64_t> gone;
    for (auto& [ticket, w] : q.waiting)
      if (caf::actor_cast<caf::actor_addr>(w.requester) == who)
        gone.push_back(ticket);
    for (auto ticket : gone) {
      q.line.cancel(ticket);
      q.waiting.erase(ticket); // nobody to answer (an admission under way is dropped when it ends)
    }
    if (!gone.empty())
      pump(self, model);
  }
}

void expire_waiting(registry_pointer self, const std::string& model) {
  auto qi = self->state.queues.find(model);
  if (qi == self->state.queues.end())
    return;
  auto& q = qi->second;
  // A line that moves admits its requests soon anyway; a deadline refuses only while the
  // model is at capacity (the next busy refusal looks again).
  if (!q.blocked)
    return;
  for (auto ticket : q.line.expire(clock_type::now(), q.admitting)) {
    auto w = forget(q, ticket);
    w.promise.deliver(queue_refusal(model, q, failure_kind::queue_deadline, w.wait));
  }
}

void fail_waiting(registry_pointer self, const std::string& model, const std::string& why) {
  auto qi = self->state.queues.find(model);
  if (qi == self->state.queues.end())
    return;
  auto& q = qi->second;
  while (auto ticket = q.line.front())
    refuse(self, q, *ticket, make_llamps_error(why));
  q.blocked = false;
}

std::vector<queue_status> queue_report(const registry_state& st) {
  std::vector<queue_status> out;
  for (auto& [model, q] : st.queues) {
    auto& s = q.line.stats();
    out.push_back(queue_status{model, static_cast<int32_t>(q.line.size()), s.admitted, s.rejected_full,
                               s.rejected_deadline, s.cancelled, s.wait_counts, s.wait_sum_s});
  }
  return out;
}

} // namespace llamps::registry_detail
