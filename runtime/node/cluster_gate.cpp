#include "runtime/node/cluster_gate.hpp"

#include <chrono>
#include <stdexcept>

#include "actors/protocol/actors.hpp"
#include "actors/support/blocking_ask.hpp"

namespace llamps {

uint16_t publish_gate(caf::actor_system& sys, const system_config& cfg, registry_actor registry,
                      const std::string& join_token, const std::string& host, uint16_t port,
                      const caf::actor& owner) {
  auto gate = spawn_gate(sys, std::move(registry), join_token, owner);
  return publish_actor(sys, cfg, caf::actor_cast<caf::actor>(gate), host, port);
}

registry_actor connect_registry(caf::actor_system& sys, const system_config& cfg, const std::string& address,
                                const std::string& join_token) {
  auto gate = caf::actor_cast<gate_actor>(connect_actor(sys, cfg, address));
  registry_actor registry;
  try {
    registry =
        blocking_ask<registry_actor>(sys, gate, std::chrono::seconds(10), hello_atom::value, join_token);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(address + ": " + e.what());
  }
  if (!registry)
    throw std::runtime_error(address + ": the gate gave no registry");
  return registry;
}

} // namespace llamps
