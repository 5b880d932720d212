// The contributor: one per machine that shares its leftover capacity. It offers what it can
// spare (capped by the admin's share limits) to the registry, keeps it informed with
// heartbeats, and spawns or stops block hosts when the deployer says so.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "actors/protocol/actors.hpp"
#include "actors/server/contributor_state.hpp"
#include "actors/support/logging.hpp"
#include "actors/support/units.hpp"
#include "model/quant/thread_team.hpp"

namespace llamps {

namespace contributor_detail {

// Tells the registry what this node offers now and what it hosts (so a restarted registry
// can rebuild its deployments from the reports).
void send_heartbeat(contributor_pointer self) {
  if (self->state.joined)
    self->send(self->state.registry, heartbeat_atom::value, self->state.offer(), self->state.host_refs());
}

// Tokens per second one session gets through one block here, from how much the hosts' steps
// and forward time grew since the last reading: steps times blocks over the time. Unchanged
// when no host ran a step (an idle node's speed is what it was).
void measure_block_rate(contributor_state& st) {
  double block_steps = 0, seconds = 0;
  for (auto& [id, list] : st.hosts)
    for (auto& h : list) {
      if (!h.ready || h.range.steps < h.steps_measured)
        continue;
      block_steps += double(h.range.steps - h.steps_measured) * double(h.range.last - h.range.first);
      seconds += (h.range.latency_sum_us - h.forward_us_measured) / 1e6;
      h.steps_measured = h.range.steps;
      h.forward_us_measured = h.range.latency_sum_us;
    }
  if (block_steps > 0 && seconds > 0)
    st.block_tokens_per_s = block_steps / seconds;
}

// With the hosts' fresh figures: drain what no longer fits, tell the registry, release what
// is done draining.
void after_refresh(contributor_pointer self) {
  measure_block_rate(self->state);
  drain_to_fit(self);
  send_heartbeat(self);
  release_drained(self);
}

// Asks every ready host for its live figures (KV bytes, sessions, steps), then heartbeats:
// the server list and /metrics show what the hosts hold now, not what they held when they
// loaded. A host busy past half an interval keeps its last figures, so the heartbeat is never
// late enough for the registry to think the node gone.
void refresh_and_heartbeat(contributor_pointer self) {
  auto& st = self->state;
  std::vector<block_host_actor> ready;
  for (const auto& [id, list] : st.hosts)
    for (const auto& h : list)
      if (h.ready)
        ready.push_back(h.host);
  if (ready.empty())
    return after_refresh(self);
  auto pending = std::make_shared<size_t>(ready.size());
  auto done = [=] {
    if (--*pending == 0)
      after_refresh(self);
  };
  for (auto& host : ready)
    self->request(host, st.opts.heartbeat_interval / 2, status_atom::value)
        .then(
            [=](hosted_range& live) {
              for (auto& [id, list] : self->state.hosts)
                for (auto& h : list)
                  if (h.host == host && h.ready) {
                    live.draining = live.draining || h.range.draining;
                    h.range = live;
                  }
              done();
            },
            [=](caf::error&) { done(); });
}

} // namespace contributor_detail

namespace {

using namespace contributor_detail;

constexpr auto join_timeout = std::chrono::seconds(10);
// Loading a 70B range from a slow disk or over the network takes a while (an hour; CAF 0.17's
// durations stop at minutes).
constexpr auto load_timeout = std::chrono::minutes(60);

void try_join(contributor_pointer self) {
  auto& st = self->state;
  if (st.joined || st.join_pending)
    return;
  st.join_pending = true;
  self->request(st.registry, join_timeout, join_atom::value, st.offer(),
                caf::actor_cast<contributor_actor>(self))
      .then(
          [=](bool accepted) {
            self->state.join_pending = false;
            self->state.joined = accepted;
            self->state.last_join_error.clear();
            if (accepted)
              self->state.log->info("{} joined the registry offering {} and {} cores",
                                    self->state.opts.node_id, human_bytes(self->state.offer().memory_bytes),
                                    self->state.offer().cores);
            else
              self->state.log->error("the registry refused {} (wrong join token?); retrying",
                                     self->state.opts.node_id);
          },
          [=](caf::error& err) {
            auto& st = self->state;
            st.join_pending = false;
            // Said loudly once, then quietly on every retry until the reason changes.
            const std::string why = error_text(err);
            st.log->log(why == st.last_join_error ? spdlog::level::debug : spdlog::level::err,
                        "{} cannot join the registry: {}; retrying every {} ms", st.opts.node_id, why,
                        st.opts.heartbeat_interval.count());
            st.last_join_error = why;
          });
}

// Messages that steer the contributor itself come only from its own process.
bool from_own_node(contributor_pointer self) {
  auto sender = self->current_sender();
  return sender && sender->node() == self->node();
}

// Links this node to the contributors it links to (actors/cluster/link_keeper.cpp), on every tick: a
// live link costs the keeper nothing, and one that dropped is made again.
void link_peers(contributor_pointer self) {
  auto& st = self->state;
  for (auto& [node, address] : st.peers) {
    if (!st.linking.insert(node).second)
      continue;
    self->request(st.links, std::chrono::seconds(15), link_atom::value, node, address)
        .then([=, node = node](bool) { self->state.linking.erase(node); },
              [=, node = node](caf::error&) { self->state.linking.erase(node); });
  }
}

// Finds the registry again on a thread of its own (connecting blocks); the answer (a null
// handle when it failed) comes back as a join message.
void reconnect(contributor_pointer self) {
  auto& st = self->state;
  if (!st.registry_lost || st.reconnect_pending || !st.opts.reconnect)
    return;
  st.reconnect_pending = true;
  auto me = caf::actor_cast<contributor_actor>(self);
  self->spawn<caf::detached>([me, find = st.opts.reconnect](caf::event_based_actor* helper) {
    registry_actor found;
    try {
      found = find();
    } catch (const std::exception&) {
      // still down: the next tick tries again
    }
    helper->send(me, registry_atom::value, caf::actor_cast<caf::actor>(found));
    helper->quit();
  });
}

// Measures the owner's CPU demand since the last tick. When it leaves fewer cores than the
// node shares for two ticks in a row, the compute threads shrink to what is left (at least one:
// sessions in flight still finish, at the idle priority) and the heartbeat offers only that.
// When it leaves none, the node says it is starved (no new blocks or sessions come), and after
// cpu-drain-seconds of that its blocks are offered to other servers (drain_when_starved).
void watch_owner(contributor_pointer self) {
  auto& st = self->state;
  if (!st.opts.watch_owner_cpu)
    return;
  const cpu_times now = read_cpu_times();
  const int32_t before = st.cores_now();
  const double reading = owner_cores(st.cpu_at_last_tick, now);
  st.owner_busy_cores = std::min(reading, st.owner_reading);
  st.owner_reading = reading;
  st.cpu_at_last_tick = now;
  const bool starved = free_cores(st.machine_cores(), st.owner_busy_cores) == 0;
  if (starved && !st.starved_since)
    st.starved_since = clock_type::now();
  else if (!starved) {
    st.starved_since.reset();
    st.offered_while_starved = false;
  }
  drain_when_starved(self);
  const int32_t after = st.cores_now();
  if (after == before)
    return;
  quant::set_team_size(std::max(1, after));
  st.log->info("{}: the machine's own work takes {:.1f} cores: offering {} of {} shared cores",
               st.opts.node_id, st.owner_busy_cores, after,
               st.opts.share_cores > 0 ? st.opts.share_cores : int32_t(std::thread::hardware_concurrency()));
}

caf::result<host_ref> load(contributor_pointer self, load_order order, deployer_actor deployer) {
  auto& st = self->state;
  const std::string blocks =
      "blocks [" + std::to_string(order.first) + ", " + std::to_string(order.last) + ")";
  if (order.first < 0 || order.last <= order.first || order.last > order.model.n_blocks)
    return make_llamps_error("node " + st.opts.node_id + ": " + blocks + " are not blocks of " +
                             order.model.name);
  const uint64_t weights = order.model.block_bytes * uint64_t(order.last - order.first);
  const uint64_t needed = weights + order.kv_budget_bytes;
  const uint64_t left = st.offer().memory_bytes;
  if (left < needed)
    return make_llamps_error("node " + st.opts.node_id + " has only " + human_bytes(left) + " left but " +
                             blocks + " of " + order.model.name + " need " + human_bytes(needed));
  order.local_path =
      st.copies.find(order.model, st.opts.use_local_copies, st.opts.model_dir, st.opts.cache_dir);
  block_host_options host_opts;
  host_opts.node_id = st.opts.node_id;
  host_opts.compute_threads = st.opts.share_cores;
  host_opts.priority = st.opts.priority;
  host_opts.own_thread = !st.opts.hosts_on_scheduler;
  host_opts.owner = self->address();
  host_opts.session_idle_timeout = st.opts.session_idle_timeout;
  if (!st.opts.cache_dir.empty())
    host_opts.cache_dir = st.opts.cache_dir;
  auto host = spawn_block_host(self->system(), host_opts);
  self->monitor(host);
  hosted_blocks hosted;
  hosted.host = host;
  hosted.range.model = order.model.name;
  hosted.range.first = order.first;
  hosted.range.last = order.last;
  hosted.range.weight_bytes = weights;
  hosted.range.kv_budget_bytes = order.kv_budget_bytes;
  hosted.deployer = deployer; // asked to move the blocks before they are released
  self->monitor(deployer);    // so that a drain knows at once when its process is gone
  st.hosts[order.deployment_id].push_back(std::move(hosted));
  st.log->info("loading {} of {} for {} ({})", blocks, order.model.name, order.deployment_id,
               order.local_path.empty() ? "fetching from the deployer"
                                        : "from local copy " + order.local_path);
  auto promise = self->make_response_promise<host_ref>();
  const std::string deployment_id = order.deployment_id;
  self->request(host, load_timeout, load_atom::value, std::move(order), std::move(deployer))
      .then(
          [=](hosted_range& loaded) mutable {
            // The deployment may have been unloaded while its host was loading.
            hosted_blocks* mine = self->state.find(deployment_id, host);
            if (!mine) {
              promise.deliver(make_llamps_error("node " + self->state.opts.node_id + ": " + deployment_id +
                                                " was unloaded while loading"));
              return;
            }
            mine->range = loaded;
            mine->ready = true;
            self->state.log->info("{} of {} ready for {}", blocks, loaded.model, deployment_id);
            send_heartbeat(self);
            promise.deliver(host_ref{self->state.opts.node_id, loaded, host, {}});
          },
          [=](caf::error& err) mutable {
            // A host that failed to load holds nothing useful: stop it and free its share.
            self->state.forget(caf::actor_cast<caf::actor_addr>(host));
            self->send_exit(host, caf::exit_reason::kill);
            self->state.log->error("loading {} for {} failed: {}", blocks, deployment_id, error_text(err));
            promise.deliver(make_llamps_error("node " + self->state.opts.node_id + ": loading " + blocks +
                                              " failed: " + error_text(err)));
          });
  return promise;
}

contributor_actor::behavior_type contributor(contributor_pointer self, contributor_options opts,
                                             registry_actor registry) {
  self->state.opts = std::move(opts);
  self->state.registry = std::move(registry);
  self->monitor(self->state.registry);
  self->set_down_handler([=](caf::down_msg& down) {
    auto& st = self->state;
    if (down.source == caf::actor_cast<caf::actor_addr>(st.registry)) {
      st.log->error("lost the registry ({}); rejoining every {} ms", error_text(down.reason),
                    st.opts.heartbeat_interval.count());
      st.joined = false;
      st.registry_lost = true; // its hosts keep serving the sessions that have their routes
    } else if (st.forget(down.source)) {
      st.log->warn("a block host stopped ({}); its blocks are released", error_text(down.reason));
      send_heartbeat(self);
      finish_leave_when_empty(self);
    } else {
      forget_deployer(self, down.source);
    }
  });
  self->state.links = link_keeper_for(self->system());
  self->send(self->state.links, rank_atom::value, self->state.opts.node_id);
  self->send(self, tick_atom::value); // the first tick joins
  return {
      [=](load_atom, load_order& order, deployer_actor& deployer) -> caf::result<host_ref> {
        return load(self, std::move(order), std::move(deployer));
      },
      [=](unload_atom, const std::string& deployment_id) -> bool {
        auto found = self->state.hosts.find(deployment_id);
        if (found != self->state.hosts.end()) {
          for (auto& h : found->second) {
            self->demonitor(h.host.address());
            self->send_exit(h.host, caf::exit_reason::user_shutdown);
          }
          self->state.hosts.erase(found);
          self->state.log->info("unloaded {}", deployment_id);
          send_heartbeat(self);
          finish_leave_when_empty(self);
        }
        return true; // nothing of that deployment is hosted here any more
      },
      [=](status_atom) -> server_status {
        server_status s;
        s.offer = self->state.offer();
        s.hosting = self->state.hosting();
        return s;
      },
      [=](drain_atom, double seconds) -> caf::result<bool> {
        auto& st = self->state;
        if (!from_own_node(self))
          return make_llamps_error("only the node itself may drain its contributor");
        if (st.leaving)
          return make_llamps_error(st.opts.node_id + " is already draining");
        st.log->info("{} draining: no new sessions; moving its blocks, then releasing them once the "
                     "sessions in flight end (at most {} s)",
                     st.opts.node_id, seconds);
        st.leaving = true;
        st.leave_promise = self->make_response_promise<bool>();
        auto promise = st.leave_promise;
        for (auto& [id, list] : st.hosts)
          for (auto& h : list)
            if (!h.range.draining)
              drain(self, id, h, seconds_to_ms(seconds));
        if (st.joined)
          refresh_and_heartbeat(self); // the registry stops routing here at once
        else
          release_drained(self);
        return promise;
      },
      [=](share_atom, uint64_t memory_bytes, int32_t cores, double drain_seconds) {
        auto& st = self->state;
        if (!from_own_node(self)) {
          st.log->warn("refused share limits from another node");
          return;
        }
        st.drain_time = seconds_to_ms(drain_seconds);
        if (memory_bytes == st.opts.share_memory_bytes && cores == st.opts.share_cores)
          return;
        // New cores apply to hosts started from now on; the memory limit to the next ticks,
        // which drain hosts that no longer fit.
        st.opts.share_memory_bytes = memory_bytes;
        st.opts.share_cores = cores;
        st.log->info("{}: share limit now {} and {} cores; offering {}", st.opts.node_id,
                     share_limit_text(memory_bytes), st.offer().cores, human_bytes(st.offer().memory_bytes));
        send_heartbeat(self);
      },
      [=](registry_atom, caf::actor& found_untyped) {
        auto found = caf::actor_cast<registry_actor>(found_untyped);
        auto& st = self->state;
        if (!from_own_node(self))
          return;
        st.reconnect_pending = false;
        if (!found)
          return;
        st.log->info("found the registry again; rejoining");
        st.registry = std::move(found);
        st.registry_lost = false;
        self->monitor(st.registry);
        try_join(self);
      },
      [=](peers_atom, std::map<std::string, std::string>& peers) {
        auto& st = self->state;
        if (caf::actor_cast<caf::actor_addr>(self->current_sender()) != st.registry.address())
          return; // only the registry says who the peers are
        st.peers.clear();
        // Not itself, not those in the registry's process (no address: already connected) or in
        // its own (its address), and of each pair only the one that should_link says.
        for (auto& [node, address] : peers)
          if (node != st.opts.node_id && !address.empty() && address != st.opts.address &&
              should_link(st.opts.node_id, node))
            st.peers.emplace(node, address);
        link_peers(self);
      },
      [=](tick_atom) {
        auto& st = self->state;
        watch_owner(self);
        link_peers(self);
        if (st.joined)
          refresh_and_heartbeat(self);
        else if (st.registry_lost)
          reconnect(self);
        else
          try_join(self);
        check_movers(self);
        if (!st.joined)
          release_drained(self); // no registry routes sessions here meanwhile
        self->delayed_send(self, self->state.opts.heartbeat_interval, tick_atom::value);
      },
  };
}

} // namespace

contributor_actor spawn_contributor(caf::actor_system& sys, const contributor_options& opts,
                                    registry_actor registry) {
  contributor_options named = opts;
  if (named.node_id.empty()) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    auto port = named.address.rfind(':');
    named.node_id = std::string(host) + (port == std::string::npos ? "" : named.address.substr(port));
  }
  return sys.spawn(contributor, std::move(named), std::move(registry));
}

} // namespace llamps
