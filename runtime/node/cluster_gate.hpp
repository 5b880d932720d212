#pragma once
// How processes find the registry: every node publishes only a gate (actors/cluster/gate.cpp), and a
// shell or a contributor connects to a gate and says hello with the join token to get the
// registry. Over TLS (system_config with tls_files) the connection itself first needs a
// certificate signed by the cluster CA.
#include <string>

#include "actors/protocol/protocol.hpp"
#include "runtime/node/system.hpp"

namespace llamps {

// Spawns a gate to `registry` and publishes it on host:port (0 = any); returns the port.
// The gate exits with `owner` (the node's registry or contributor).
uint16_t publish_gate(caf::actor_system& sys, const system_config& cfg, registry_actor registry,
                      const std::string& join_token, const std::string& host, uint16_t port,
                      const caf::actor& owner);

// Connects to the gate at `address` and asks it for the registry. Throws std::runtime_error
// naming the address and the reason when it is unreachable or refuses the token.
registry_actor connect_registry(caf::actor_system& sys, const system_config& cfg, const std::string& address,
                                const std::string& join_token);

} // namespace llamps
