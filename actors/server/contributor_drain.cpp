// Draining a contributor's hosts: a draining host takes no new sessions (the registry learns
// it from the next heartbeat), the deployer that loaded it moves its blocks to a spare server,
// and it is released once its sessions ended and the move was answered (or its time ran
// out). One path serves a node that leaves (SIGTERM) and one whose leftover shrank.
#include <algorithm>
#include <chrono>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "actors/server/contributor_state.hpp"

namespace llamps::contributor_detail {

namespace {

// Notes that a draining host's move was answered (or never will be): it may go once its
// sessions end. The first answer counts; false if it had one already.
bool note_move_answer(contributor_state& st, hosted_blocks& h, const std::string& problem) {
  if (h.move_answered)
    return false;
  h.move_answered = true;
  if (problem.empty())
    st.log->info("{}: {} moved to another server; released once its sessions end", st.opts.node_id,
                 blocks_of(h.range));
  else
    st.log->warn("{}: nobody moved {} ({}); released once its sessions end", st.opts.node_id,
                 blocks_of(h.range), problem);
  return true;
}

// The deployer answered the move of a draining host, or is found not to answer.
void move_answered(contributor_pointer self, const std::string& deployment_id, const block_host_actor& host,
                   const std::string& problem) {
  auto& st = self->state;
  hosted_blocks* h = st.find(deployment_id, host);
  if (!h || !note_move_answer(st, *h, problem))
    return;
  // An idle host need not wait for the next tick: fresh figures now (none to get when the
  // registry is away, as it routes no session here meanwhile).
  if (st.joined)
    refresh_and_heartbeat(self);
  else
    release_drained(self);
}

// A deployer whose process ended may never answer a move: its down message (forget_deployer)
// comes only when CAF sees the connection to its node drop, not for a peer reached through
// another node. So while a move is pending, the deployer must answer a status question
// within a heartbeat interval, at the drain's start and on every tick.
void check_mover(contributor_pointer self, const std::string& deployment_id, const hosted_blocks& h) {
  const auto patience = std::max<std::chrono::milliseconds>(self->state.opts.heartbeat_interval,
                                                            std::chrono::milliseconds(500));
  const block_host_actor host = h.host;
  self->request(h.deployer, patience, progress_atom::value)
      .then([](const std::vector<deploy_status>&) {},
            [=](caf::error& err) {
              move_answered(self, deployment_id, host, "its deployer does not answer: " + error_text(err));
            });
}

} // namespace

// A leaving node leaves the registry once its last host is released, and answers the leave.
void finish_leave_when_empty(contributor_pointer self) {
  auto& st = self->state;
  if (!st.leaving || !st.hosts.empty() || !st.leave_promise.pending())
    return;
  self->send(st.registry, leave_atom::value, st.opts.node_id);
  st.log->info("{} drained{}; its blocks are released", st.opts.node_id,
               st.left_in_time ? "" : " (time ran out before every session ended)");
  st.leave_promise.deliver(st.left_in_time);
}

// Stops every draining host that may go (its sessions ended and its blocks are served
// elsewhere, or nobody can move them) or whose time ran out.
void release_drained(contributor_pointer self) {
  auto& st = self->state;
  const auto now = clock_type::now();
  std::vector<hosted_blocks> going;
  for (const auto& [id, list] : st.hosts)
    for (const auto& h : list)
      if (h.range.draining && (h.may_release() || now >= h.release_by))
        going.push_back(h);
  for (const hosted_blocks& h : going) {
    const bool in_time = h.may_release();
    st.left_in_time = st.left_in_time && in_time;
    self->demonitor(h.host.address());
    self->send_exit(h.host, caf::exit_reason::user_shutdown);
    st.forget(h.host.address());
    st.log->info("{}: released {}{}", st.opts.node_id, blocks_of(h.range),
                 in_time ? "" : " (time ran out before its sessions ended)");
  }
  if (!going.empty())
    send_heartbeat(self);
  finish_leave_when_empty(self);
}

// A deployer's process ended (CAF says so when the connection to its node drops): nobody
// will move the blocks it loaded, so their drains need not wait for it.
void forget_deployer(contributor_pointer self, const caf::actor_addr& gone) {
  std::vector<std::pair<std::string, block_host_actor>> waiting;
  for (auto& [id, list] : self->state.hosts)
    for (auto& h : list)
      if (h.deployer && h.deployer.address() == gone) {
        h.deployer = deployer_actor{};
        if (h.range.draining && !h.move_answered)
          waiting.emplace_back(id, h.host);
      }
  for (auto& [id, host] : waiting)
    move_answered(self, id, host, "its deployer is gone");
}

void check_movers(contributor_pointer self) {
  for (const auto& [id, list] : self->state.hosts)
    for (const auto& h : list)
      if (h.range.draining && h.ready && !h.move_answered)
        check_mover(self, id, h);
}

// Drains one host: the registry routes no new session to it from the next heartbeat on, and
// the deployer that loaded it is asked to load its blocks elsewhere before they are released
// (forget_deployer and check_mover notice a deployer that is gone).
void drain(contributor_pointer self, const std::string& deployment_id, hosted_blocks& h,
           std::chrono::milliseconds within) {
  h.range.draining = true;
  h.release_by = clock_type::now() + within;
  if (!h.ready)
    return; // serves nobody yet: released at once (its load fails)
  if (!h.deployer) {
    note_move_answer(self->state, h, "its deployer is gone");
    return;
  }
  const block_host_actor host = h.host;
  self->request(h.deployer, within, move_atom::value, deployment_id, host.address(), false)
      .then([=](bool) { move_answered(self, deployment_id, host, ""); },
            [=](caf::error& err) { move_answered(self, deployment_id, host, error_text(err)); });
  check_mover(self, deployment_id, h);
}

// Asks the deployer to serve a host's blocks on another server while the host goes on
// serving: once they are, it drains as any moved host (released when its sessions end). A host
// no other server takes stays as it is.
void offer_elsewhere(contributor_pointer self, const std::string& deployment_id, const hosted_blocks& h) {
  auto& st = self->state;
  if (!h.deployer)
    return;
  st.log->warn("{}: the machine's own work has left no core for {:.0f} s: offering {} to other servers",
               st.opts.node_id, std::chrono::duration<double>(st.opts.cpu_drain_after).count(),
               blocks_of(h.range));
  const block_host_actor host = h.host;
  self->request(h.deployer, st.drain_time, move_atom::value, deployment_id, host.address(), true)
      .then(
          [=](bool) {
            hosted_blocks* moved = self->state.find(deployment_id, host);
            if (!moved || moved->range.draining)
              return;
            moved->range.draining = true;
            moved->release_by = clock_type::now() + self->state.drain_time;
            move_answered(self, deployment_id, host, "");
          },
          [=](caf::error& err) {
            if (hosted_blocks* kept = self->state.find(deployment_id, host))
              self->state.log->warn("{}: no other server takes {} ({}): it keeps serving here, at its low "
                                    "priority",
                                    self->state.opts.node_id, blocks_of(kept->range), error_text(err));
          });
}

// Offers every serving host's blocks to other servers once the machine's own work has left
// this node no core for cpu-drain-seconds: here they compute only in the owner's gaps. Once per
// such stretch: a host nobody takes stays, and is offered again only after the owner has left
// a core free and then taken them all again.
void drain_when_starved(contributor_pointer self) {
  auto& st = self->state;
  const auto wait = st.opts.cpu_drain_after;
  if (st.leaving || st.offered_while_starved || wait.count() <= 0 || !st.starved_since ||
      clock_type::now() - *st.starved_since < wait)
    return;
  st.offered_while_starved = true;
  for (auto& [id, h] : st.serving())
    if (h->ready)
      offer_elsewhere(self, id, *h);
}

// Drains just enough hosts to fit again when what this node may give shrank below what its
// hosts were promised (the machine's owner took memory back, or the share limit was lowered).
// The shortfall must show on two ticks in a row: MemAvailable moves with the page cache and
// short-lived processes.
void drain_to_fit(contributor_pointer self) {
  auto& st = self->state;
  if (st.leaving)
    return;
  auto serving = st.serving();
  std::vector<uint64_t> committed;
  for (const auto& [id, h] : serving)
    committed.push_back(h->committed_bytes());
  const uint64_t usable = st.usable_bytes();
  const auto chosen = hosts_to_drain(committed, usable);
  st.shortfall_ticks = chosen.empty() ? 0 : st.shortfall_ticks + 1;
  if (st.shortfall_ticks < 2)
    return;
  st.shortfall_ticks = 0;
  const uint64_t held = std::accumulate(committed.begin(), committed.end(), uint64_t{0});
  for (size_t i : chosen) {
    auto& [id, h] = serving[i];
    st.log->warn("{}: share limit now {}, {} usable; leftover shrank below the {} its hosts hold: "
                 "draining {}",
                 st.opts.node_id, share_limit_text(st.opts.share_memory_bytes), human_bytes(usable),
                 human_bytes(held), blocks_of(h->range));
    drain(self, id, *h, st.drain_time);
  }
}

} // namespace llamps::contributor_detail
