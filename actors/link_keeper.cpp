// link_keeper: this process's direct network links to other nodes.
//
// Why not CAF's automatic connections: when two nodes learned of each other at the same moment
// (a deployment names every host to every other), both connected, and CAF 0.17's handshake
// could keep a different connection at each end. A node then got messages on a connection it
// did not map to their sender: requests came with no sender to answer, and actor handles in
// them with no route, so the proxy of a live peer went down as unreachable. Those connections
// were plain TCP under TLS, too. So every pair of nodes is linked once, by one side:
//   - a process without a contributor (shell, registry, HTTP front end) links to the nodes it
//     uses, which never link to it;
//   - of two contributors, the one whose node id sorts first links to the other (the registry
//     tells each contributor who the others are: actors/contributor.cpp).
// Until a link exists, CAF routes messages through the node that introduced the peer.
#include <map>
#include <mutex>

#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "actors/actors.hpp"
#include "runtime/logging.hpp"
#include "runtime/system.hpp"

namespace llamps {

namespace {

constexpr auto connect_timeout = std::chrono::seconds(10);

struct link_keeper_state {
  const char* name = "link_keeper";
  std::string rank; // node id of the contributor this process runs; "" = none
  std::shared_ptr<spdlog::logger> log = logger("links");
};

using link_keeper_pointer = link_keeper_actor::stateful_pointer<link_keeper_state>;

// CAF's connection manager: the TLS one when the node uses TLS.
caf::io::middleman_actor network_of(caf::actor_system& sys) {
  return sys.has_openssl_manager() ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
}

link_keeper_actor::behavior_type link_keeper(link_keeper_pointer self) {
  return {
      [=](link_atom, const std::string& node_id, const std::string& address) -> caf::result<bool> {
        auto& st = self->state;
        if (address.empty() || !should_link(st.rank, node_id) || !self->system().has_middleman())
          return true;
        std::pair<std::string, uint16_t> where;
        try {
          where = split_address(address);
        } catch (const std::exception& e) {
          return make_llamps_error("cannot link to " + node_id + ": " + e.what());
        }
        auto promise = self->make_response_promise<bool>();
        // CAF keeps one connection per address: asking again for a live one answers at once.
        self->request(network_of(self->system()), connect_timeout, caf::connect_atom::value, where.first,
                      where.second)
            .then(
                [=](const caf::node_id&, const caf::strong_actor_ptr&, const std::set<std::string>&) mutable {
                  promise.deliver(true);
                },
                [=](caf::error& e) mutable {
                  auto why = "cannot link to " + node_id + " at " + address + ": " + error_text(e);
                  self->state.log->warn("{}", why);
                  promise.deliver(make_llamps_error(why));
                });
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
  // One keeper per actor system. The map only remembers addresses: those who use the keeper
  // hold it alive (the contributor, for its whole life, so its rank stays).
  static std::mutex mutex;
  static std::map<caf::actor_system*, caf::actor_addr> keepers;
  std::lock_guard<std::mutex> guard{mutex};
  auto& addr = keepers[&sys];
  if (auto existing = caf::actor_cast<link_keeper_actor>(addr))
    return existing;
  auto spawned = sys.spawn(link_keeper);
  addr = spawned.address();
  return spawned;
}

} // namespace llamps
