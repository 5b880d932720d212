// Draining a contributor's hosts: which hosts a shrunken leftover drains, when a draining
// host may be released, and the deployer's refusal of moves it cannot make.
#include <catch2/catch.hpp>

#include <chrono>

#include "actors/client/deployer_state.hpp"
#include "actors/server/contributor_state.hpp"

using namespace llamps;
using namespace llamps::contributor_detail;
using namespace std::chrono_literals;

TEST_CASE("hosts that fit are not drained", "[contributor][drain]") {
  CHECK(hosts_to_drain({}, 0).empty());
  CHECK(hosts_to_drain({100, 200}, 300).empty());
  CHECK(hosts_to_drain({100, 200}, 1000).empty());
}

TEST_CASE("the smallest host that closes the shortfall alone is drained", "[contributor][drain]") {
  // 600 promised, 450 usable: 150 short. 200 and 300 each close it; 200 is the smaller.
  CHECK(hosts_to_drain({100, 300, 200}, 450) == std::vector<size_t>{2});
  // Exactly the shortfall is enough.
  CHECK(hosts_to_drain({100, 300, 200}, 500) == std::vector<size_t>{0});
}

TEST_CASE("when no host closes the shortfall alone, the largest goes first", "[contributor][drain]") {
  // 700 promised, 100 usable: 600 short. None alone; 400 goes, then 200 short: 200 closes it.
  CHECK(hosts_to_drain({100, 200, 400}, 100) == std::vector<size_t>{2, 1});
  // Nothing usable: everything goes.
  auto all = hosts_to_drain({100, 200, 400}, 0);
  CHECK(all.size() == 3);
}

TEST_CASE("equal hosts: the first listed is drained", "[contributor][drain]") {
  CHECK(hosts_to_drain({300, 300}, 400) == std::vector<size_t>{0});
}

TEST_CASE("a draining host is released only when idle and moved, or still loading", "[contributor][drain]") {
  hosted_blocks h;
  h.ready = true;
  h.range.draining = true;
  h.range.sessions = 1;
  CHECK_FALSE(h.may_release());
  h.move_answered = true; // the blocks are served elsewhere, but a session still runs here
  CHECK_FALSE(h.may_release());
  h.range.sessions = 0;
  CHECK(h.may_release());
  h.move_answered = false; // idle, but nobody has taken the blocks yet
  CHECK_FALSE(h.may_release());
  h.ready = false; // still loading: serves nobody
  CHECK(h.may_release());
}

TEST_CASE("what a host holds and was promised", "[contributor][drain]") {
  hosted_blocks h;
  h.range.weight_bytes = 1000;
  h.range.kv_budget_bytes = 500;
  h.range.kv_bytes = 120;
  CHECK(h.committed_bytes() == 1500);
  CHECK(h.held_bytes() == 1120);
}

TEST_CASE("a spare server for moved blocks: room first, a free core before none", "[deployer][drain]") {
  auto server = [](const char* id, uint64_t memory, bool starved) {
    server_status s;
    s.offer.node_id = id;
    s.offer.memory_bytes = memory;
    s.offer.starved = starved;
    return s;
  };
  deployer_detail::deployment_record r;
  r.hosts.push_back(host_ref{"here", {}, {}, ""});
  hosted_range lost;
  lost.weight_bytes = 30;
  lost.kv_budget_bytes = 10;
  const std::vector<server_status> servers{server("here", 1000, false), server("busy", 100, true),
                                           server("free", 50, false), server("small", 39, false)};
  CHECK(deployer_detail::pick_spare(r, lost, servers, false)->node_id == "free");
  CHECK(deployer_detail::pick_spare(r, lost, servers, true)->node_id == "free");
  const std::vector<server_status> only_busy{server("here", 1000, false), server("busy", 100, true)};
  CHECK(deployer_detail::pick_spare(r, lost, only_busy, false)->node_id == "busy"); // a repair takes it
  CHECK_FALSE(deployer_detail::pick_spare(r, lost, only_busy, true));               // relief does not
}

namespace {
struct test_config : caf::actor_system_config {
  test_config() { register_protocol(*this); }
};
} // namespace

TEST_CASE("the deployer refuses to move a host it did not deploy", "[deployer][drain]") {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  auto registry = spawn_registry(sys, registry_options{});
  auto planner = spawn_planner(sys, registry);
  auto deployer = spawn_deployer(sys, registry, planner);
  std::string problem;
  self->request(deployer, 10s, move_atom::value, std::string("d-1-nothing"), self->address(), false)
      .receive([&](bool) { problem = "moved"; }, [&](caf::error& e) { problem = error_text(e); });
  CHECK(problem.find("nothing to move") != std::string::npos);
  for (const caf::actor& a : {caf::actor_cast<caf::actor>(registry), caf::actor_cast<caf::actor>(planner),
                              caf::actor_cast<caf::actor>(deployer)})
    self->send_exit(a, caf::exit_reason::user_shutdown);
}
