#pragma once
// The actor system every llamps process runs: the protocol's types registered, the
// middleman (CAF's network layer) loaded, optionally with TLS.
#include <chrono>
#include <string>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/support/units.hpp"

namespace llamps {

struct tls_files {
  std::string ca_file;     // cluster CA certificate
  std::string certificate; // this node's certificate, signed by the cluster CA
  std::string key;         // this node's private key
  bool enabled() const { return !ca_file.empty(); }
};

class system_config : public caf::actor_system_config {
public:
  explicit system_config(const tls_files& tls = {});
  const tls_files& tls() const { return tls_; }

private:
  tls_files tls_;
};

// True when libcaf_openssl's SSL calls go through runtime/node/openssl_error_queue.cpp, which
// keeps one peer's failed handshake from closing the node's other TLS connections.
bool openssl_error_queue_guarded();

// Publishes `handle` on port (0 = any); returns the bound port. Uses TLS when configured.
uint16_t publish_actor(caf::actor_system& sys, const system_config& cfg, const caf::actor& handle,
                       const std::string& host, uint16_t port);
// Connects to the actor published at host:port; throws std::runtime_error naming the
// address and the reason when it cannot.
caf::actor connect_actor(caf::actor_system& sys, const system_config& cfg, const std::string& address);

// Ends the process with `code` after `grace`, unless it has ended by then. CAF 0.17's
// actor_system destructor sometimes waits forever for a detached thread whose actor a
// remote proxy still references (while a peer is mid-shutdown or has been killed); a command
// that has said and done everything must not hang on it.
void exit_within(std::chrono::seconds grace, int code);

} // namespace llamps
