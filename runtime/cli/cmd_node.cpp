// llamps node: one machine's part of a cluster. As a registry it keeps the list of available
// servers and deployments; as a contributor it offers this machine's leftover memory and
// cores and hosts the block ranges the deployer gives it. Runs until SIGINT or SIGTERM;
// SIGHUP re-reads the --config file and applies its share limits.
#include <csignal>
#include <cstdio>
#include <iostream>

#include "actors/protocol/actors.hpp"
#include "runtime/node/cluster_gate.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/http/http_node.hpp"
#include "actors/support/blocking_ask.hpp"
#include "actors/support/logging.hpp"
#include "runtime/node/node_config.hpp"
#include "runtime/node/system.hpp"

namespace llamps {

namespace {

// The signals the node acts on; blocked in every thread, so that only sigwait sees them.
sigset_t node_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  return signals;
}

int wait_for_signal() {
  sigset_t signals = node_signals();
  int received = 0;
  sigwait(&signals, &received);
  return received;
}

uint64_t share_memory_bytes(const node_config& c) { return static_cast<uint64_t>(c.share_memory_gb * 1e9); }

// Hands the contributor its share limits and drain time (at start, and after each reload).
// Sent from an actor of this process: the contributor takes them from its own node only.
void apply_share(caf::actor_system& sys, const contributor_actor& contributor, const node_config& c) {
  caf::scoped_actor self{sys};
  self->send(contributor, share_atom::value, share_memory_bytes(c), static_cast<int32_t>(c.share_cores),
             c.drain_seconds);
}

// SIGHUP: reads the --config file again (the command line still wins) and applies its share
// limits; a smaller share drains the hosts that no longer fit. Other keys need a restart.
void reload(int argc, char** argv, node_config& c, caf::actor_system& sys,
            const contributor_actor& contributor) {
  const char* id = c.node_id.c_str();
  if (c.config_file.empty()) {
    std::printf("llamps node %s: SIGHUP: nothing to reload (started without --config)\n", id);
    return;
  }
  auto again = parse_node_config(argc, argv); // prints what is wrong with the file
  if (again.exit_code) {
    std::printf("llamps node %s: SIGHUP: %s not reloaded; the share limits stay as they were\n", id,
                c.config_file.c_str());
    return;
  }
  c.share_memory_gb = again.config.share_memory_gb;
  c.share_cores = again.config.share_cores;
  c.drain_seconds = again.config.drain_seconds;
  std::printf("llamps node %s: SIGHUP: reloaded %s: share-memory-gb %g, share-cores %d, drain-seconds %g%s\n",
              id, c.config_file.c_str(), c.share_memory_gb, c.share_cores, c.drain_seconds,
              contributor ? "" : " (no contributor on this node: nothing to apply)");
  if (contributor)
    apply_share(sys, contributor, c);
}

contributor_options contributor_options_of(const node_config& c) {
  contributor_options o;
  o.node_id = c.node_id;
  o.address = c.listen;
  o.share_memory_bytes = share_memory_bytes(c);
  o.share_cores = c.share_cores;
  o.priority = parse_cpu_priority(c.cpu_priority);
  o.model_dir = c.model_dir;
  o.cache_dir = c.cache_dir;
  o.use_local_copies = c.use_local_copies;
  o.watch_owner_cpu = c.watch_owner_cpu;
  o.join_token = c.join_token;
  o.heartbeat_interval = std::chrono::milliseconds(c.heartbeat_ms);
  o.session_idle_timeout = std::chrono::milliseconds(static_cast<int64_t>(c.session_idle_seconds * 1000));
  o.cpu_drain_after = std::chrono::milliseconds(static_cast<int64_t>(c.cpu_drain_seconds * 1000));
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
  sigset_t signals = node_signals();
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
    ro.queue_length = static_cast<size_t>(c.queue_length);
    ro.queue_wait = std::chrono::milliseconds(static_cast<int64_t>(c.queue_seconds * 1000));
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
    apply_share(sys, contributor, c); // its drain time for hosts that stop fitting
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
  int sig;
  while ((sig = wait_for_signal()) == SIGHUP) {
    reload(argc, argv, c, sys, contributor);
    std::fflush(stdout);
  }
  web.reset();
  std::printf("llamps node %s: %s, shutting down\n", c.node_id.c_str(), sig == SIGINT ? "SIGINT" : "SIGTERM");
  if (contributor && sig == SIGTERM) {
    // Leaving on purpose: drain first, so that the sessions in flight finish and the
    // deployer moves the blocks (SIGINT leaves at once).
    std::printf("llamps node %s: draining (at most %.0f s)\n", c.node_id.c_str(), c.drain_seconds);
    std::fflush(stdout);
    caf::scoped_actor self{sys};
    auto timeout = std::chrono::milliseconds(static_cast<int64_t>(c.drain_seconds * 1000) + 5000);
    try {
      const bool in_time = blocking_ask<bool>(self, contributor, timeout, drain_atom::value, c.drain_seconds);
      std::printf("llamps node %s: drained%s\n", c.node_id.c_str(), in_time ? "" : " (time ran out)");
    } catch (const std::exception& e) {
      std::printf("llamps node %s: drain failed: %s\n", c.node_id.c_str(), e.what());
    }
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
