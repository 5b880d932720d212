#include "runtime/node/cluster_client.hpp"

#include <stdexcept>

#include "actors/support/blocking_ask.hpp"

namespace llamps {

cluster_client::cluster_client(caf::actor_system& sys, registry_actor registry, planner_actor planner,
                               deployer_actor deployer)
    : sys_(sys), registry_(std::move(registry)), planner_(std::move(planner)), deployer_(std::move(deployer)) {}

template <class T, class Handle, class... Ts>
T cluster_client::ask(const Handle& dest, std::chrono::seconds timeout, Ts&&... xs) {
  return blocking_ask<T>(sys_, dest, timeout, std::forward<Ts>(xs)...);
}

std::vector<server_status> cluster_client::servers() {
  return ask<std::vector<server_status>>(registry_, std::chrono::seconds(10), servers_atom::value);
}

placement_plan cluster_client::plan(const plan_request& req) {
  return ask<placement_plan>(planner_, std::chrono::seconds(30), plan_atom::value, req);
}

deploy_status cluster_client::deploy(const plan_request& req) {
  return ask<deploy_status>(deployer_, std::chrono::hours(2), deploy_atom::value, req);
}

void cluster_client::deploy_async(const plan_request& req, deploy_done_fn done) {
  // A short-lived actor awaits the answer, so no thread blocks for the deployment's length.
  sys_.spawn([deployer = deployer_, req, done](caf::event_based_actor* self) {
    self->request(deployer, std::chrono::seconds(std::chrono::hours(2)), deploy_atom::value, req)
        .then([done](deploy_status& status) { done(status, ""); },
              [done](caf::error& e) { done(deploy_status{}, error_text(e)); });
  });
}

void cluster_client::undeploy(const std::string& model) {
  ask<bool>(deployer_, std::chrono::seconds(60), undeploy_atom::value, model);
}

std::vector<deployment> cluster_client::deployments() {
  return ask<std::vector<deployment>>(registry_, std::chrono::seconds(10), deployments_atom::value);
}

std::vector<deploy_status> cluster_client::progress() {
  return ask<std::vector<deploy_status>>(deployer_, std::chrono::seconds(10), progress_atom::value);
}

std::vector<session_info> cluster_client::sessions() {
  return ask<std::vector<session_info>>(registry_, std::chrono::seconds(10), sessions_atom::value);
}

std::vector<host_ref> cluster_client::live_hosts() {
  std::vector<host_ref> out;
  for (auto& d : deployments())
    for (auto& h : d.hosts) {
      try {
        out.push_back(host_ref{h.node_id, ask<hosted_range>(h.host, std::chrono::seconds(5), status_atom::value), h.host, {}});
      } catch (const std::runtime_error&) {
        // gone or stuck: the registry's health column tells that story
      }
    }
  return out;
}

session_actor cluster_client::open_session(const session_options& opts) {
  return spawn_session(sys_, registry_, opts);
}

generation_report cluster_client::generate(const session_actor& session, generation_order order,
                                           const on_token_fn& on_token) {
  caf::scoped_actor self{sys_};
  order.listener = caf::actor_cast<caf::actor>(self);
  // A plain send: the session's answer (report or error) comes back as an ordinary
  // message, so the token messages before it are handled as they arrive.
  self->send(session, generate_atom::value, std::move(order));
  generation_report report;
  std::string failure;
  bool done = false;
  self->receive_while([&] { return !done; })(
      [&](token_atom, uint64_t, int32_t token, const std::string& piece) {
        if (on_token)
          on_token(token, piece);
      },
      [&](generation_report& r) {
        report = std::move(r);
        done = true;
      },
      [&](caf::error& e) {
        failure = error_text(e);
        done = true;
      });
  if (!failure.empty())
    throw std::runtime_error(failure);
  return report;
}

void cluster_client::close_session(const session_actor& session) {
  caf::anon_send(session, close_atom::value);
}

} // namespace llamps
