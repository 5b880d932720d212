#include "runtime/node/cluster_gate.hpp"

#include <chrono>
#include <stdexcept>

#include "actors/protocol/actors.hpp"

namespace llamps {

uint16_t publish_gate(caf::actor_system& sys, const system_config& cfg, registry_actor registry,
                      const std::string& join_token, const std::string& host, uint16_t port,
                      const caf::actor& owner) {
  auto gate = spawn_gate(sys, std::move(registry), join_token, owner);
  return publish_actor(sys, cfg, caf::actor_cast<caf::actor>(gate), host, port);
}

registry_actor connect_registry(caf::actor_system& sys, const system_config& cfg,
                                const std::string& address, const std::string& join_token) {
  auto gate = caf::actor_cast<gate_actor>(connect_actor(sys, cfg, address));
  registry_actor registry;
  std::string problem;
  caf::scoped_actor self{sys};
  self->request(gate, std::chrono::seconds(10), hello_atom::value, join_token)
      .receive([&](registry_actor& r) { registry = std::move(r); },
               [&](caf::error& e) { problem = error_text(e); });
  if (!registry)
    throw std::runtime_error(address + ": " + (problem.empty() ? "the gate gave no registry" : problem));
  return registry;
}

} // namespace llamps
