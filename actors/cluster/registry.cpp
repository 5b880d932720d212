// registry: the list of available servers and of what each hosts. Contributors join (with
// the cluster's join token), send heartbeats, and leave; a silent or vanished node is marked
// gone. The deployer records deployments here; sessions ask here for a route through the
// block hosts, and the registry admits each new session on every host of its route first,
// queueing it while they are full (registry_admission.cpp).
#include <algorithm>
#include <chrono>

#include <caf/io/all.hpp>

#include "actors/cluster/registry_detail.hpp"
#include "actors/cluster/registry_state.hpp"

namespace llamps {

using namespace registry_detail;

namespace {

// Keeps the state file in step with the deployments (when the registry has one).
void persist(registry_state& st) {
  if (st.options.state_file.empty())
    return;
  std::vector<deployment> all;
  for (auto& [name, d] : st.deployments)
    all.push_back(d);
  auto problem = save_deployments(st.options.state_file, all);
  if (!problem.empty())
    st.log->error("state file: {}", problem);
}

// A node reported its hosts. A draining host takes no new sessions from now on; and they
// become the node's hosts of every restored deployment of the same model (the registry
// restarted; the hosts kept running).
void take_report(registry_state& st, const std::string& node_id, const std::vector<host_ref>& hosts) {
  for (auto& [model, d] : st.deployments)
    for (auto& h : d.hosts)
      for (auto& reported : hosts)
        if (h.node_id == node_id && h.host == reported.host && reported.range.draining && !h.range.draining) {
          h.range.draining = true;
          st.log->info("{}: blocks {}-{} of {} are draining", node_id, h.range.first, h.range.last - 1,
                       model);
        }
  for (auto& model : st.rebuilding) {
    auto& d = st.deployments[model];
    auto before = d.hosts.size();
    d.hosts.erase(std::remove_if(d.hosts.begin(), d.hosts.end(),
                                 [&](const host_ref& h) { return h.node_id == node_id; }),
                  d.hosts.end());
    bool added = false;
    for (auto& h : hosts)
      if (h.range.model == model && h.node_id == node_id) {
        d.hosts.push_back(h);
        added = true;
      }
    if (added && d.hosts.size() > before)
      st.log->info("deployment {}: {} reports blocks {}-{}; {} host(s) known again", d.deployment_id, node_id,
                   hosts.front().range.first, hosts.front().range.last - 1, d.hosts.size());
  }
}

// Models of which one of a node's hosts now reports fewer sessions than in its last report
// (it freed an idle one): their queues may move.
std::vector<std::string> models_with_fewer_sessions(const std::vector<host_ref>& before,
                                                    const std::vector<host_ref>& now) {
  std::vector<std::string> out;
  for (auto& h : now)
    for (auto& old : before)
      if (old.host == h.host && h.range.sessions < old.range.sessions)
        out.push_back(h.range.model);
  return out;
}

void mark_gone(registry_state& st, const std::string& node_id, const char* why) {
  auto i = st.servers.find(node_id);
  if (i == st.servers.end() || !i->second.healthy)
    return;
  i->second.healthy = false;
  st.peers_changed = true;
  st.log->warn("node {} is gone ({})", node_id, why);
}

// Tells every live contributor where the others are, so that they link to each other
// (actors/cluster/link_keeper.cpp): one list, built once and shared by every message (each
// contributor skips itself and those it needs no link to), sent on the tick after a change,
// so that N nodes joining at once cost N lists, not N lists each.
void send_peers(registry_pointer self) {
  auto& st = self->state;
  st.peers_changed = false;
  std::map<std::string, std::string> peers;
  for (auto& [id, s] : st.servers)
    if (s.healthy)
      peers.emplace(id, s.link_address);
  const caf::message list = caf::make_message(peers_atom::value, std::move(peers));
  const auto me = caf::actor_cast<caf::actor>(self); // as the sender: contributors check it
  for (auto& [id, receiver] : st.servers)
    if (receiver.healthy)
      caf::send_as(me, caf::actor_cast<caf::actor>(receiver.contributor), list);
}

// Where the others link to a contributor that joined: the address it listens on, or the
// address its connection here comes from when it listens on every interface ("0.0.0.0:4243");
// nowhere ("") when it runs in this process, which everyone is connected to already. (A
// loopback address seen from here leads others on other machines back to their own: their
// link fails or finds the wrong node, and CAF routes through this process instead.) Then the
// others learn of it.
void learn_address(registry_pointer self, const std::string& node_id, const contributor_actor& contributor) {
  auto& entry = self->state.servers[node_id];
  const std::string address = entry.offer.address;
  auto colon = address.rfind(':');
  const std::string host = colon == std::string::npos ? address : address.substr(0, colon);
  entry.link_address = "";
  self->state.peers_changed = true; // the others learn of it on the next tick
  if (contributor.node() == self->node() || colon == std::string::npos)
    return;
  if (host != "0.0.0.0" && host != "::" && !host.empty()) {
    entry.link_address = address;
    return;
  }
  self->request(self->system().middleman().actor_handle(), std::chrono::seconds(5), caf::get_atom::value,
                contributor.node())
      .then(
          [=](const caf::node_id&, const std::string& seen, uint16_t) {
            auto i = self->state.servers.find(node_id);
            if (i != self->state.servers.end() && !seen.empty()) {
              i->second.link_address = seen + address.substr(colon);
              self->state.log->info("node {} listens on {}: others link to it at {}", node_id, address,
                                    i->second.link_address);
            }
            self->state.peers_changed = true;
          },
          [](caf::error&) {});
}

// A session lost its link to one of the node's hosts. That may be the link, not the node: ask
// the node's contributor itself, and mark it gone only when it does not answer either.
void check_reported_failure(registry_pointer self, const std::string& node_id) {
  auto i = self->state.servers.find(node_id);
  if (i == self->state.servers.end() || !i->second.healthy)
    return;
  self->request(i->second.contributor, std::chrono::seconds(2), status_atom::value)
      .then(
          [=](const server_status&) {
            self->state.log->info("a session lost its link to {}, but the node answers: kept", node_id);
          },
          [=](caf::error& e) {
            auto why = "a session saw it fail, and it does not answer: " + error_text(e);
            mark_gone(self->state, node_id, why.c_str());
          });
}

registry_actor::behavior_type registry(registry_pointer self, registry_options options,
                                       std::vector<deployment> restored) {
  self->state.options = std::move(options);
  for (auto& d : restored) {
    self->state.log->info("restored deployment {} of {}; waiting for its hosts to report", d.deployment_id,
                          d.model);
    self->state.rebuilding.insert(d.model);
    self->state.deployments.emplace(d.model, std::move(d));
  }
  auto tick_every = std::max(std::chrono::milliseconds(100), self->state.options.heartbeat_timeout / 3);
  self->delayed_send(self, tick_every, tick_atom::value);
  self->set_down_handler([=](caf::down_msg& down) {
    for (auto& [id, s] : self->state.servers)
      if (s.contributor.address() == down.source)
        mark_gone(self->state, id, "its contributor went down");
    requester_down(self, down.source); // a session that waited in a queue
  });
  return {
      [=](join_atom, node_offer& offer, contributor_actor& contributor) -> caf::result<bool> {
        auto& st = self->state;
        if (!same_token(offer.join_token, st.options.join_token)) {
          st.log->warn("refused node {} from {}: wrong join token", offer.node_id, offer.address);
          return make_llamps_error("join refused: wrong join token");
        }
        if (offer.node_id.empty())
          return make_llamps_error("join refused: empty node id");
        auto& entry = st.servers[offer.node_id];
        entry.offer = offer;
        entry.offer.join_token.clear(); // never echo the secret in server lists
        entry.contributor = contributor;
        entry.last_seen = clock_type::now();
        entry.healthy = true;
        self->monitor(contributor);
        st.log->info("node {} joined from {} ({:.1f} GB, {} cores)", offer.node_id, offer.address,
                     offer.memory_bytes / 1e9, offer.cores);
        learn_address(self, offer.node_id, contributor);
        return true;
      },
      [=](heartbeat_atom, node_offer& offer, std::vector<host_ref>& hosts) {
        auto& st = self->state;
        auto i = st.servers.find(offer.node_id);
        if (i == st.servers.end() || !same_token(offer.join_token, st.options.join_token))
          return; // unknown nodes must join first
        i->second.offer.memory_bytes = offer.memory_bytes;
        i->second.offer.total_memory_bytes = offer.total_memory_bytes; // the share may change (SIGHUP)
        i->second.offer.cores = offer.cores;                           // and the owner's work
        i->second.offer.tokens_per_s = offer.tokens_per_s;
        i->second.offer.starved = offer.starved;
        i->second.last_seen = clock_type::now();
        if (!i->second.healthy)
          st.peers_changed = true; // back after a pause: the others may have to link again
        i->second.healthy = true;
        take_report(st, offer.node_id, hosts);
        auto freed = models_with_fewer_sessions(i->second.hosts, hosts);
        i->second.hosts = std::move(hosts);
        for (auto& model : freed)
          pump(self, model);
      },
      [=](leave_atom, const std::string& node_id) {
        self->state.servers.erase(node_id);
        self->state.peers_changed = true;
        self->state.log->info("node {} left", node_id);
      },
      [=](servers_atom) {
        auto& st = self->state;
        std::vector<server_status> out;
        auto now = clock_type::now();
        for (auto& [id, s] : st.servers) {
          server_status row{s.offer,
                            s.healthy,
                            std::chrono::duration_cast<std::chrono::milliseconds>(now - s.last_seen).count(),
                            {}};
          if (!s.link_address.empty())
            row.offer.address = s.link_address; // where it is reached (0.0.0.0 made concrete)
          for (auto& h : s.hosts)
            row.hosting.push_back(h.range);
          out.push_back(std::move(row));
        }
        return out;
      },
      [=](contributor_atom, const std::string& node_id) -> caf::result<contributor_actor> {
        auto i = self->state.servers.find(node_id);
        if (i == self->state.servers.end() || !i->second.healthy)
          return make_llamps_error("node '" + node_id + "' is not an available server");
        return i->second.contributor;
      },
      [=](deployed_atom, deployment& d) -> caf::result<bool> {
        auto& st = self->state;
        auto existing = st.deployments.find(d.model);
        if (existing != st.deployments.end() && existing->second.deployment_id == d.deployment_id) {
          st.log->info("deployment {} updated: {} hosts", d.deployment_id, d.hosts.size());
          existing->second = std::move(d);      // a repair replaced a host
          st.rebuilding.erase(existing->first); // the deployer's record is authoritative again
          persist(st);
          pump(self, existing->first); // a new host may take the next in line
          return true;
        }
        if (existing != st.deployments.end())
          return make_llamps_error("model '" + d.model + "' is already deployed (deployment " +
                                   existing->second.deployment_id + "); undeploy it first");
        if (auto gone = st.undeployed.find(d.deployment_id); gone != st.undeployed.end()) {
          for (auto& h : d.hosts)
            if (gone->second.count(h.host.address()))
              return make_llamps_error("deployment " + d.deployment_id + " was undeployed");
          st.undeployed.erase(gone);
        }
        st.log->info("model {} deployed on {} hosts", d.model, d.hosts.size());
        st.deployments.emplace(d.model, std::move(d));
        persist(st);
        return true;
      },
      [=](undeploy_atom, const std::string& model) -> caf::result<deployment> {
        auto& st = self->state;
        auto i = st.deployments.find(model);
        if (i == st.deployments.end())
          return make_llamps_error(unknown_model(model));
        auto d = std::move(i->second);
        st.deployments.erase(i);
        auto& hosts = st.undeployed[d.deployment_id];
        for (auto& h : d.hosts)
          hosts.insert(h.host.address());
        st.rebuilding.erase(model);
        persist(st);
        fail_waiting(self, model, "model '" + model + "' was undeployed while the request waited");
        return d;
      },
      [=](deployments_atom) {
        std::vector<deployment> out;
        for (auto& [name, d] : self->state.deployments)
          out.push_back(d);
        return out;
      },
      [=](route_atom, const std::string& model, const std::vector<std::string>& avoid, int32_t max_wait_ms) {
        return request_route(self, model, avoid, max_wait_ms);
      },
      [=](queue_atom) { return queue_report(self->state); },
      [=](expire_atom, const std::string& model) { expire_waiting(self, model); },
      [=](failed_atom, const std::string& node_id) { check_reported_failure(self, node_id); },
      [=](sessions_atom) {
        std::vector<session_info> out;
        for (auto& [id, s] : self->state.sessions)
          out.push_back(s.info);
        return out;
      },
      [=](report_atom, session_info& info) {
        auto i = self->state.sessions.find(info.session);
        if (i != self->state.sessions.end())
          i->second.info.tokens = info.tokens;
      },
      [=](close_atom, uint64_t session) { close_session(self, session); },
      [=](tick_atom) {
        auto& st = self->state;
        auto now = clock_type::now();
        for (auto& [id, s] : st.servers)
          if (s.healthy && now - s.last_seen > st.options.heartbeat_timeout)
            mark_gone(st, id, "no heartbeat");
        if (st.peers_changed)
          send_peers(self);
        // Capacity can free without a word to the registry (a host's drop arriving after the
        // admission that needed it): the first in every line that waits is tried again.
        for (auto& [model, q] : st.queues)
          if (q.line.size() > 0)
            pump(self, model);
        self->delayed_send(self, tick_every, tick_atom::value);
      },
  };
}

} // namespace

registry_actor spawn_registry(caf::actor_system& sys, const registry_options& opts) {
  // Read before spawning, so that a corrupt state file stops the node with its reason.
  auto restored = opts.state_file.empty() ? std::vector<deployment>{} : load_deployments(opts.state_file);
  if (opts.own_thread)
    return sys.spawn<caf::detached>(registry, opts, std::move(restored));
  return sys.spawn(registry, opts, std::move(restored));
}

} // namespace llamps
