// The deployer: executes a placement plan. It asks the planner for a plan, orders every
// chosen contributor to load its block range (all in parallel), reports per-server progress,
// and records the deployment with the registry once every host is ready. If any server fails,
// it unloads the deployment everywhere: no half-deployed model stays behind.
//
// Hosts without their own copy of the model pull their blocks' bytes from here, chunk by chunk
// (fetch_atom): neither side ever holds the whole model, and only the nodes of the plan get
// bytes, and only those of their own blocks.
#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "actors/protocol/actors.hpp"
#include "model/gguf/gguf.hpp"
#include "actors/support/logging.hpp"
#include "actors/client/deployer_state.hpp"

namespace llamps {

namespace {

using namespace deployer_detail;

constexpr uint64_t max_fetch_bytes = 8u << 20; // the streaming window

// Unloads `id` on each of `nodes`, through the known handle or by asking the registry.
void unload_everywhere(
    deployer_pointer self, const std::string& id, const std::set<std::string>& nodes,
    const std::map<std::string, contributor_actor>& known, std::function<void()> done = [] {}) {
  // `done` runs once every node answered (or is known gone): an undeploy answers only then,
  // so that a shell that quits right after it does not take the unload orders with it.
  auto pending = std::make_shared<size_t>(nodes.size() + 1);
  auto one_done = [=] {
    if (--*pending == 0)
      done();
  };
  auto unload = [=](contributor_actor contributor, std::string node) {
    self->request(contributor, ask_timeout, unload_atom::value, id)
        .then([=](bool) { one_done(); },
              [=](caf::error& err) {
                self->state.log->warn("unloading {} on {} failed: {}", id, node, error_text(err));
                one_done();
              });
  };
  for (const std::string& node : nodes) {
    auto handle = known.find(node);
    if (handle != known.end()) {
      unload(handle->second, node);
      continue;
    }
    self->request(self->state.registry, ask_timeout, contributor_atom::value, node)
        .then([=](contributor_actor& c) { unload(c, node); },
              [=](caf::error&) {
                one_done(); /* the node is gone, and its hosts with it */
              });
  }
  one_done();
}

// Rolls back a deployment that cannot complete, and answers the deploy request.
void fail(deployer_pointer self, const std::string& model, const std::string& id, const std::string& reason) {
  deployment_record* r = self->state.deploying(model, id);
  if (!r)
    return;
  r->status.state = "failed: " + reason;
  std::set<std::string> nodes;
  for (load_progress& p : r->status.servers) {
    nodes.insert(p.node_id);
    if (p.state.rfind("failed", 0) != 0)
      p.state = "rolled back";
  }
  r->source.reset();
  self->state.log->error("deploying {} ({}) failed, rolling back: {}", model, id, reason);
  unload_everywhere(self, id, nodes, r->contributors);
  r->promise.deliver(make_llamps_error("deploying " + model + " failed: " + reason));
}

// Every host is ready: record the deployment with the registry, then answer.
void complete(deployer_pointer self, deployment_record& r) {
  const std::string model = r.status.model, id = r.status.deployment_id;
  publish(self, r, [=](const caf::error& err) {
    if (err)
      return fail(self, model, id, error_text(err));
    deployment_record* rec = self->state.deploying(model, id);
    if (!rec)
      return;
    rec->status.state = "ready";
    for (const host_ref& h : rec->hosts)
      if (h.host)
        self->monitor(h.host); // a host that dies is replaced (deployer_replace.cpp)
    self->state.log->info("{} deployed as {} on {} server(s)", model, id, rec->hosts.size());
    rec->promise.deliver(rec->status);
  });
}

// Orders one contributor to load its plan entry.
void load_entry(deployer_pointer self, const std::string& model, const std::string& id, size_t index,
                contributor_actor contributor) {
  deployment_record* r = self->state.deploying(model, id);
  if (!r)
    return;
  const plan_entry& e = r->plan.entries[index];
  r->contributors[e.node_id] = contributor;
  self->monitor(contributor); // a contributor that dies mid-load fails the deployment
  load_order order{id, r->request.model, e.first, e.last, e.kv_budget_bytes, ""};
  const std::string node = e.node_id;
  self->request(contributor, load_timeout, load_atom::value, std::move(order),
                caf::actor_cast<deployer_actor>(self))
      .then(
          [=](host_ref& host) {
            deployment_record* rec = self->state.deploying(model, id);
            if (!rec)
              return;
            rec->set_server_state(node, "ready");
            rec->hosts[index] = std::move(host);
            if (--rec->awaiting == 0)
              complete(self, *rec);
          },
          [=](caf::error& err) {
            std::string why = error_text(err);
            if (deployment_record* rec = self->state.deploying(model, id))
              rec->set_server_state(node, "failed: " + why);
            // Contributors name themselves in their errors; others get named here.
            fail(self, model, id, why.find(node) == std::string::npos ? node + ": " + why : why);
          });
}

// The plan arrived: look up every chosen contributor and start all loads at once.
void execute(deployer_pointer self, const std::string& model, const std::string& id, placement_plan plan) {
  deployment_record* r = self->state.deploying(model, id);
  if (!r)
    return;
  try {
    // Hosts check what they load against the profile's identity: so does the source.
    auto file = gguf::file::open(r->request.model.path);
    if (file.identity() != r->request.model.identity)
      throw model_error(file.path() + " changed since it was profiled (identity differs)");
    r->source = std::make_shared<weight_source>(file);
    for (const plan_entry& e : plan.entries)
      r->source->allow(e.node_id, e.first, e.last);
  } catch (const std::exception& e) {
    return fail(self, model, id, e.what());
  }
  r->plan = std::move(plan);
  r->hosts.resize(r->plan.entries.size());
  r->awaiting = r->plan.entries.size();
  for (const plan_entry& e : r->plan.entries)
    r->status.servers.push_back(load_progress{id, e.node_id, 0, e.weight_bytes, "loading", e.first, e.last});
  self->state.log->info("deploying {} as {}: {}", model, id, r->plan.summary);
  for (size_t i = 0; i < r->plan.entries.size(); ++i) {
    const plan_entry& e = r->plan.entries[i];
    reach_contributor(
        self, e.node_id, e.address,
        [=](contributor_actor c) { load_entry(self, model, id, i, std::move(c)); },
        [=, node = e.node_id](const caf::error& err) {
          const std::string why = error_text(err);
          fail(self, model, id,
               why.find(node) == std::string::npos ? "cannot reach " + node + ": " + why : why);
        });
  }
}

caf::result<deploy_status> deploy(deployer_pointer self, const plan_request& req) {
  const std::string& model = req.model.name;
  auto existing = self->state.records.find(model);
  if (existing != self->state.records.end() &&
      (existing->second.deploying() || existing->second.status.state == "ready"))
    return make_llamps_error(
        "model " + model + " is already " + (existing->second.deploying() ? "being deployed" : "deployed") +
        " (deployment " + existing->second.status.deployment_id + "); undeploy it first");
  const std::string id = "d-" + std::to_string(self->state.next_number++) + "-" + model;
  deployment_record& r = self->state.records[model];
  r = deployment_record{};
  r.status = deploy_status{model, id, "deploying", {}};
  r.request = req;
  r.promise = self->make_response_promise<deploy_status>();
  // The registry knows deployments this deployer did not make (e.g. before it restarted).
  self->request(self->state.registry, ask_timeout, deployments_atom::value)
      .then(
          [=](const std::vector<deployment>& deployed) {
            for (const deployment& d : deployed)
              if (d.model == model) {
                if (deployment_record* r = self->state.deploying(model, id)) {
                  r->promise.deliver(make_llamps_error("model " + model +
                                                       " is already deployed (deployment " + d.deployment_id +
                                                       "); undeploy it first"));
                  self->state.records.erase(model);
                }
                return;
              }
            self->request(self->state.planner, ask_timeout, plan_atom::value, req)
                .then([=](placement_plan& plan) { execute(self, model, id, std::move(plan)); },
                      [=](caf::error& err) { fail(self, model, id, error_text(err)); });
          },
          [=](caf::error& err) { fail(self, model, id, "the registry did not answer: " + error_text(err)); });
  return r.promise;
}

// Unloads a deployment from its nodes and marks this deployer's record of it undeployed.
void release(
    deployer_pointer self, const std::string& model, const std::string& id,
    const std::set<std::string>& nodes, std::function<void()> done = [] {}) {
  std::map<std::string, contributor_actor> known;
  auto rec = self->state.records.find(model);
  if (rec != self->state.records.end() && rec->second.status.deployment_id == id) {
    known = rec->second.contributors;
    rec->second.status.state = "undeployed";
    rec->second.source.reset();
  }
  unload_everywhere(self, id, nodes, known, std::move(done));
  self->state.log->info("undeployed {} ({})", model, id);
}

caf::result<bool> undeploy(deployer_pointer self, const std::string& model) {
  auto local = self->state.records.find(model);
  if (local != self->state.records.end() && local->second.deploying()) {
    fail(self, model, local->second.status.deployment_id, "undeployed while deploying");
    return true;
  }
  auto promise = self->make_response_promise<bool>();
  self->request(self->state.registry, ask_timeout, undeploy_atom::value, model)
      .then(
          [=](const deployment& d) mutable {
            release(self, model, d.deployment_id, nodes_of(d.hosts),
                    [=]() mutable { promise.deliver(true); });
          },
          [=](caf::error& err) mutable {
            // A registry that restarted may have lost the record this deployer still has.
            auto rec = self->state.records.find(model);
            if (rec == self->state.records.end() || rec->second.status.state != "ready") {
              promise.deliver(make_llamps_error("cannot undeploy " + model + ": " + error_text(err)));
              return;
            }
            std::set<std::string> nodes;
            for (const load_progress& p : rec->second.status.servers)
              nodes.insert(p.node_id);
            release(self, model, rec->second.status.deployment_id, nodes,
                    [=]() mutable { promise.deliver(true); });
          });
  return promise;
}

// Bytes of the model file for a host of the plan, within its own blocks (or the header).
caf::result<std::vector<char>> fetch(deployer_pointer self, const std::string& id, const std::string& node,
                                     uint64_t offset, uint64_t length) {
  deployment_record* r = self->state.by_id(id);
  if (!r || !r->source)
    return make_llamps_error("deployment " + id + " is not loading: nothing to fetch");
  if (!r->source->in_plan(node))
    return make_llamps_error("node " + node + " is not in the plan of " + id +
                             ": refusing to stream weights");
  // A node id is only a name: the request must come from the machine of that node's
  // contributor (its block host runs in the contributor's process).
  auto contributor = r->contributors.find(node);
  auto sender = self->current_sender();
  if (contributor == r->contributors.end() || !sender ||
      sender->node() != caf::actor_cast<caf::strong_actor_ptr>(contributor->second)->node())
    return make_llamps_error("fetch for " + node + " in " + id +
                             " does not come from that node: refusing to stream weights");
  length = std::min(length, max_fetch_bytes);
  if (!r->source->may_read(node, offset, length))
    return make_llamps_error("bytes [" + std::to_string(offset) + ", " + std::to_string(offset + length) +
                             ") of " + r->status.model + " lie outside the header and the blocks of " + node);
  std::vector<char> bytes(length);
  if (!r->source->read(offset, bytes))
    return make_llamps_error("reading " + r->request.model.path + " failed");
  return bytes;
}

deployer_actor::behavior_type deployer(deployer_pointer self, registry_actor registry,
                                       planner_actor planner) {
  self->state.registry = std::move(registry);
  self->state.planner = std::move(planner);
  self->set_down_handler([=](caf::down_msg& down) {
    if (auto lost = self->state.find_host(down.source))
      return replace_host(self, lost->model, lost->index, replacement::repair, [](const caf::error&) {});
    for (auto& [model, r] : self->state.records)
      if (r.deploying())
        for (auto& [node, c] : r.contributors)
          if (down.source == c.address()) {
            r.set_server_state(node, "failed: went down");
            fail(self, model, r.status.deployment_id, node + " went down during deployment");
            break;
          }
  });
  return {
      [=](deploy_atom, const plan_request& req) { return deploy(self, req); },
      [=](undeploy_atom, const std::string& model) { return undeploy(self, model); },
      [=](progress_atom) {
        std::vector<deploy_status> all;
        for (const auto& [model, r] : self->state.records)
          all.push_back(r.status);
        return all;
      },
      [=](progress_atom, const load_progress& p) {
        deployment_record* r = self->state.by_id(p.deployment_id);
        if (!r || !r->deploying())
          return;
        // Progress and the contributor's answer travel separately: never undo a "ready". The
        // blocks stay as planned, and a report without byte counts (the host maps its file)
        // keeps the bytes fetched so far.
        for (load_progress& mine : r->status.servers)
          if (mine.node_id == p.node_id && mine.state != "ready") {
            mine.state = p.state;
            if (p.bytes_total > 0) {
              mine.bytes_done = p.bytes_done;
              mine.bytes_total = p.bytes_total;
            }
          }
      },
      [=](fetch_atom, const std::string& id, const std::string& node, uint64_t offset, uint64_t length) {
        return fetch(self, id, node, offset, length);
      },
      [=](move_atom, const std::string& id, const caf::actor_addr& host, bool need_free_cores) {
        return move_host(self, id, host, need_free_cores);
      },
  };
}

} // namespace

// Tells the registry about the deployment as it is now (a known id: the record is replaced).
void deployer_detail::publish(deployer_pointer self, const deployment_record& r, outcome_fn done) {
  deployment d = r.published();
  self->request(self->state.registry, ask_timeout, deployed_atom::value, d) // d is used below
      .then([=](bool) { done({}); },
            [=](caf::error& err) {
              // Undeployed elsewhere meanwhile: unload it here too, a new host included.
              if (error_text(err).find("was undeployed") != std::string::npos)
                release(self, d.model, d.deployment_id, nodes_of(d.hosts));
              done(make_llamps_error("the registry did not record it: " + error_text(err)));
            });
}

deployer_actor spawn_deployer(caf::actor_system& sys, registry_actor registry, planner_actor planner) {
  return sys.spawn(deployer, std::move(registry), std::move(planner));
}

void deployer_detail::reach_contributor(deployer_pointer self, const std::string& node,
                                        const std::string& address,
                                        std::function<void(contributor_actor)> then, outcome_fn otherwise) {
  self->request(self->state.registry, ask_timeout, contributor_atom::value, node)
      .then(
          [=](contributor_actor& c) {
            when_linked(self, {{node, address, c.node()}}, [=] { then(c); });
          },
          [=](caf::error& err) { otherwise(err); });
}

} // namespace llamps
