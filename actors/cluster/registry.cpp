// registry: the list of available servers and of what each hosts. Contributors join (with
// the cluster's join token), send heartbeats, and leave; a silent or vanished node is marked
// gone. The deployer records deployments here; sessions ask here for a route through the
// block hosts, and the registry admits each new session on every host of its route first.
#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <set>

#include <caf/io/all.hpp>

#include "actors/protocol/actors.hpp"
#include "actors/support/logging.hpp"
#include "actors/cluster/registry_state.hpp"

namespace llamps {

namespace {

using clock_type = std::chrono::steady_clock;

struct server_entry {
  node_offer offer;
  contributor_actor contributor;
  clock_type::time_point last_seen;
  bool healthy = true;
  std::vector<host_ref> hosts; // as last reported by the node
  // Where others link to it (actors/cluster/link_keeper.cpp); "" = they reach it through this
  // process, which every node is connected to.
  std::string link_address;
};

struct registry_state {
  const char* name = "registry";
  registry_options options;
  std::map<std::string, server_entry> servers;
  std::map<std::string, deployment> deployments; // by model name
  // Deployments restored from the state file: their hosts are rebuilt from what the nodes
  // report in their heartbeats, until a deployer publishes the deployment again.
  std::set<std::string> rebuilding;
  // Hosts of the deployments undeployed here, by id: a deployer that repairs one later (it
  // missed the undeploy, which another shell made) must not bring it back. Ids are only
  // unique per deployer, so a new deployment with the same id (no host in common) is fine.
  std::map<std::string, std::set<caf::actor_addr>> undeployed;
  std::map<uint64_t, session_info> sessions;
  std::mt19937_64 ids{std::random_device{}()};
  bool peers_changed = false; // a node joined, left or went: tell the contributors on the tick
  std::shared_ptr<spdlog::logger> log = logger("registry");
};

using registry_pointer = registry_actor::stateful_pointer<registry_state>;

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
          st.log->info("{}: blocks {}-{} of {} are draining", node_id, h.range.first, h.range.last - 1, model);
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

// A host is usable unless its node is known to be gone. Hosts of nodes that never joined
// (an application that embeds block hosts and records a deployment itself) count as live.
bool node_usable(const registry_state& st, const std::string& node_id) {
  auto i = st.servers.find(node_id);
  return i == st.servers.end() || i->second.healthy;
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
// (actors/cluster/link_keeper.cpp).
void send_peers(registry_pointer self) {
  auto& st = self->state;
  st.peers_changed = false;
  for (auto& [to, receiver] : st.servers) {
    if (!receiver.healthy)
      continue;
    std::map<std::string, std::string> peers; // those in other processes than the receiver
    for (auto& [id, s] : st.servers)
      if (s.healthy && id != to && s.contributor.node() != receiver.contributor.node())
        peers.emplace(id, s.link_address);
    self->send(receiver.contributor, peers_atom::value, peers);
  }
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
  if (contributor.node() == self->node() || colon == std::string::npos)
    return send_peers(self);
  if (host != "0.0.0.0" && host != "::" && !host.empty()) {
    entry.link_address = address;
    return send_peers(self);
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
            send_peers(self);
          },
          [=](caf::error&) { send_peers(self); });
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
  const double cores = s == st.servers.end() ? 0 : double(s->second.offer.cores);
  return cores / double(node_sessions(st, h.node_id) + 1);
}

// Picks one host per stage so that the stages cover [0, n_blocks): at each block, the live
// host whose range starts there with the most spare compute, then the fewest sessions.
std::optional<std::vector<host_ref>> pick_route(const registry_state& st, const deployment& d,
                                                const std::vector<std::string>& avoid,
                                                std::string& why) {
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

caf::result<session_route> route_for(registry_pointer self, const std::string& model,
                                     const std::vector<std::string>& avoid) {
  auto& st = self->state;
  auto d = st.deployments.find(model);
  if (d == st.deployments.end())
    return make_llamps_error("unknown model '" + model + "': it is not deployed");
  std::string why;
  auto hosts = pick_route(st, d->second, avoid, why);
  if (!hosts)
    return make_llamps_error(why);
  for (auto& h : *hosts)
    if (auto s = st.servers.find(h.node_id); s != st.servers.end())
      h.address = s->second.link_address; // the session links to each host's node
  session_route route{st.ids() >> 1, model, d->second.profile, *hosts};
  session_info info{route.session, model, 0, {}};
  for (auto& h : route.hosts)
    info.route.push_back(h.node_id);
  count_route_sessions(st, model, info.route, +1);
  st.sessions[route.session] = info;
  // Admit the session on every host before handing out the route: hosts refuse steps of
  // sessions they were not told about, and refuse admission when their KV budget is full.
  auto promise = self->make_response_promise<session_route>();
  auto pending = std::make_shared<size_t>(route.hosts.size());
  auto failed = std::make_shared<bool>(false);
  for (auto& h : route.hosts) {
    self->request(h.host, std::chrono::seconds(10), admit_atom::value, route.session)
        .then(
            [=](bool) mutable {
              if (--*pending == 0 && !*failed)
                promise.deliver(route);
            },
            [=](caf::error& e) mutable {
              if (!*failed) {
                *failed = true;
                for (auto& other : route.hosts)
                  self->send(other.host, drop_atom::value, route.session);
                promise.deliver(make_llamps_error(h.node_id + ": " + error_text(e)));
              }
            });
  }
  return promise;
}

registry_actor::behavior_type registry(registry_pointer self, registry_options options,
                                       std::vector<deployment> restored) {
  self->state.options = std::move(options);
  for (auto& d : restored) {
    self->state.log->info("restored deployment {} of {}; waiting for its hosts to report", d.deployment_id, d.model);
    self->state.rebuilding.insert(d.model);
    self->state.deployments.emplace(d.model, std::move(d));
  }
  auto tick_every = std::max(std::chrono::milliseconds(100), self->state.options.heartbeat_timeout / 3);
  self->delayed_send(self, tick_every, tick_atom::value);
  self->set_down_handler([=](caf::down_msg& down) {
    for (auto& [id, s] : self->state.servers)
      if (s.contributor.address() == down.source)
        mark_gone(self->state, id, "its contributor went down");
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
      i->second.offer.cores = offer.cores;
      i->second.last_seen = clock_type::now();
      if (!i->second.healthy)
        st.peers_changed = true; // back after a pause: the others may have to link again
      i->second.healthy = true;
      take_report(st, offer.node_id, hosts);
      i->second.hosts = std::move(hosts);
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
        server_status row{s.offer, s.healthy,
                          std::chrono::duration_cast<std::chrono::milliseconds>(now - s.last_seen).count(), {}};
        if (!s.link_address.empty())
          row.offer.address = s.link_address; // where it is reached (0.0.0.0 made concrete)
        for (auto& h : s.hosts)
          row.hosting.push_back(h.range);
        out.push_back(std::move(row));
      }
      return out;
    },
    [=](join_atom, const std::string& node_id) -> caf::result<contributor_actor> {
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
        existing->second = std::move(d); // a repair replaced a host
        st.rebuilding.erase(existing->first); // the deployer's record is authoritative again
        persist(st);
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
        return make_llamps_error("unknown model '" + model + "': it is not deployed");
      auto d = std::move(i->second);
      st.deployments.erase(i);
      auto& hosts = st.undeployed[d.deployment_id];
      for (auto& h : d.hosts)
        hosts.insert(h.host.address());
      st.rebuilding.erase(model);
      persist(st);
      return d;
    },
    [=](deployments_atom) {
      std::vector<deployment> out;
      for (auto& [name, d] : self->state.deployments)
        out.push_back(d);
      return out;
    },
    [=](route_atom, const std::string& model, const std::vector<std::string>& avoid) {
      return route_for(self, model, avoid);
    },
    [=](failed_atom, const std::string& node_id) { check_reported_failure(self, node_id); },
    [=](sessions_atom) {
      std::vector<session_info> out;
      for (auto& [id, s] : self->state.sessions)
        out.push_back(s);
      return out;
    },
    [=](sessions_atom, session_info& info) {
      auto i = self->state.sessions.find(info.session);
      if (i != self->state.sessions.end())
        i->second.tokens = info.tokens;
    },
    [=](close_atom, uint64_t session) {
      auto& st = self->state;
      auto i = st.sessions.find(session);
      if (i == st.sessions.end())
        return;
      count_route_sessions(st, i->second.model, i->second.route, -1);
      st.sessions.erase(i);
    },
    [=](tick_atom) {
      auto& st = self->state;
      auto now = clock_type::now();
      for (auto& [id, s] : st.servers)
        if (s.healthy && now - s.last_seen > st.options.heartbeat_timeout)
          mark_gone(st, id, "no heartbeat");
      if (st.peers_changed)
        send_peers(self);
      self->delayed_send(self, tick_every, tick_atom::value);
    },
  };
}

} // namespace

registry_actor spawn_registry(caf::actor_system& sys, const registry_options& opts) {
  // Read before spawning, so that a corrupt state file stops the node with its reason.
  auto restored = opts.state_file.empty() ? std::vector<deployment>{} : load_deployments(opts.state_file);
  return sys.spawn(registry, opts, std::move(restored));
}

} // namespace llamps
