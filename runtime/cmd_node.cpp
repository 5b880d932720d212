// llamps node: one machine's part of a cluster. As a registry it keeps the list of available
// servers and deployments; as a contributor it offers this machine's leftover memory and
// cores and hosts the block ranges the deployer gives it. Runs until SIGINT or SIGTERM.
#include <csignal>
#include <cstdio>
#include <iostream>

#include "actors/actors.hpp"
#include "runtime/cluster_gate.hpp"
#include "runtime/commands.hpp"
#include "runtime/http_node.hpp"
#include "runtime/logging.hpp"
#include "runtime/node_config.hpp"
#include "runtime/system.hpp"

namespace llamps {

namespace {

int wait_for_signal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int received = 0;
  sigwait(&signals, &received);
  return received;
}

contributor_options contributor_options_of(const node_config& c) {
  contributor_options o;
  o.node_id = c.node_id;
  o.address = c.listen;
  o.share_memory_bytes = static_cast<uint64_t>(c.share_memory_gb * 1e9);
  o.share_cores = c.share_cores;
  o.model_dir = c.model_dir;
  o.cache_dir = c.cache_dir;
  o.use_local_copies = c.use_local_copies;
  o.join_token = c.join_token;
  o.heartbeat_interval = std::chrono::milliseconds(c.heartbeat_ms);
  o.session_idle_timeout = std::chrono::milliseconds(static_cast<int64_t>(c.session_idle_seconds * 1000));
  return o;
}

} // namespace

int cmd::node(int argc, char** argv) {
  auto parsed = parse_node_config(argc, argv);
  if (parsed.exit_code)
    return *parsed.exit_code;
  auto& c = parsed.config;
  set_log_level(c.log_level);
  // Block the signals before any thread starts, so that only sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  system_config cfg(tls_files{c.tls_ca, c.tls_cert, c.tls_key});
  caf::actor_system sys{cfg};
  auto [host, port] = split_address(c.listen);
  registry_actor registry;
  if (c.role != "contributor") {
    registry_options ro;
    ro.join_token = c.join_token;
    ro.heartbeat_timeout = std::chrono::milliseconds(3 * c.heartbeat_ms);
    ro.state_file = c.state_file;
    try {
      registry = spawn_registry(sys, ro);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "llamps node: error: %s\n", e.what());
      return 2;
    }
    port = publish_gate(sys, cfg, registry, c.join_token, host, port, // never the registry itself
                        caf::actor_cast<caf::actor>(registry));
    std::printf("llamps node %s: registry listening on %s:%u\n", c.node_id.c_str(), host.c_str(), port);
  } else {
    registry = connect_registry(sys, cfg, c.registry, c.join_token); // throws when refused
  }
  contributor_actor contributor;
  if (c.role != "registry") {
    auto opts = contributor_options_of(c);
    if (c.role == "contributor") // a registry that restarts is found again at its address
      opts.reconnect = [&sys, &cfg, address = c.registry, token = c.join_token] {
        return connect_registry(sys, cfg, address, token);
      };
    contributor = spawn_contributor(sys, opts, registry);
    if (c.role == "contributor") {
      // A gate, not the contributor: without the token nobody gets a handle to load blocks.
      port = publish_gate(sys, cfg, registry, c.join_token, host, port,
                          caf::actor_cast<caf::actor>(contributor));
      std::printf("llamps node %s: contributor listening on %s:%u, registry %s\n", c.node_id.c_str(),
                  host.c_str(), port, c.registry.c_str());
    } else {
      std::printf("llamps node %s: contributor joined the local registry\n", c.node_id.c_str());
    }
  }
  std::unique_ptr<node_http> web; // the web page and HTTP API (--http)
  if (!c.http.empty()) {
    web = std::make_unique<node_http>(sys, registry, c);
    std::printf("llamps node %s: web page and API on http://%s:%u/\n", c.node_id.c_str(),
                split_address(c.http).first.c_str(), web->port());
  }
  std::fflush(stdout);
  int sig = wait_for_signal();
  web.reset();
  std::printf("llamps node %s: %s, shutting down\n", c.node_id.c_str(), sig == SIGINT ? "SIGINT" : "SIGTERM");
  if (contributor && sig == SIGTERM) {
    // Leaving on purpose: drain first, so that the sessions in flight finish and the
    // deployer moves the blocks (SIGINT leaves at once).
    std::printf("llamps node %s: draining (at most %.0f s)\n", c.node_id.c_str(), c.drain_seconds);
    std::fflush(stdout);
    caf::scoped_actor self{sys};
    auto timeout = std::chrono::milliseconds(static_cast<int64_t>(c.drain_seconds * 1000) + 5000);
    self->request(contributor, timeout, leave_atom::value, c.drain_seconds)
        .receive([&](bool in_time) { std::printf("llamps node %s: drained%s\n", c.node_id.c_str(), in_time ? "" : " (time ran out)"); },
                 [&](caf::error& e) { std::printf("llamps node %s: drain failed: %s\n", c.node_id.c_str(), error_text(e).c_str()); });
  }
  if (contributor) {
    caf::anon_send(registry, leave_atom::value, c.node_id);
    caf::anon_send_exit(contributor, caf::exit_reason::user_shutdown);
  }
  if (registry && c.role != "contributor")
    caf::anon_send_exit(registry, caf::exit_reason::user_shutdown);
  exit_within(std::chrono::seconds(3), 0);
  return 0;
}

} // namespace llamps
