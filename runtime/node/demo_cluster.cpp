#include "runtime/node/demo_cluster.hpp"

#include <algorithm>
#include <filesystem>
#include <thread>

namespace llamps {

demo_cluster::demo_cluster(const model_profile& model, int32_t sessions, const registry_options& registry)
    : system_(std::make_unique<caf::actor_system>(config_)) {
  auto& sys = *system_;
  registry_ = spawn_registry(sys, registry);
  // What one block needs: weights plus KV for `sessions` full contexts. Each server offers a
  // fraction of the model (so the plan needs all three), and at least a block and a bit.
  const double block_need = double(model.block_bytes + model.kv_bytes_per_token_per_block *
                                                           static_cast<uint64_t>(model.n_ctx) * sessions);
  struct share {
    const char* name;
    double fraction;
    int32_t cores;
    bool local_copy;
  };
  const share shares[] = {{"alpha", 0.48, 2, true}, {"beta", 0.45, 1, false}, {"gamma", 0.41, 1, true}};
  auto cache = (std::filesystem::temp_directory_path() / "llamps-demo-cache").string();
  for (auto& s : shares) {
    contributor_options opts;
    opts.node_id = s.name;
    opts.address = std::string("in-process/") + s.name;
    opts.share_memory_bytes = static_cast<uint64_t>(block_need * std::max(1.2, model.n_blocks * s.fraction));
    opts.share_cores = s.cores;
    opts.cache_dir = cache + "/" + s.name;
    opts.use_local_copies = s.local_copy;
    // Three "machines" in one process on one machine: no owner to yield to, and the steps
    // pass from host to host on one thread.
    opts.hosts_on_scheduler = true;
    contributors_.push_back(spawn_contributor(sys, opts, registry_));
  }
  planner_ = spawn_planner(sys, registry_);
  deployer_ = spawn_deployer(sys, registry_, planner_);
  client_ = std::make_unique<cluster_client>(sys, registry_, planner_, deployer_);
  // Contributors join asynchronously: wait until all three are listed.
  for (int i = 0; i < 200 && client_->servers().size() < contributors_.size(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

demo_cluster::~demo_cluster() {
  client_.reset();
  for (auto& c : contributors_)
    caf::anon_send_exit(c, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(deployer_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(planner_, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(registry_, caf::exit_reason::user_shutdown);
}

} // namespace llamps
