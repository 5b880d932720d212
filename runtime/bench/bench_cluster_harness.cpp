#include "runtime/bench/bench_cluster_harness.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "actors/server/model_files.hpp"
#include "model/shapes/presets.hpp"
#include "runtime/bench/bench_cluster_report.hpp"
#include "runtime/node/cluster_gate.hpp"

namespace llamps::bench_cluster_detail {

namespace {

namespace fs = std::filesystem;

// Memory each contributor offers so that a plan needs all `nodes` of them: ceil(n/nodes)
// blocks with their KV budget, plus half a block of slack.
double share_gb(const model_profile& p, int nodes, int sessions) {
  const uint64_t kv = p.kv_bytes_per_token_per_block * uint64_t(p.n_ctx) * uint64_t(sessions);
  const uint64_t per_block = p.block_bytes + kv;
  const int k = (p.n_blocks + nodes - 1) / nodes;
  return double(per_block * uint64_t(k) + per_block / 2) / 1e9;
}

// A model directory holding only this model, so every node loads from the local copy.
std::string link_model(const std::string& work, const std::string& tag, const std::string& model_path) {
  const std::string model_dir = work + "/models-" + tag;
  fs::create_directories(model_dir);
  fs::create_symlink(fs::absolute(model_path), model_dir + "/" + fs::path(model_path).filename().string());
  return model_dir;
}

// Starts the registry process; returns the address it listens on.
std::string start_registry(process_group& procs, const std::string& tag, const options& o) {
  const uint16_t reg_port = free_port();
  const std::string reg = "127.0.0.1:" + std::to_string(reg_port);
  procs.start(tag + "-registry", {"node", "--role", "registry", "--listen", reg, "--heartbeat-ms", "1000",
                                  "--log-level", o.log_level});
  procs.wait_for(tag + "-registry", "registry listening", 30);
  return reg;
}

// Starts o.nodes contributors, each offering `share` GB, and waits until each listens.
void start_contributors(cluster& c, const harness& h, const std::string& tag, const std::string& reg,
                        const std::string& model_dir, const std::string& share) {
  const options& o = h.o;
  c.node_ids.clear();
  for (int i = 0; i < o.nodes; ++i) {
    std::string id = tag + "-c" + std::to_string(i);
    c.node_ids.push_back(id);
    c.procs->start(id,
                   {"node", "--role", "contributor", "--node-id", id, "--listen",
                    "127.0.0.1:" + std::to_string(free_port()), "--registry", reg, "--share-memory-gb", share,
                    "--share-cores", std::to_string(o.node_cores), "--cpu-priority", o.cpu_priority,
                    // Three "machines" on one: each would count the others' compute
                    // as its owner's and drop to one thread.
                    "--watch-owner-cpu", "false", "--model-dir", model_dir, "--cache-dir",
                    h.work + "/cache-" + id, "--heartbeat-ms", "1000", "--log-level", o.log_level});
  }
  for (auto& id : c.node_ids)
    c.procs->wait_for(id, "contributor listening", 30);
}

// This process as a shell: the planner and deployer it runs, and the client over them.
void connect(cluster& c, harness& h, const std::string& reg) {
  auto registry = connect_registry(h.sys, h.cfg, reg, "");
  c.planner = spawn_planner(h.sys, registry);
  c.deployer = spawn_deployer(h.sys, registry, c.planner);
  h.client = std::make_unique<cluster_client>(h.sys, registry, c.planner, c.deployer);
}

// Waits until the registry lists every contributor.
void wait_for_contributors(cluster_client& client, int nodes) {
  auto t0 = clock_type::now();
  for (;;) {
    size_t healthy = 0;
    for (auto& s : client.servers())
      healthy += s.healthy ? 1 : 0;
    if (healthy >= size_t(nodes))
      return;
    if (seconds_since(t0) > 30)
      throw_error("only " + std::to_string(healthy) + " of " + std::to_string(nodes) +
                  " contributors joined the registry within 30 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void deploy(const cluster& c, cluster_client& client, int plan_sessions, int nodes,
            const std::string& share) {
  plan_request req;
  req.model = c.profile;
  req.sessions = plan_sessions;
  print_cpu();
  print_deploying(c.profile, nodes, share);
  auto t1 = clock_type::now();
  auto status = client.deploy(req);
  if (status.state != "ready")
    throw_error("deploying " + c.model_name + ": " + status.state);
  print_deployed(seconds_since(t1), client, c.model_name);
}

void start_cluster(cluster& c, harness& h, const std::string& tag, const std::string& model_path,
                   int plan_sessions) {
  c.procs = std::make_unique<process_group>(h.work);
  c.profile = profile_of(model_path);
  c.model_name = c.profile.name;
  const std::string model_dir = link_model(h.work, tag, model_path);
  const std::string reg = start_registry(*c.procs, tag, h.o);
  char share[32];
  std::snprintf(share, sizeof share, "%.6f", share_gb(c.profile, h.o.nodes, plan_sessions));
  start_contributors(c, h, tag, reg, model_dir, share);
  connect(c, h, reg);
  wait_for_contributors(*h.client, h.o.nodes);
  deploy(c, *h.client, plan_sessions, h.o.nodes, share);
}

std::string make_hop_model(process_group& procs, const std::string& work, const options& o) {
  std::string preset = "hop-" + std::to_string(o.hop_hidden);
  find_preset(preset); // throws listing the presets when there is no such shape
  std::string out = work + "/" + preset + ".gguf";
  procs.start("make-model",
              {"make-model", "--preset", preset, "--blocks", std::to_string(o.nodes), "--out", out});
  procs.wait_for("make-model", "wrote ", o.timeout);
  procs.stop_all();
  return out;
}

} // namespace

work_dir::work_dir(bool keep) : keep_(keep) {
  char tmpl[] = "/tmp/llamps-bench-cluster.XXXXXX";
  if (!::mkdtemp(tmpl))
    throw_error("cannot create a work directory in /tmp");
  path_ = tmpl;
}

work_dir::~work_dir() {
  std::error_code ec;
  if (!keep_)
    fs::remove_all(path_, ec);
}

void cluster::stop(std::unique_ptr<cluster_client>& client) {
  try {
    if (client && !model_name.empty())
      client->undeploy(model_name);
    std::this_thread::sleep_for(std::chrono::milliseconds(300)); // the unload answers
  } catch (const std::exception&) {
  }
  client.reset();
  if (deployer)
    caf::anon_send_exit(deployer, caf::exit_reason::user_shutdown);
  if (planner)
    caf::anon_send_exit(planner, caf::exit_reason::user_shutdown);
  deployer = nullptr;
  planner = nullptr;
  if (procs)
    procs->stop_all();
}

void with_cluster(harness& h, const std::string& tag, const std::string& model_path, int plan_sessions,
                  const measure_fn& measure) {
  cluster c;
  try {
    start_cluster(c, h, tag, model_path, plan_sessions);
    measure(*h.client, c);
  } catch (...) {
    c.stop(h.client);
    throw;
  }
  c.stop(h.client);
}

std::string hop_model_path(const harness& h) {
  if (!h.o.hop_model.empty())
    return h.o.hop_model;
  process_group maker(h.work);
  return make_hop_model(maker, h.work, h.o);
}

} // namespace llamps::bench_cluster_detail
