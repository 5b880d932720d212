// The stand-ins of llamps bench-registry: see simulated_cluster.hpp.
#include "runtime/bench/simulated_cluster.hpp"

#include <map>
#include <random>
#include <set>

namespace llamps::bench_registry {

namespace {

using clock_type = std::chrono::steady_clock;

struct contributor_state {
  std::set<uint64_t> sessions; // admitted and not dropped yet
};

caf::behavior simulated_contributor(caf::stateful_actor<contributor_state>* self, registry_actor registry,
                                    simulated_node node, std::chrono::milliseconds interval,
                                    std::shared_ptr<contributor_counters> counters) {
  auto as_contributor = caf::actor_cast<contributor_actor>(self);
  self->request(registry, std::chrono::minutes(10), join_atom::value, node.offer, as_contributor)
      .then(
          [=](bool) {
            ++counters->joined;
            std::minstd_rand rng{std::hash<std::string>{}(node.offer.node_id)};
            auto phase = std::chrono::milliseconds(rng() % std::max<int64_t>(1, interval.count()));
            self->delayed_send(self, phase, tick_atom::value);
          },
          [=](caf::error&) {
            ++counters->join_failures;
            self->quit();
          });
  return {
      [=](tick_atom) {
        std::vector<host_ref> hosts;
        if (node.range) {
          hosts.push_back(
              host_ref{node.offer.node_id, *node.range, caf::actor_cast<block_host_actor>(self), ""});
          hosts.back().range.sessions = static_cast<int32_t>(self->state.sessions.size());
        }
        self->send(registry, heartbeat_atom::value, node.offer, std::move(hosts));
        ++counters->heartbeats;
        self->delayed_send(self, interval, tick_atom::value);
      },
      [=](admit_atom, uint64_t session) {
        self->state.sessions.insert(session);
        ++counters->admissions;
        return true;
      },
      [=](drop_atom, uint64_t session) { self->state.sessions.erase(session); },
      [=](peers_atom, const std::map<std::string, std::string>&) {}, // nothing to link in one process
      [=](status_atom) {
        server_status s{node.offer, true, 0, {}};
        if (node.range)
          s.hosting.push_back(*node.range);
        return s;
      },
  };
}

} // namespace

caf::actor spawn_simulated_contributor(caf::actor_system& sys, registry_actor registry, simulated_node node,
                                       std::chrono::milliseconds interval,
                                       std::shared_ptr<contributor_counters> counters) {
  return sys.spawn(simulated_contributor, std::move(registry), std::move(node), interval,
                   std::move(counters));
}

void route_log::answered(double ms) {
  std::lock_guard<std::mutex> guard{mutex};
  latencies_ms.push_back(ms);
}

void route_log::failed(const std::string& why) {
  std::lock_guard<std::mutex> guard{mutex};
  if (failures++ == 0)
    first_failure = why;
}

void spawn_route_session(caf::actor_system& sys, registry_actor registry, const std::string& model,
                         std::shared_ptr<route_log> log) {
  ++log->in_flight;
  sys.spawn([=](caf::event_based_actor* self) -> caf::behavior {
    const auto t0 = clock_type::now();
    self->request(registry, std::chrono::seconds(60), route_atom::value, model, std::vector<std::string>{},
                  int32_t{10000})
        .then(
            [=](session_route& route) {
              log->answered(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
              self->send(registry, close_atom::value, route.session);
              --log->in_flight;
              self->quit();
            },
            [=](caf::error& e) {
              log->failed(error_text(e));
              --log->in_flight;
              self->quit();
            });
    return {[](tick_atom) {}}; // it only waits for its route
  });
}

} // namespace llamps::bench_registry
