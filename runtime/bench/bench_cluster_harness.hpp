#pragma once
// bench-cluster's harness (runtime/bench/cmd_bench_cluster.cpp): the run's options and work
// directory, and loopback clusters of real processes (a registry and N contributors, this
// binary's `node`) with one model deployed, driven from this process as a shell drives one,
// and taken down again also on errors. Apart from the measures (bench_cluster_measures.hpp)
// so that those read as what they measure.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/protocol/actors.hpp"
#include "runtime/bench/process_group.hpp"
#include "runtime/node/cluster_client.hpp"
#include "runtime/node/system.hpp"

namespace llamps::bench_cluster_detail {

using clock_type = std::chrono::steady_clock;

struct options {
  std::string model;
  int nodes = 3;
  int sessions = 16;
  int tokens = 32;
  std::string prompt = "Once upon a time";
  int hop_hidden = 4096;
  std::string hop_model;
  int hop_steps = 40;
  int hop_gap_ms = 0; // idle time before each timed step (shows what idling costs a hop)
  int threads = 0;
  int node_cores = 0;
  std::string cpu_priority = "idle";
  double timeout = 900;
  std::string log_level = "warn";
  bool keep = false;
};

// The run's directory in /tmp: node logs, model links, caches. Removed when this goes away,
// unless kept (--keep) for reading the logs.
class work_dir {
public:
  explicit work_dir(bool keep);
  work_dir(const work_dir&) = delete;
  ~work_dir();
  const std::string& path() const { return path_; }

private:
  std::string path_;
  bool keep_;
};

// What every cluster of one run shares. One cluster runs at a time; `client` talks to it.
struct harness {
  caf::actor_system& sys;
  system_config& cfg;
  const std::string& work;
  const options& o;
  std::unique_ptr<cluster_client> client;
};

// A started cluster: registry + contributors, the model deployed.
struct cluster {
  std::unique_ptr<process_group> procs;
  std::vector<std::string> node_ids;
  std::string model_name;
  model_profile profile;
  planner_actor planner;
  deployer_actor deployer;

  // Unloads the model (so the deployer does not try to replace hosts that go away), stops
  // the client-side actors (the actor system waits for them at exit) and the processes.
  void stop(std::unique_ptr<cluster_client>& client);
};

// Starts a cluster named by `tag` (its processes' names) with the model at model_path,
// planned for plan_sessions concurrent sessions, runs `measure` on it and stops it after,
// also when starting or measuring throws.
using measure_fn = std::function<void(cluster_client& client, const cluster& c)>;
void with_cluster(harness& h, const std::string& tag, const std::string& model_path, int plan_sessions,
                  const measure_fn& measure);

// The wide model of the per-hop figure: --hop-model, or one generated (preset hop-N).
std::string hop_model_path(const harness& h);

} // namespace llamps::bench_cluster_detail
