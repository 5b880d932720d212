// gate: the one actor a node publishes on its port. A shell or a contributor connects to it
// and says hello with the cluster's join token; only then does it get the registry handle
// that planning, deploying, routing and joining need. A wrong token is logged and refused,
// so such a process never holds a handle to act on the cluster.
#include <openssl/crypto.h>

#include "actors/protocol/actors.hpp"
#include "actors/support/logging.hpp"

namespace llamps {

bool same_token(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace {

struct gate_state {
  const char* name = "gate";
  uint64_t refused = 0;
  std::shared_ptr<spdlog::logger> log = logger("gate");
};

gate_actor::behavior_type gate(gate_actor::stateful_pointer<gate_state> self, registry_actor registry,
                               std::string join_token, caf::actor owner) {
  // Exit with the node's registry or contributor: a gate left running would keep the actor
  // system from shutting down.
  if (owner)
    self->link_to(owner);
  return {
      [=](hello_atom, const std::string& token) -> caf::result<registry_actor> {
        auto sender = self->current_sender();
        auto from = sender ? caf::to_string(sender->node()) : std::string("an anonymous sender");
        if (!same_token(token, join_token)) {
          auto& st = self->state;
          st.log->warn("refused a hello from node {}: {} join token (refusal {})", from,
                       token.empty() ? "no" : "wrong", ++st.refused);
          return make_llamps_error(
              "the cluster refused this process: " +
              std::string(token.empty() ? "it needs the join token (--join-token)" : "wrong join token"));
        }
        self->state.log->debug("hello from node {}", from);
        return registry;
      },
  };
}

} // namespace

gate_actor spawn_gate(caf::actor_system& sys, registry_actor registry, std::string join_token,
                      caf::actor owner) {
  return sys.spawn(gate, std::move(registry), std::move(join_token), std::move(owner));
}

} // namespace llamps
