#include "actors/protocol/protocol.hpp"

#include <algorithm>
#include <cstring>

namespace llamps {

namespace {
const caf::atom_value error_category = caf::atom("llamps");
} // namespace

activations to_wire(const tensor_data& t) {
  activations a;
  a.shape = t.shape;
  a.bytes.resize(t.values.size() * sizeof(float));
  if (!a.bytes.empty())
    std::memcpy(a.bytes.data(), t.values.data(), a.bytes.size());
  return a;
}

tensor_data from_wire(const activations& a) {
  // The shape comes from a peer: an empty tensor unless it matches the bytes exactly.
  uint64_t n = 1;
  for (auto d : a.shape) {
    if (d < 0 || (d && n > UINT64_MAX / sizeof(float) / static_cast<uint64_t>(d)))
      return {};
    n *= static_cast<uint64_t>(d);
  }
  if (a.shape.empty() || n * sizeof(float) != a.bytes.size())
    return {};
  tensor_data t;
  t.shape = a.shape;
  t.values.resize(a.bytes.size() / sizeof(float));
  if (!t.values.empty())
    std::memcpy(t.values.data(), a.bytes.data(), t.values.size() * sizeof(float));
  return t;
}

namespace {

// A llamps error's context: its message, then (for the queue's refusals) the retry time. The
// context comes from a peer: anything else is no message.
std::string message_of(const caf::message& ctx) {
  if (ctx.match_elements<std::string>() || ctx.match_elements<std::string, int32_t>())
    return ctx.get_as<std::string>(0);
  return "llamps error";
}

} // namespace

caf::error make_llamps_error(std::string message, failure_kind kind, int32_t retry_after_s) {
  auto ctx = retry_after_s > 0 ? caf::make_message(std::move(message), retry_after_s)
                               : caf::make_message(std::move(message));
  return caf::error(static_cast<uint8_t>(kind), error_category, std::move(ctx));
}

failure_kind kind_of(const caf::error& e) {
  if (e.category() != error_category)
    return failure_kind::failed;
  switch (static_cast<failure_kind>(e.code())) {
  case failure_kind::busy: return failure_kind::busy;
  case failure_kind::queue_full: return failure_kind::queue_full;
  case failure_kind::queue_deadline: return failure_kind::queue_deadline;
  default: return failure_kind::failed;
  }
}

int32_t retry_after_of(const caf::error& e) {
  if (e.category() == error_category && e.context().match_elements<std::string, int32_t>())
    return std::max(0, e.context().get_as<int32_t>(1));
  return 0;
}

caf::error reworded(const caf::error& e, std::string message) {
  return make_llamps_error(std::move(message), kind_of(e), retry_after_of(e));
}

std::string error_text(const caf::error& e) {
  if (!e)
    return "no error";
  if (e.category() == error_category)
    return message_of(e.context());
  if (e.category() == caf::atom("system")) {
    switch (static_cast<caf::sec>(e.code())) {
    case caf::sec::request_timeout: return "request timed out";
    case caf::sec::request_receiver_down: return "the actor that was asked is gone";
    case caf::sec::cannot_connect_to_node: return "cannot connect to the node";
    case caf::sec::unexpected_message: return "the receiver does not understand this request";
    default: break;
    }
  }
  return caf::to_string(e);
}

void register_protocol(caf::actor_system_config& cfg) {
  cfg.add_error_category(error_category,
                         [](uint8_t, caf::atom_value, const caf::message& ctx) { return message_of(ctx); });
  cfg.add_message_type<node_offer>("llamps::node_offer")
      .add_message_type<hosted_range>("llamps::hosted_range")
      .add_message_type<server_status>("llamps::server_status")
      .add_message_type<std::vector<server_status>>("std::vector<llamps::server_status>")
      .add_message_type<model_profile>("llamps::model_profile")
      .add_message_type<plan_request>("llamps::plan_request")
      .add_message_type<plan_entry>("llamps::plan_entry")
      .add_message_type<placement_plan>("llamps::placement_plan")
      .add_message_type<load_order>("llamps::load_order")
      .add_message_type<load_progress>("llamps::load_progress")
      .add_message_type<deploy_status>("llamps::deploy_status")
      .add_message_type<std::vector<deploy_status>>("std::vector<llamps::deploy_status>")
      .add_message_type<activations>("llamps::activations")
      .add_message_type<step_result>("llamps::step_result")
      .add_message_type<step_request>("llamps::step_request")
      .add_message_type<generation_order>("llamps::generation_order")
      .add_message_type<generation_report>("llamps::generation_report")
      .add_message_type<session_info>("llamps::session_info")
      .add_message_type<std::vector<session_info>>("std::vector<llamps::session_info>")
      .add_message_type<queue_status>("llamps::queue_status")
      .add_message_type<std::vector<queue_status>>("std::vector<llamps::queue_status>")
      .add_message_type<host_ref>("llamps::host_ref")
      .add_message_type<std::vector<host_ref>>("std::vector<llamps::host_ref>")
      .add_message_type<deployment>("llamps::deployment")
      .add_message_type<std::vector<deployment>>("std::vector<llamps::deployment>")
      .add_message_type<session_route>("llamps::session_route")
      .add_message_type<std::vector<std::string>>("std::vector<std::string>")
      .add_message_type<std::vector<char>>("std::vector<char>")
      .add_message_type<std::map<std::string, std::string>>("std::map<std::string,std::string>")
      .add_message_type<deployer_actor>("llamps::deployer_actor")
      .add_message_type<block_host_actor>("llamps::block_host_actor")
      .add_message_type<contributor_actor>("llamps::contributor_actor")
      .add_message_type<registry_actor>("llamps::registry_actor")
      .add_message_type<planner_actor>("llamps::planner_actor")
      .add_message_type<session_actor>("llamps::session_actor");
}

} // namespace llamps
