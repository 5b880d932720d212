#pragma once
// Blocking calls into a running cluster, for the shell, the demo, the HTTP server and
// embedding programs: each asks one actor and returns its answer, or throws
// std::runtime_error with the cluster's one-line reason.
#include <chrono>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "actors/protocol/actors.hpp"

namespace llamps {

// The cluster refused a session for capacity: its model's queue was full, or the session
// waited there until its deadline. Worth trying again after retry_after_s.
class cluster_busy : public std::runtime_error {
public:
  cluster_busy(const std::string& message, failure_kind kind, int32_t retry_after_s)
      : std::runtime_error(message), kind_(kind), retry_after_s_(retry_after_s) {}
  failure_kind kind() const { return kind_; }
  int32_t retry_after_s() const { return retry_after_s_; }

private:
  failure_kind kind_;
  int32_t retry_after_s_;
};

class cluster_client {
public:
  cluster_client(caf::actor_system& sys, registry_actor registry, planner_actor planner,
                 deployer_actor deployer);

  std::vector<server_status> servers();
  placement_plan plan(const plan_request& req);
  deploy_status deploy(const plan_request& req); // blocks until ready or failed (rolled back)
  // Starts a deployment and returns at once (progress() follows it). `done` runs on an actor
  // thread with the final status, or with the error text ("" on success).
  using deploy_done_fn = std::function<void(const deploy_status& status, const std::string& error)>;
  void deploy_async(const plan_request& req, deploy_done_fn done);
  void undeploy(const std::string& model);
  std::vector<deployment> deployments();
  std::vector<deploy_status> progress();
  std::vector<session_info> sessions();
  std::vector<queue_status> queues(); // every model's admission queue
  // Every block host of every deployment with its live figures (steps, latency histogram, KV
  // in use, sessions), asked of the hosts themselves: the registry's server list holds what
  // each host reported when it loaded. Hosts that do not answer are left out.
  std::vector<host_ref> live_hosts();

  session_actor open_session(const session_options& opts);
  // Told, once, that the session waits in its model's queue, and at which place (1 = next).
  using on_queued_fn = std::function<void(int32_t position)>;
  // Takes the session's place on the hosts before it generates: returns the route's node ids
  // once admitted (after waiting in line while the model is at capacity). Throws cluster_busy
  // when the queue refuses it, std::runtime_error for anything else, and (after closing the
  // session) when `cancelled`, asked every 100 ms while it waits, says the caller has gone.
  std::vector<std::string> admit(const session_actor& session, const on_queued_fn& on_queued = nullptr,
                                 const std::function<bool()>& cancelled = nullptr);
  // Runs one generation (admitting the session first if admit was not called); on_token is
  // called as tokens arrive. Throws as admit does.
  using on_token_fn = std::function<void(int32_t token, const std::string& piece)>;
  generation_report generate(const session_actor& session, generation_order order,
                             const on_token_fn& on_token, const on_queued_fn& on_queued = nullptr);
  void close_session(const session_actor& session);

  registry_actor registry() const { return registry_; }
  caf::actor_system& system() { return sys_; }

private:
  template <class T, class Handle, class... Ts>
  T ask(const Handle& dest, std::chrono::seconds timeout, Ts&&... xs);

  caf::actor_system& sys_;
  registry_actor registry_;
  planner_actor planner_;
  deployer_actor deployer_;
};

} // namespace llamps
