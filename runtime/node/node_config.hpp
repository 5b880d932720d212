#pragma once
// Configuration of a `llamps node`: an INI file read with Boost.Program_options, every key
// also accepted on the command line (the command line wins).
#include <cstdint>
#include <optional>
#include <string>

namespace llamps {

struct node_config {
  std::string config_file;   // --config FILE ("" = none); SIGHUP reads it again
  std::string role = "both"; // registry, contributor or both
  std::string listen = "127.0.0.1:4242";
  std::string registry;              // HOST:PORT of the registry (contributor role)
  std::string node_id;               // default: the listen address
  double share_memory_gb = 0;        // 0 = whatever the machine has free
  int share_cores = 0;               // 0 = all
  std::string cpu_priority = "idle"; // the block hosts' compute threads: idle, low or normal
  std::string model_dir;
  std::string cache_dir = "/tmp/llamps-cache";
  bool use_local_copies = true;
  std::string join_token;
  int heartbeat_ms = 1000;
  double session_idle_seconds = 600; // a block host frees a session idle this long
  double drain_seconds = 60;         // on SIGTERM or a smaller share, how long sessions in flight may take
  double cpu_drain_seconds = 30;     // the owner's work leaving no core this long moves the blocks away
  bool watch_owner_cpu = true;       // false: the machine's other work is not the owner's (co-located nodes)
  std::string state_file;            // registry: deployments survive a restart
  double queue_seconds = 30;         // registry: the longest a session waits for a place (HTTP too)
  int queue_length = 256;            // registry: sessions waiting per model at most
  std::string http;                  // HOST:PORT for the web page and API ("" = none)
  std::string api_key;
  std::string log_level = "info";
  std::string tls_ca, tls_cert, tls_key;
};

// Parses argv (and the --config file it names). Returns the config, or the exit code when
// the process should stop (0 after --help; 2 after a bad option or value, already printed).
struct node_config_result {
  node_config config;
  std::optional<int> exit_code;
};
node_config_result parse_node_config(int argc, char** argv);

} // namespace llamps
