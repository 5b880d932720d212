// The planner and the deployer against the real registry, with stand-in contributors whose
// offers and behaviour on load the test chooses: placement over the healthy servers,
// infeasibility reasons, refusal of a double deploy, rollback when one server fails, and the
// deployer's guarded weight streaming (fetch).
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "actors/protocol/actors.hpp"
#include "model/gguf/gguf.hpp"
#include "actors/server/model_files.hpp"

using namespace llamps;
using namespace std::chrono_literals;

namespace {

const std::string model_path = std::string(LLAMPS_SHARED_MODELS) + "/stories260K.gguf";

struct test_config : caf::actor_system_config {
  test_config() { register_protocol(*this); }
};

// How a stand-in contributor answers load orders.
enum class on_load { succeed, fail, hold };

struct fake_contributor_state {
  on_load mode = on_load::succeed;
  std::set<std::string> hosting; // deployment ids it holds (or is loading)
  std::map<std::string, caf::typed_response_promise<host_ref>> held;
  const char* name = "fake_contributor";
};

// Joins the registry with `offer`; hosts nothing real: a "loaded" range is only remembered,
// so the test can see whether a rollback unloaded it.
contributor_actor::behavior_type
fake_contributor(contributor_actor::stateful_pointer<fake_contributor_state> self, registry_actor registry,
                 node_offer offer, on_load mode) {
  self->state.mode = mode;
  self->request(registry, 10s, join_atom::value, offer, caf::actor_cast<contributor_actor>(self))
      .then([](bool) {}, [](caf::error&) {});
  return {
      [=](load_atom, load_order& order, deployer_actor&) -> caf::result<host_ref> {
        auto& st = self->state;
        if (st.mode == on_load::fail)
          return make_llamps_error("disk on fire");
        st.hosting.insert(order.deployment_id);
        hosted_range range;
        range.model = order.model.name;
        range.first = order.first;
        range.last = order.last;
        if (st.mode == on_load::succeed)
          return host_ref{offer.node_id, range, {}, {}};
        auto promise = self->make_response_promise<host_ref>();
        st.held[order.deployment_id] = promise;
        return promise;
      },
      [=](unload_atom, const std::string& id) {
        self->state.hosting.erase(id);
        auto held = self->state.held.find(id);
        if (held != self->state.held.end()) {
          held->second.deliver(make_llamps_error("unloaded while loading"));
          self->state.held.erase(held);
        }
        return true;
      },
      [=](status_atom) {
        server_status s;
        s.offer = offer;
        for (auto& id : self->state.hosting) { // the deployment id stands in the model field
          s.hosting.emplace_back();
          s.hosting.back().model = id;
        }
        return s;
      },
      [=](drain_atom, double) { return true; },      // draining, share limits and reconnecting:
      [=](share_atom, uint64_t, int32_t, double) {}, // not tested here
      [=](registry_atom, caf::actor&) {},
      [=](peers_atom, std::map<std::string, std::string>&) {},
      [=](tick_atom) {},
  };
}

// A registry, a planner and a deployer, plus stand-in contributors added by each test.
struct cluster {
  test_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  registry_actor registry;
  planner_actor planner;
  deployer_actor deployer;
  model_profile profile = profile_of(model_path);

  explicit cluster(std::chrono::milliseconds heartbeat_timeout = 60s) {
    registry_options opts;
    opts.heartbeat_timeout = heartbeat_timeout;
    registry = spawn_registry(sys, opts);
    planner = spawn_planner(sys, registry);
    deployer = spawn_deployer(sys, registry, planner);
  }
  ~cluster() {
    for (const caf::actor& a : {caf::actor_cast<caf::actor>(registry), caf::actor_cast<caf::actor>(planner),
                                caf::actor_cast<caf::actor>(deployer)})
      self->send_exit(a, caf::exit_reason::user_shutdown);
    for (auto& c : contributors)
      self->send_exit(c, caf::exit_reason::user_shutdown);
  }

  // KV for one short session, so the blocks' sizes decide the placement.
  plan_request request() const {
    plan_request r;
    r.model = profile;
    r.sessions = 1;
    r.context = 64;
    return r;
  }
  uint64_t block_cost() const { return profile.block_bytes + profile.kv_bytes_per_token_per_block * 64; }

  contributor_actor join(const std::string& node, uint64_t memory, on_load mode = on_load::succeed) {
    node_offer offer;
    offer.node_id = node;
    offer.address = "127.0.0.1:0";
    offer.memory_bytes = offer.total_memory_bytes = memory;
    offer.cores = 4;
    auto c = sys.spawn(fake_contributor, registry, offer, mode);
    contributors.push_back(c);
    // Joined once the registry lists it.
    for (int i = 0; i < 200 && !listed(node); ++i)
      std::this_thread::sleep_for(5ms);
    REQUIRE(listed(node));
    return c;
  }

  bool listed(const std::string& node) {
    bool found = false;
    self->request(registry, 5s, servers_atom::value)
        .receive(
            [&](const std::vector<server_status>& all) {
              for (auto& s : all)
                found = found || s.offer.node_id == node;
            },
            [&](caf::error&) {});
    return found;
  }

  // The answer to a request: the value, or the error's text.
  template <class T, class Handle, class... Ts>
  std::pair<T, std::string> ask(const Handle& dest, Ts... xs) {
    std::pair<T, std::string> out;
    self->request(dest, 30s, xs...)
        .receive([&](T& value) { out.first = std::move(value); },
                 [&](caf::error& e) { out.second = error_text(e); });
    return out;
  }

  std::set<std::string> hosting(const contributor_actor& c) {
    std::set<std::string> ids;
    for (auto& r : ask<server_status>(c, status_atom::value).first.hosting)
      ids.insert(r.model);
    return ids;
  }

  std::vector<contributor_actor> contributors;
};

// Waits (bounded) until `done()` holds; rollbacks and unloads are asynchronous.
template <class F>
bool eventually(F done) {
  for (int i = 0; i < 400; ++i) {
    if (done())
      return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

} // namespace

TEST_CASE("planner places every block once on the fewest healthy servers") {
  cluster c;
  c.join("small", 2 * c.block_cost());
  c.join("large", 4 * c.block_cost());
  c.join("medium", 3 * c.block_cost());
  auto [plan, err] = c.ask<placement_plan>(c.planner, plan_atom::value, c.request());
  REQUIRE(err.empty());
  REQUIRE(plan.entries.size() == 2); // 5 blocks: large (4) + one more, never all three
  int32_t next = 0;
  for (auto& e : plan.entries) {
    CHECK(e.first == next);
    CHECK(e.last > e.first);
    CHECK(e.weight_bytes == c.profile.block_bytes * uint64_t(e.last - e.first));
    CHECK(e.kv_budget_bytes == c.profile.kv_bytes_per_token_per_block * 64 * uint64_t(e.last - e.first));
    CHECK(e.sessions_capacity == 1);
    CHECK(e.address == "127.0.0.1:0");
    next = e.last;
  }
  CHECK(next == c.profile.n_blocks);
  CHECK(plan.sessions_capacity == 1);
  CHECK_FALSE(plan.summary.empty());
}

TEST_CASE("planner says what is missing when the servers cannot hold the model") {
  cluster c;
  c.join("a", 1 * c.block_cost());
  c.join("b", 2 * c.block_cost());
  auto [plan, err] = c.ask<placement_plan>(c.planner, plan_atom::value, c.request());
  CHECK(plan.entries.empty());
  CHECK(err.find("model stories260K needs") != std::string::npos);
  CHECK(err.find("the 2 healthy server(s)") != std::string::npos);
  CHECK(err.find("add about") != std::string::npos);

  auto bad = c.request(); // an objective no build of ours sends
  bad.goal = static_cast<opa::objective>(7);
  CHECK(c.ask<placement_plan>(c.planner, plan_atom::value, bad).second ==
        "objective 7 is none of fewest-servers, max-sessions, max-throughput");
}

TEST_CASE("planner refuses replicas, sessions or context out of range, whoever sends them") {
  cluster c;
  c.join("a", 100 * c.block_cost());
  auto refusal = [&](auto change) {
    auto req = c.request();
    change(req);
    return c.ask<placement_plan>(c.planner, plan_atom::value, req).second;
  };
  CHECK(refusal([](plan_request&) {}).empty());
  CHECK(refusal([](plan_request& r) { r.replicas = 0; }) == "replicas must be between 1 and 64, not 0");
  CHECK(refusal([](plan_request& r) { r.sessions = -3; }) == "sessions must be between 1 and 4096, not -3");
  CHECK(refusal([](plan_request& r) { r.context = -1; }) == "context must be between 0 and 16777216, not -1");
}

TEST_CASE("planner ignores servers that stopped sending heartbeats") {
  cluster c(300ms);
  c.join("silent", 10 * c.block_cost()); // stand-ins never send heartbeats
  std::string err; // the registry marks it gone after its 300 ms timeout (bounded: 2 s here)
  CHECK(eventually([&] {
    err = c.ask<placement_plan>(c.planner, plan_atom::value, c.request()).second;
    return err.find("no healthy servers") != std::string::npos;
  }));
  CHECK(err.find("no healthy servers") != std::string::npos);
}

TEST_CASE("deployer records a deployment and refuses to deploy the same model twice") {
  cluster c;
  c.join("a", 3 * c.block_cost());
  c.join("b", 3 * c.block_cost());
  auto [status, err] = c.ask<deploy_status>(c.deployer, deploy_atom::value, c.request());
  REQUIRE(err.empty());
  CHECK(status.state == "ready");
  CHECK(status.deployment_id == "d-1-stories260K");
  REQUIRE(status.servers.size() == 2);
  for (auto& s : status.servers)
    CHECK(s.state == "ready");
  auto deployed = c.ask<std::vector<deployment>>(c.registry, deployments_atom::value).first;
  REQUIRE(deployed.size() == 1);
  CHECK(deployed[0].hosts.size() == 2);

  auto again = c.ask<deploy_status>(c.deployer, deploy_atom::value, c.request()).second;
  CHECK(again == "model stories260K is already deployed (deployment d-1-stories260K); undeploy it first");

  // Undeploy unloads every contributor; then the model may be deployed again.
  CHECK(c.ask<bool>(c.deployer, undeploy_atom::value, std::string("stories260K")).first);
  CHECK(eventually(
      [&] { return c.hosting(c.contributors[0]).empty() && c.hosting(c.contributors[1]).empty(); }));
  CHECK(
      c.ask<bool>(c.deployer, undeploy_atom::value, std::string("stories260K")).second.find("not deployed") !=
      std::string::npos);
  CHECK(c.ask<deploy_status>(c.deployer, deploy_atom::value, c.request()).first.state == "ready");
}

TEST_CASE("deployer rolls back everywhere when one server fails to load") {
  cluster c;
  auto good = c.join("good", 3 * c.block_cost());
  c.join("broken", 3 * c.block_cost(), on_load::fail);
  auto err = c.ask<deploy_status>(c.deployer, deploy_atom::value, c.request()).second;
  CHECK(err.find("deploying stories260K failed") != std::string::npos);
  CHECK(err.find("broken") != std::string::npos);
  CHECK(err.find("disk on fire") != std::string::npos);
  // The good server's blocks are unloaded and nothing reached the registry.
  CHECK(eventually([&] { return c.hosting(good).empty(); }));
  CHECK(c.ask<std::vector<deployment>>(c.registry, deployments_atom::value).first.empty());
  auto progress = c.ask<std::vector<deploy_status>>(c.deployer, progress_atom::value).first;
  REQUIRE(progress.size() == 1);
  CHECK(progress[0].state.rfind("failed: ", 0) == 0);
}

TEST_CASE("deployer streams only the header and a planned node's own blocks") {
  cluster c;
  c.join("first", 3 * c.block_cost(), on_load::hold);
  c.join("second", 3 * c.block_cost(), on_load::hold);
  // The deploy stays open while the stand-ins hold their loads; ask from another actor.
  caf::scoped_actor deploying{c.sys};
  auto pending = deploying->request(c.deployer, caf::infinite, deploy_atom::value, c.request());
  std::vector<deploy_status> progress;
  REQUIRE(eventually([&] {
    progress = c.ask<std::vector<deploy_status>>(c.deployer, progress_atom::value).first;
    return progress.size() == 1 && progress[0].servers.size() == 2;
  }));
  const std::string id = progress[0].deployment_id;
  auto file = gguf::file::open(model_path);
  auto fetch = [&](const std::string& node, uint64_t offset, uint64_t length) {
    return c.ask<std::vector<char>>(c.deployer, fetch_atom::value, id, node, offset, length);
  };
  // Which node holds block 0, and a tensor of a block it does not hold.
  std::string owner, other;
  for (auto& s : progress[0].servers)
    (owner.empty() ? owner : other) = s.node_id;
  auto plan = c.ask<placement_plan>(c.planner, plan_atom::value, c.request()).first;
  const plan_entry& mine = plan.entries[0].node_id == owner ? plan.entries[0] : plan.entries[1];
  const auto& own = file.require_tensor("blk." + std::to_string(mine.first) + ".ffn_up.weight");
  const auto& foreign = file.require_tensor("blk." + std::to_string(mine.last % 5) + ".ffn_up.weight");

  auto header = fetch(owner, 0, file.data_offset());
  REQUIRE(header.second.empty());
  std::ifstream in(model_path, std::ios::binary);
  std::vector<char> expected(file.data_offset());
  in.read(expected.data(), std::streamsize(expected.size()));
  CHECK(header.first == expected);
  auto block = fetch(owner, file.data_offset() + own.offset, own.n_bytes());
  CHECK(block.second.empty());
  CHECK(block.first.size() == own.n_bytes());

  CHECK(fetch("stranger", 0, 64).second.find("not in the plan") != std::string::npos);
  CHECK(fetch(owner, file.data_offset() + foreign.offset, 64).second.find("outside") != std::string::npos);
  CHECK(fetch(owner, file.file_size() - 8, 64).second.find("outside") != std::string::npos);
  CHECK(c.ask<std::vector<char>>(c.deployer, fetch_atom::value, std::string("d-9-nope"), owner, uint64_t(0),
                                 uint64_t(64))
            .second.find("not loading") != std::string::npos);

  // A real block host without a copy pulls exactly its blocks through these checks.
  block_host_options host_opts;
  host_opts.node_id = owner;
  host_opts.cache_dir = std::string(LLAMPS_TEST_TMP) + "/fetch-cache";
  auto host = spawn_block_host(c.sys, host_opts);
  load_order order{id, c.profile, mine.first, mine.last, mine.kv_budget_bytes, ""};
  auto [loaded, load_err] = c.ask<hosted_range>(host, load_atom::value, order, c.deployer);
  CHECK(load_err.empty());
  CHECK(loaded.first == mine.first);
  CHECK(loaded.last == mine.last);
  c.self->send_exit(host, caf::exit_reason::user_shutdown);

  // Undeploying while loading rolls back and ends the pending deploy with an error.
  CHECK(c.ask<bool>(c.deployer, undeploy_atom::value, std::string("stories260K")).first);
  std::string outcome;
  pending.receive([&](deploy_status&) { outcome = "ready"; },
                  [&](caf::error& e) { outcome = error_text(e); });
  CHECK(outcome.find("undeployed while deploying") != std::string::npos);
  CHECK(fetch(owner, 0, 64).second.find("not loading") != std::string::npos);
  CHECK(eventually(
      [&] { return c.hosting(c.contributors[0]).empty() && c.hosting(c.contributors[1]).empty(); }));
}

// ---- the real contributor (spawns real block hosts) ----

namespace {

contributor_options contributor_named(const std::string& node, uint64_t share) {
  contributor_options o;
  o.node_id = node;
  o.address = "127.0.0.1:0";
  o.share_memory_bytes = share;
  o.heartbeat_interval = 100ms;
  o.cache_dir = std::string(LLAMPS_TEST_TMP) + "/cache-" + node;
  return o;
}

} // namespace

TEST_CASE("contributor offers its capped leftover and loads from a local copy found by identity") {
  cluster c;
  // A copy under another name in the model directory, found by identity, not by name.
  const std::string dir = std::string(LLAMPS_TEST_TMP) + "/contributor-models";
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(model_path, dir + "/renamed.gguf",
                             std::filesystem::copy_options::overwrite_existing);
  auto opts = contributor_named("real", 5 * c.block_cost());
  opts.model_dir = dir;
  opts.share_cores = 1;
  auto contributor = spawn_contributor(c.sys, opts, c.registry);
  c.contributors.push_back(contributor);
  REQUIRE(eventually([&] { return c.listed("real"); }));
  auto before = c.ask<server_status>(contributor, status_atom::value).first;
  CHECK(before.offer.memory_bytes == 5 * c.block_cost());
  CHECK(before.offer.cores == 1);

  load_order order{"d-7-stories260K", c.profile, 0, 5, 1000, ""};
  order.model.path = "/nonexistent/stories260K.gguf"; // only the model directory has it
  auto [ref, err] = c.ask<host_ref>(contributor, load_atom::value, order, c.deployer);
  REQUIRE(err.empty());
  CHECK(ref.node_id == "real");
  CHECK(ref.range.first == 0);
  CHECK(ref.range.last == 5);
  CHECK(ref.host);
  auto during = c.ask<server_status>(contributor, status_atom::value).first;
  CHECK(during.hosting.size() == 1);
  CHECK(during.offer.memory_bytes < before.offer.memory_bytes);

  // No room for a second copy: a clear error, nothing spawned.
  order.deployment_id = "d-8-stories260K";
  auto refused = c.ask<host_ref>(contributor, load_atom::value, order, c.deployer).second;
  CHECK(refused.find("node real has only") != std::string::npos);
  CHECK(refused.find("blocks [0, 5) of stories260K need") != std::string::npos);

  CHECK(c.ask<bool>(contributor, unload_atom::value, std::string("d-7-stories260K")).first);
  auto after = c.ask<server_status>(contributor, status_atom::value).first;
  CHECK(after.hosting.empty());
  CHECK(after.offer.memory_bytes == before.offer.memory_bytes);
}

TEST_CASE("a model deploys onto real contributors and undeploys from them") {
  cluster c;
  for (const char* node : {"left", "right"})
    c.contributors.push_back(
        spawn_contributor(c.sys, contributor_named(node, 3 * c.block_cost()), c.registry));
  REQUIRE(eventually([&] { return c.listed("left") && c.listed("right"); }));
  auto [status, err] = c.ask<deploy_status>(c.deployer, deploy_atom::value, c.request());
  REQUIRE(err.empty());
  CHECK(status.state == "ready");
  auto deployed = c.ask<std::vector<deployment>>(c.registry, deployments_atom::value).first;
  REQUIRE(deployed.size() == 1);
  REQUIRE(deployed[0].hosts.size() == 2);
  for (auto& h : deployed[0].hosts)
    CHECK(c.ask<hosted_range>(h.host, status_atom::value).first.last == h.range.last);

  CHECK(c.ask<bool>(c.deployer, undeploy_atom::value, std::string("stories260K")).first);
  CHECK(eventually([&] {
    return c.ask<server_status>(c.contributors[0], status_atom::value).first.hosting.empty() &&
           c.ask<server_status>(c.contributors[1], status_atom::value).first.hosting.empty();
  }));
}
