// The deployer's replacement of a host: its blocks are loaded on a spare server and the
// deployment is published with the new host in its place. One path serves a host that died
// (a repair, started by the CAF down message) and a host whose node drains it (a move, asked
// by that node before it releases the blocks).
#include <string>
#include <vector>

#include "actors/client/deployer_state.hpp"

namespace llamps::deployer_detail {

void replace_host(deployer_pointer self, const std::string& model, size_t index, replacement why,
                  outcome_fn done) {
  deployment_record& rec = self->state.records.at(model);
  const std::string id = rec.status.deployment_id;
  const host_ref old = rec.hosts[index];
  const std::string blocks =
      "blocks " + std::to_string(old.range.first) + "-" + std::to_string(old.range.last - 1);
  // A host that is being moved and then released (or dies) needs no second load.
  if (!rec.replacing.insert(old.host.address()).second)
    return done(make_llamps_error(id + ": " + blocks + " are already being moved"));
  const std::string what = why == replacement::repair ? "the host is gone; loading them on a spare server"
                           : why == replacement::move
                               ? "they are draining; moving them to a spare server"
                               : "their node has no core left; moving them to a server with one";
  self->state.log->warn("{}: {} on {}: {}", id, blocks, old.node_id, what);
  auto finish = [=](const caf::error& err) { // every path ends here
    if (auto r = self->state.records.find(model); r != self->state.records.end())
      r->second.replacing.erase(old.host.address());
    if (err)
      self->state.log->error("{}: moving {} off {} failed: {}", id, blocks, old.node_id, error_text(err));
    done(err);
  };
  auto changed = [=] { finish(make_llamps_error(id + " changed meanwhile (undeployed or replaced)")); };
  auto load_on = [=](const std::string& node, contributor_actor c) {
    deployment_record* r = self->state.serving(model, id, index, old.host);
    if (!r)
      return changed();
    r->contributors[node] = c;
    r->source->allow(node, old.range.first, old.range.last);
    r->status.servers.push_back(load_progress{id, node, 0, old.range.weight_bytes, "loading (replacement)",
                                              old.range.first, old.range.last});
    load_order order{id, r->request.model, old.range.first, old.range.last, old.range.kv_budget_bytes, ""};
    self->request(c, load_timeout, load_atom::value, std::move(order), caf::actor_cast<deployer_actor>(self))
        .then(
            [=](host_ref& host) {
              deployment_record* r = self->state.serving(model, id, index, old.host);
              if (!r)
                return changed();
              r->set_server_state(node, "ready");
              r->set_server_state(old.node_id, "replaced by " + node);
              r->hosts[index] = host;
              self->demonitor(old.host.address()); // its release is no fault
              self->monitor(host.host);
              self->state.log->info("{}: {} now on {}", id, blocks, node);
              publish(self, *r, finish);
            },
            finish);
  };
  self->request(self->state.registry, ask_timeout, servers_atom::value)
      .then(
          [=](const std::vector<server_status>& servers) {
            deployment_record* r = self->state.serving(model, id, index, old.host);
            if (!r)
              return changed();
            auto spare = pick_spare(*r, old.range, servers, why == replacement::relieve);
            if (!spare) {
              if (why != replacement::relieve) // a relieved host serves on as it was
                r->set_server_state(old.node_id, why == replacement::repair ? "lost, no spare server"
                                                                            : "draining, no spare server");
              return finish(make_llamps_error("no spare server can take " + blocks));
            }
            const std::string node = spare->node_id;
            reach_contributor(
                self, node, spare->address, [=](contributor_actor c) { load_on(node, c); }, finish);
          },
          finish);
}

caf::result<bool> move_host(deployer_pointer self, const std::string& deployment_id,
                            const caf::actor_addr& host, bool need_free_cores) {
  auto found = self->state.find_host(host);
  if (!found || self->state.records.at(found->model).status.deployment_id != deployment_id)
    return make_llamps_error("deployment " + deployment_id +
                             " is not ready here with that host: nothing to move");
  // Only the node that runs the host may give it up.
  auto sender = self->current_sender();
  if (!sender || sender->node() != host.node())
    return make_llamps_error("a host of " + deployment_id + " may only be given up by its own node");
  auto promise = self->make_response_promise<bool>();
  const replacement why = need_free_cores ? replacement::relieve : replacement::move;
  replace_host(self, found->model, found->index, why, [=](const caf::error& err) mutable {
    if (err)
      promise.deliver(err);
    else
      promise.deliver(true);
  });
  return promise;
}

} // namespace llamps::deployer_detail
