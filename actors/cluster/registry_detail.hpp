#pragma once
// Internal to the registry (actors/cluster/registry*.cpp): its state, and the admission of
// sessions (registry_admission.cpp), which the message handlers (registry.cpp) call.
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "actors/cluster/admission_queue.hpp"
#include "actors/protocol/actors.hpp"
#include "actors/support/logging.hpp"

namespace llamps::registry_detail {

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

// An admitted session: what the registry lists, the hosts to free it on when it closes, and
// who asked for it (monitored: a requester that goes away without closing, its process
// killed, frees its place too, instead of holding it until the hosts' idle timeout).
struct open_session {
  session_info info;
  std::vector<block_host_actor> hosts;
  caf::actor_addr requester;
};

// A route request waiting in its model's queue (the queue itself holds only its ticket).
struct waiting_route {
  caf::typed_response_promise<session_route> promise;
  std::vector<std::string> avoid;
  std::chrono::milliseconds wait{0}; // its deadline, after it arrived
  caf::strong_actor_ptr requester;   // monitored: when it goes, so does its place in line
  bool told = false;                 // the requester knows it waits (queued_atom)
};

struct model_queue {
  explicit model_queue(admission_queue::limits l) : line(l) {}
  admission_queue line;
  std::map<uint64_t, waiting_route> waiting; // by ticket (which becomes the session id)
  std::optional<uint64_t> admitting;         // the ticket whose admission is under way
  bool blocked = false; // the first in line found a host full: the line waits for capacity
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
  std::map<uint64_t, open_session> sessions;
  std::map<std::string, model_queue> queues; // by model name
  std::mt19937_64 ids{std::random_device{}()};
  bool peers_changed = false; // a node joined, left or went: tell the contributors on the tick
  std::shared_ptr<spdlog::logger> log = logger("registry");
};

using registry_pointer = registry_actor::stateful_pointer<registry_state>;

// A route request: it takes its place in the model's queue (the back), and is answered once
// the session is admitted on every host of its route, or refused. Unknown models and models
// no live host serves fail at once; so does a full queue.
caf::result<session_route> request_route(registry_pointer self, const std::string& model,
                                         const std::vector<std::string>& avoid, int32_t max_wait_ms);
// Tries to admit the first in the model's queue (and so on while that succeeds): whenever
// capacity may have freed (a session closed, a host reports fewer sessions, the tick).
void pump(registry_pointer self, const std::string& model);
// A session ended: it is freed on its hosts and its place goes to the next in line.
void close_session(registry_pointer self, uint64_t session);
// A monitored requester went away: it leaves the queue it waits in, and its sessions close.
void requester_down(registry_pointer self, const caf::actor_addr& who);
// Refuses the model's requests whose deadline passed, while its line waits for capacity.
void expire_waiting(registry_pointer self, const std::string& model);
// The model is gone (undeployed): every request waiting for it fails with `why`.
void fail_waiting(registry_pointer self, const std::string& model, const std::string& why);
std::vector<queue_status> queue_report(const registry_state& st);
std::string unknown_model(const std::string& model);

} // namespace llamps::registry_detail
