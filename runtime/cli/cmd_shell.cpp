// llamps shell: the session shell against a running registry. The planner, the deployer and
// the sessions run in the shell's own process (so MODEL paths are paths on this machine);
// the registry and the block hosts are wherever the cluster runs.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <thread>

#include "actors/protocol/actors.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/node/cluster_gate.hpp"
#include "runtime/cli/commands.hpp"
#include "actors/support/logging.hpp"
#include "runtime/shell/shell.hpp"
#include "runtime/node/system.hpp"

namespace llamps {

int cmd::shell(int argc, char** argv) {
  namespace po = cli::po;
  std::string connect, log_level, join_token, tls_ca, tls_cert, tls_key;
  double queue_seconds = 30, step_timeout = 30;
  po::options_description options("llamps shell options");
  options.add_options()("connect", po::value(&connect)->default_value("127.0.0.1:4242"),
                        "HOST:PORT of the registry")("join-token", po::value(&join_token),
                                                     "the cluster's join token, if it has one")(
      "tls-ca", po::value(&tls_ca), "cluster CA certificate (TLS clusters)")(
      "tls-cert", po::value(&tls_cert), "this shell's certificate")("tls-key", po::value(&tls_key),
                                                                    "this shell's private key")(
      "queue-seconds",
      po::value(&queue_seconds)
          ->default_value(queue_seconds, "30")
          ->notifier(cli::between<double>("queue-seconds", 0, 86400)),
      "the longest generate, chat and load wait in line while a model is at capacity (the registry's "
      "queue-seconds may end the wait sooner)")(
      "step-timeout",
      po::value(&step_timeout)
          ->default_value(step_timeout, "30")
          ->notifier(cli::between<double>("step-timeout", 0.1, 86400)),
      "seconds a step through the chain may take before its session counts the route as broken and "
      "re-routes (a host that hangs without its connection dropping)")(
      "log-level", po::value(&log_level)->default_value("error"),
      "trace, debug, info, warn, error, off (errors reach you as answers anyway)");
  auto parsed = cli::parse(argc, argv, "llamps shell --connect HOST:PORT", options);
  if (parsed.exit_code)
    return *parsed.exit_code;
  set_log_level(log_level);
  session_options sessions;
  sessions.queue_wait = std::chrono::milliseconds(static_cast<int64_t>(queue_seconds * 1000));
  sessions.step_timeout = std::chrono::milliseconds(static_cast<int64_t>(step_timeout * 1000));
  system_config cfg(tls_files{tls_ca, tls_cert, tls_key});
  caf::actor_system sys{cfg};
  auto registry = connect_registry(sys, cfg, connect, join_token); // throws when refused
  auto planner = spawn_planner(sys, registry);
  auto deployer = spawn_deployer(sys, registry, planner);
  int code = 0;
  {
    cluster_client client(sys, registry, planner, deployer);
    llamps::shell sh(client, std::cout, std::cerr, sessions, isatty(STDOUT_FILENO) != 0);
    code = sh.run(isatty(STDIN_FILENO) && isatty(STDOUT_FILENO));
  }
  caf::anon_send_exit(deployer, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(planner, caf::exit_reason::user_shutdown);
  std::cout.flush();
  std::cerr.flush();
  exit_within(std::chrono::seconds(5), code);
  return code;
}

} // namespace llamps
