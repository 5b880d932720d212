#include "runtime/node/node_config.hpp"

#include <fstream>
#include <iostream>

#include <boost/program_options.hpp>

#include "actors/support/cpu_share.hpp"
#include "runtime/node/system.hpp"

namespace llamps {

namespace po = boost::program_options;

namespace {

po::options_description node_options(node_config& c) {
  po::options_description o("node options (each also a key of the --config INI file)");
  o.add_options()("role", po::value(&c.role)->default_value(c.role), "registry, contributor or both")(
      "listen", po::value(&c.listen)->default_value(c.listen), "HOST:PORT this node listens on")(
      "registry", po::value(&c.registry), "HOST:PORT of the registry (for role contributor)")(
      "node-id", po::value(&c.node_id), "unique node name (default: the listen address)")(
      "share-memory-gb", po::value(&c.share_memory_gb)->default_value(0, "0"),
      "most memory to offer, GB (0 = all free memory)")(
      "share-cores", po::value(&c.share_cores)->default_value(0),
      "most cores to offer (0 = all); the compute threads are pinned to that many CPUs")(
      "cpu-priority", po::value(&c.cpu_priority)->default_value(c.cpu_priority),
      "the block hosts' compute threads: idle (SCHED_IDLE: only cores the machine's own work leaves free), "
      "low (nice 10) or normal")(
      "model-dir", po::value(&c.model_dir),
      "directory of local GGUF copies, used when a deployed model's identity matches")(
      "cache-dir", po::value(&c.cache_dir)->default_value(c.cache_dir),
      "where blocks pulled from a deployer are stored")(
      "use-local-copies", po::value(&c.use_local_copies)->default_value(true),
      "load from local copies when they match (false: always pull)")(
      "join-token", po::value(&c.join_token),
      "shared cluster secret; nodes and shells without it are refused")(
      "heartbeat-ms", po::value(&c.heartbeat_ms)->default_value(c.heartbeat_ms),
      "heartbeat interval; a node silent for 3 intervals is marked gone")(
      "session-idle-seconds",
      po::value(&c.session_idle_seconds)->default_value(c.session_idle_seconds, "600"),
      "a block host frees the caches of a session idle this long")(
      "drain-seconds", po::value(&c.drain_seconds)->default_value(c.drain_seconds, "60"),
      "when the node drains (SIGTERM, or a share that no longer holds its blocks), how long the sessions in "
      "flight may take before the blocks are released")(
      "cpu-drain-seconds", po::value(&c.cpu_drain_seconds)->default_value(c.cpu_drain_seconds, "30"),
      "when the machine's own work leaves this node no core for this long, its blocks are moved to other "
      "servers (a host no other server can take keeps serving at its low priority); 0 = never")(
      "watch-owner-cpu", po::value(&c.watch_owner_cpu)->default_value(true),
      "measure the machine's own CPU demand and yield cores to it (false: for nodes that share one machine "
      "while standing for separate ones, which would take each other's compute for an owner's)")(
      "state-file", po::value(&c.state_file), "registry: file that keeps the deployments across a restart")(
      "queue-seconds", po::value(&c.queue_seconds)->default_value(c.queue_seconds, "30"),
      "registry: a new session whose model's hosts are all full waits in the model's queue this long at "
      "most, then is refused (HTTP 429); 0 = refuse at once. Also how long this node's HTTP requests wait")(
      "queue-length", po::value(&c.queue_length)->default_value(c.queue_length),
      "registry: sessions that may wait in one model's queue (the one being admitted included); more are "
      "refused at once (HTTP 429)")("http", po::value(&c.http),
                                    "serve the web page and HTTP API on HOST:PORT")(
      "api-key", po::value(&c.api_key), "require 'Authorization: Bearer KEY' on the HTTP API")(
      "log-level", po::value(&c.log_level)->default_value(c.log_level),
      "trace, debug, info, warn, error, off")("tls-ca", po::value(&c.tls_ca),
                                              "cluster CA certificate (enables TLS between nodes)")(
      "tls-cert", po::value(&c.tls_cert), "this node's certificate, signed by the cluster CA")(
      "tls-key", po::value(&c.tls_key), "this node's private key");
  return o;
}

// Checks what Program_options cannot: value ranges and combinations.
void validate(const node_config& c) {
  if (c.role != "registry" && c.role != "contributor" && c.role != "both")
    throw po::error("role must be registry, contributor or both, not '" + c.role + "'");
  split_address(c.listen);
  if (c.role == "contributor" && c.registry.empty())
    throw po::error("role contributor needs --registry HOST:PORT");
  if (!c.registry.empty())
    split_address(c.registry);
  if (!(c.share_memory_gb >= 0 && c.share_memory_gb <= 1e6)) // NaN too
    throw po::error("share-memory-gb must be between 0 and 1000000");
  if (c.share_cores < 0 || c.share_cores > 4096)
    throw po::error("share-cores must be between 0 and 4096");
  try {
    parse_cpu_priority(c.cpu_priority);
  } catch (const std::invalid_argument& e) {
    throw po::error(e.what());
  }
  if (c.heartbeat_ms < 10 || c.heartbeat_ms > 600000)
    throw po::error("heartbeat-ms must be between 10 and 600000");
  if (!(c.session_idle_seconds >= 0.1 && c.session_idle_seconds <= 86400))
    throw po::error("session-idle-seconds must be between 0.1 and 86400");
  if (!(c.drain_seconds >= 0 && c.drain_seconds <= 86400))
    throw po::error("drain-seconds must be between 0 and 86400");
  if (!(c.cpu_drain_seconds >= 0 && c.cpu_drain_seconds <= 86400))
    throw po::error("cpu-drain-seconds must be between 0 and 86400");
  if (!(c.queue_seconds >= 0 && c.queue_seconds <= 86400))
    throw po::error("queue-seconds must be between 0 and 86400");
  if (c.queue_length < 1 || c.queue_length > 1000000)
    throw po::error("queue-length must be between 1 and 1000000");
  bool any_tls = !c.tls_ca.empty() || !c.tls_cert.empty() || !c.tls_key.empty();
  if (any_tls && (c.tls_ca.empty() || c.tls_cert.empty() || c.tls_key.empty()))
    throw po::error("TLS needs all three of tls-ca, tls-cert and tls-key");
}

} // namespace

node_config_result parse_node_config(int argc, char** argv) {
  node_config_result out;
  auto& c = out.config;
  po::options_description general("general");
  general.add_options()("help,h", "show this help")(
      "config", po::value(&c.config_file),
      "INI file with the options below; on SIGHUP the node reads it again and applies its "
      "share-memory-gb, share-cores and drain-seconds (hosts that no longer fit are drained: "
      "their blocks move to other servers, then are released)");
  auto options = node_options(c);
  po::options_description all;
  all.add(general).add(options);
  const char* usage = "usage: llamps node [--config FILE] [options]\n";
  const char* signals = "Runs until SIGINT (leaves at once) or SIGTERM (drains, then leaves); SIGHUP\n"
                        "re-reads the --config file and applies its share limits.\n";
  try {
    po::variables_map vars;
    po::store(po::parse_command_line(argc, argv, all), vars);
    if (vars.count("help")) {
      std::cout << usage << signals << "\n" << all << "\n";
      out.exit_code = 0;
      return out;
    }
    if (vars.count("config")) {
      auto path = vars["config"].as<std::string>();
      std::ifstream in(path);
      if (!in)
        throw po::error("cannot read config file '" + path + "'");
      try {
        po::store(po::parse_config_file(in, options, false), vars);
      } catch (const po::error& e) {
        throw po::error(path + ": " + e.what());
      }
    }
    po::notify(vars);
    if (c.node_id.empty())
      c.node_id = c.listen;
    validate(c);
  } catch (const po::error& e) {
    std::cerr << "llamps node: error: " << e.what() << "\n" << usage << "(--help for all options)\n";
    out.exit_code = 2;
  } catch (const std::invalid_argument& e) {
    std::cerr << "llamps node: error: " << e.what() << "\n";
    out.exit_code = 2;
  }
  return out;
}

} // namespace llamps
