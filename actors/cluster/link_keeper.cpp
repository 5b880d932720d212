// link_keeper: this process's direct network links to other nodes.
//
// Why not CAF's automatic connections: when two nodes learn of each other at the same moment
// (a deployment names every host to every other), both connect, and now and then CAF 0.17.6
// closes both connections and each side takes the live peer for unreachable (its proxies go
// down). Those connections also use a second, plain-TCP port, even under TLS. So every pair
// of nodes is linked once, by one side:
//   - a process without a contributor (shell, registry, HTTP front end) links to the nodes it
//     uses, which never link to it;
//   - of two contributors, the one whose node id sorts first links to the other (the registry
//     tells each contributor who the others are: actors/server/contributor.cpp).
// Until a link exists, CAF routes messages through the node that introduced the peer.
#include <chrono>
#include <map>
#include <set>
#include <vector>

#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "actors/protocol/actors.hpp"
#include "actors/support/logging.hpp"
#include "actors/support/units.hpp"

namespace llamps {

namespace {

constexpr auto connect_timeout = std::chrono::seconds(10);
// CAF's connection manager connects on one thread and blocks while it does: an address whose
// connect took this long or longer before it failed (packets dropped, not refused) ...
constexpr auto slow_failure = std::chrono::seconds(1);
// ... is not tried again for this long, so that an unreachable node does not hold up the links
// to all the others. A refused connect (a node not listening yet) is tried again at once.
constexpr auto retry_after = std::chrono::seconds(10);

using clock_type = std::chrono::steady_clock;

struct link_keeper_state {
  const char* name = "link_keeper";
  std::string rank; // node id of the contributor this process runs; "" = none
  // Live links by address: the actor CAF connected to there (the node's gate), monitored, so
  // that a link that drops is made again when next asked for.
  std::map<std::string, caf::actor_addr> linked;
  std::map<std::string, std::vector<caf::typed_response_promise<bool>>> pending; // by address
  std::map<std::string, std::pair<clock_type::time_point, std::string>> failed;  // when, why
  std::shared_ptr<spdlog::logger> log = logger("links");
};

using link_keeper_pointer = link_keeper_actor::stateful_pointer<link_keeper_state>;

// CAF's connection manager: the TLS one when the node uses TLS.
caf::io::middleman_actor network_of(caf::actor_system& sys) {
  return sys.has_openssl_manager() ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
}

// Answers everyone waiting for the link to `address`.
void settle(link_keeper_pointer self, const std::string& address, const caf::error& err) {
  auto waiting = std::move(self->state.pending[address]);
  self->state.pending.erase(address);
  for (auto& promise : waiting) {
    if (err)
      promise.deliver(err);
    else
      promise.deliver(true);
  }
}

void open_link(link_keeper_pointer self, const std::string& node_id, const std::string& address,
               const std::pair<std::string, uint16_t>& where) {
  const auto started = clock_type::now();
  self->request(network_of(self->system()), connect_timeout, caf::connect_atom::value, where.first,
                where.second)
      .then(
          [=](const caf::node_id& node, const caf::strong_actor_ptr& gate, const std::set<std::string>&) {
            auto& st = self->state;
            // Another process on that address, or this one (0.0.0.0 or 127.0.0.1 from afar).
            if (node == self->node() || !gate) {
              auto why =
                  "cannot link to " + node_id + " at " + address + ": that address leads to this process";
              st.failed[address] = {clock_type::now(), why};
              return settle(self, address, make_llamps_error(why));
            }
            st.failed.erase(address);
            st.linked[address] = gate->address();
            self->monitor(gate);
            settle(self, address, {});
          },
          [=](caf::error& e) {
            auto why = "cannot link to " + node_id + " at " + address + ": " + error_text(e);
            self->state.log->warn("{}", why);
            if (clock_type::now() - started >= slow_failure)
              self->state.failed[address] = {clock_type::now(), why};
            settle(self, address, make_llamps_error(why));
          });
}

link_keeper_actor::behavior_type link_keeper(link_keeper_pointer self) {
  self->set_down_handler([=](caf::down_msg& down) {
    auto& linked = self->state.linked;
    for (auto i = linked.begin(); i != linked.end(); ++i)
      if (i->second == down.source) {
        linked.erase(i);
        return;
      }
  });
  return {
      [=](link_atom, const std::string& node_id, const std::string& address) -> caf::result<bool> {
        auto& st = self->state;
        if (address.empty() || !should_link(st.rank, node_id) || !self->system().has_middleman() ||
            st.linked.count(address))
          return true;
        if (auto f = st.failed.find(address);
            f != st.failed.end() && clock_type::now() - f->second.first < retry_after)
          return make_llamps_error(f->second.second);
        std::pair<std::string, uint16_t> where;
        try {
          where = split_address(address);
        } catch (const std::exception& e) {
          return make_llamps_error("cannot link to " + node_id + ": " + e.what());
        }
        auto promise = self->make_response_promise<bool>();
        auto& waiting = st.pending[address];
        waiting.push_back(promise);
        if (waiting.size() == 1)
          open_link(self, node_id, address, where);
        return promise;
      },
      [=](rank_atom, const std::string& node_id) {
        auto& st = self->state;
        if (st.rank.empty())
          st.rank = node_id; // a process with several (the demo) links by its first
      },
  };
}

} // namespace

bool should_link(const std::string& my_rank, const std::string& peer_node_id) {
  return my_rank.empty() || my_rank < peer_node_id;
}

link_keeper_actor link_keeper_for(caf::actor_system& sys) {
  // One keeper per actor system; those who use it hold it alive (the contributor, for its
  // whole life, so its rank stays).
  return process_local<link_keeper_actor>(sys, 0, [&] { return sys.spawn(link_keeper); });
}

} // namespace llamps
