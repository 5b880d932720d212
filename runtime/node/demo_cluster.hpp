#pragma once
// A whole cluster inside one process — registry, three contributors with different leftover
// capacities, planner, deployer — for `llamps demo`, the examples and the tests. The actors
// are the same ones the multi-machine nodes run.
#include <memory>
#include <string>
#include <vector>

#include "actors/protocol/actors.hpp"
#include "runtime/node/cluster_client.hpp"
#include "runtime/node/system.hpp"

namespace llamps {

class demo_cluster {
public:
  // Sizes the three contributors' shares from the model so that no two of them can hold it:
  // the plan must spread it over all three. One of them has no local copy of the file and
  // pulls its blocks from the deployer, as a machine without the file would. `registry`: its
  // queue limits.
  explicit demo_cluster(const model_profile& model, int32_t sessions = 4,
                        const registry_options& registry = {});
  ~demo_cluster();

  cluster_client& client() { return *client_; }
  caf::actor_system& system() { return *system_; }
  registry_actor registry() const { return registry_; }

private:
  system_config config_;
  std::unique_ptr<caf::actor_system> system_;
  registry_actor registry_;
  std::vector<contributor_actor> contributors_;
  planner_actor planner_;
  deployer_actor deployer_;
  std::unique_ptr<cluster_client> client_;
};

} // namespace llamps
