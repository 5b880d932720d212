#include "runtime/node/system.hpp"

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>

#include <caf/openssl/all.hpp>

#include "actors/protocol/protocol.hpp"
#include "runtime/node/certificates.hpp"

namespace llamps {

system_config::system_config(const tls_files& tls) : tls_(tls) {
  register_protocol(*this);
  load<caf::io::middleman>();
  // CAF reads these files only at the first connection and aborts the process from its
  // network thread when one is bad; check them now, and never fall back to plain TCP
  // because one of the three was left out.
  if (!tls_.ca_file.empty() || !tls_.certificate.empty() || !tls_.key.empty())
    check_tls_files(tls_.ca_file, tls_.certificate, tls_.key);
  if (tls_.enabled()) {
    if (!openssl_error_queue_guarded())
      throw std::runtime_error("TLS is unsafe in this build: CAF's OpenSSL calls bypass "
                               "runtime/node/openssl_error_queue.cpp");
    // With these set, CAF's OpenSSL module requires and verifies a certificate from the peer
    // on both sides of every connection (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT),
    // against this CA only. See docs/security.md.
    load<caf::openssl::manager>();
    set("openssl.cafile", tls_.ca_file);
    set("openssl.certificate", tls_.certificate);
    set("openssl.key", tls_.key);
  }
  // Nodes link to each other themselves, each pair once and by one side
  // (actors/cluster/link_keeper.cpp): CAF's automatic connections can link a pair both ways at once
  // and leave each end on a different connection, and they are plain TCP even under TLS.
  set("middleman.enable-automatic-connections", false);
  // Deserialise arriving messages on the network thread itself. CAF's default hands each one
  // to a worker job on the scheduler: one more thread wake-up per hop of every inference step,
  // for payloads (a hidden state) that are a single memcpy to decode.
  set("middleman.workers", size_t{0});
  set("work-stealing.moderate-poll-attempts", size_t{0});
  set("logger.verbosity", caf::atom("quiet"));
  set("logger.console", caf::atom("none"));
}

uint16_t publish_actor(caf::actor_system& sys, const system_config& cfg, const caf::actor& handle,
                       const std::string& host, uint16_t port) {
  auto bound = cfg.tls().enabled() ? caf::openssl::publish(handle, port, host.c_str(), true)
                                   : sys.middleman().publish(handle, port, host.c_str(), true);
  if (!bound)
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) + ": " +
                             error_text(bound.error()));
  return *bound;
}

caf::actor connect_actor(caf::actor_system& sys, const system_config& cfg, const std::string& address) {
  auto [host, port] = split_address(address);
  auto found = cfg.tls().enabled() ? caf::openssl::remote_actor(sys, host, port)
                                   : sys.middleman().remote_actor(host, port);
  if (!found)
    throw std::runtime_error("cannot reach " + address + ": " + error_text(found.error()));
  return *found;
}

void exit_within(std::chrono::seconds grace, int code) {
  std::fflush(stdout);
  std::fflush(stderr);
  std::thread([grace, code] {
    std::this_thread::sleep_for(grace);
    std::_Exit(code);
  }).detach();
}

} // namespace llamps
