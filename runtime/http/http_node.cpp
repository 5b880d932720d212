#include "runtime/http/http_node.hpp"

namespace llamps {

namespace {

node_role_info role_of(const node_config& c) {
  node_role_info r;
  r.node_id = c.node_id.empty() ? c.listen : c.node_id;
  r.role = c.role;
  r.contributes = c.role != "registry";
  r.share_memory_bytes = static_cast<uint64_t>(c.share_memory_gb * 1e9);
  r.share_cores = c.share_cores;
  r.note = "Set when the node starts (llamps node --role, --share-memory-gb, --share-cores); "
           "restart the node to change it.";
  return r;
}

} // namespace

node_http::node_http(caf::actor_system& sys, registry_actor registry, const node_config& config) {
  planner_ = spawn_planner(sys, registry);
  deployer_ = spawn_deployer(sys, registry, planner_);
  client_ = std::make_unique<cluster_client>(sys, registry, planner_, deployer_);
  http_options opts;
  opts.listen = config.http;
  opts.api_key = config.api_key;
  opts.queue_wait = std::chrono::milliseconds(static_cast<int64_t>(config.queue_seconds * 1000));
  opts.node = role_of(config);
  server_ = std::make_unique<http_server>(*client_, opts);
  port_ = server_->start();
}

node_http::~node_http() {
  server_.reset(); // stops serving before the actors it uses go
  client_.reset();
  caf::anon_send_exit(deployer_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(planner_, caf::exit_reason::user_shutdown);
}

http_options demo_http_options(const std::string& listen, const std::string& api_key,
                               const std::string& model_path, std::chrono::milliseconds queue_wait) {
  http_options opts;
  opts.listen = listen;
  opts.api_key = api_key;
  opts.queue_wait = queue_wait;
  opts.node.node_id = "demo";
  opts.node.role = "demo";
  opts.node.contributes = true;
  opts.node.model_path = model_path;
  opts.node.note = "The demo runs a registry and three contributors (alpha, beta, gamma) in this "
                   "one process; their shares are fixed when it starts.";
  return opts;
}

} // namespace llamps
