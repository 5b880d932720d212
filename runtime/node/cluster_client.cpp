#include "runtime/node/cluster_client.hpp"

#include <stdexcept>

#include "actors/support/blocking_ask.hpp"

namespace llamps {

cluster_client::cluster_client(caf::actor_system& sys, registry_actor registry, planner_actor planner,
                               deployer_actor deployer)
    : sys_(sys), registry_(std::move(registry)), planner_(std::move(planner)),
      deployer_(std::move(deployer)) {}

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

std::vector<queue_status> cluster_client::queues() {
  return ask<std::vector<queue_status>>(registry_, std::chrono::seconds(10), queue_atom::value);
}

std::vector<host_ref> cluster_client::live_hosts() {
  std::vector<host_ref> out;
  for (auto& d : deployments())
    for (auto& h : d.hosts) {
      try {
        out.push_back(host_ref{
            h.node_id, ask<hosted_range>(h.host, std::chrono::seconds(5), status_atom::value), h.host, {}});
      } catch (const std::runtime_error&) {
        // gone or stuck: the registry's health column tells that story
      }
    }
  return out;
}

session_actor cluster_client::open_session(const session_options& opts) {
  return spawn_session(sys_, registry_, opts);
}

namespace {

[[noreturn]] void throw_failure(const caf::error& e) {
  auto kind = kind_of(e);
  if (kind == failure_kind::queue_full || kind == failure_kind::queue_deadline)
    throw cluster_busy(error_text(e), kind, retry_after_of(e));
  throw std::runtime_error(error_text(e));
}

} // namespace

std::vector<std::string> cluster_client::admit(const session_actor& session, const on_queued_fn& on_queued,
                                               const std::function<bool()>& cancelled) {
  caf::scoped_actor self{sys_};
  // A plain send, as in generate: the queued notice arrives before the answer.
  self->send(session, route_atom::value);
  std::vector<std::string> route;
  caf::error failure;
  bool done = false;
  while (!done) {
    self->receive(
        [&](queued_atom, int32_t position) {
          if (on_queued)
            on_queued(position);
        },
        [&](std::vector<std::string>& r) {
          route = std::move(r);
          done = true;
        },
        [&](caf::error& e) {
          failure = std::move(e);
          done = true;
        },
        caf::after(std::chrono::milliseconds(100)) >>
            [&] {
              if (cancelled && cancelled()) {
                close_session(session); // it leaves the queue: the registry watches the session
                failure = make_llamps_error("the client went away while the session waited for a place");
                done = true;
              }
            });
  }
  if (failure)
    throw_failure(failure);
  return route;
}

generation_report cluster_client::generate(const session_actor& session, generation_order order,
                                           const on_token_fn& on_token, const on_queued_fn& on_queued) {
  caf::scoped_actor self{sys_};
  order.listener = caf::actor_cast<caf::actor>(self);
  // A plain send: the session's answer (report or error) comes back as an ordinary
  // message, so the token messages before it are handled as they arrive.
  self->send(session, generate_atom::value, std::move(order));
  generation_report report;
  caf::error failure;
  bool done = false;
  self->receive_while([&] { return !done; })(
      [&](token_atom, uint64_t, int32_t token, const std::string& piece) {
        if (on_token)
          on_token(token, piece);
      },
      [&](queued_atom, int32_t position) {
        if (on_queued)
          on_queued(position);
      },
      [&](generation_report& r) {
        report = std::move(r);
        done = true;
      },
      [&](caf::error& e) {
        failure = std::move(e);
        done = true;
      });
  if (failure)
    throw_failure(failure);
  return report;
}

void cluster_client::close_session(const session_actor& session) {
  caf::anon_send(session, close_atom::value);
}

} // namespace llamps
