#pragma once
// Wiring the HTTP server into `llamps node` and `llamps demo`, so that their command files
// only add a line or two.
#include <memory>

#include "runtime/http/http_server.hpp"
#include "runtime/node/node_config.hpp"

namespace llamps {

// The web page and HTTP API of a node (`--http HOST:PORT`): a planner and a deployer in this
// process against the node's registry (local or remote), a cluster client, and the server.
// Serving starts in the constructor (which throws when it cannot bind) and stops in the
// destructor.
class node_http {
public:
  node_http(caf::actor_system& sys, registry_actor registry, const node_config& config);
  ~node_http();
  uint16_t port() const { return port_; }

private:
  planner_actor planner_;
  deployer_actor deployer_;
  std::unique_ptr<cluster_client> client_;
  std::unique_ptr<http_server> server_;
  uint16_t port_ = 0;
};

// The demo's options: its three in-process contributors, its model for the page to offer, and
// how long its requests wait in line.
http_options demo_http_options(const std::string& listen, const std::string& api_key,
                               const std::string& model_path, std::chrono::milliseconds queue_wait);

} // namespace llamps
