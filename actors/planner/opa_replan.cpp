// Re-planning when servers join, leave or change their leftover. A block has to move only if
// its host left or no longer holds it; every other block stays where it is. So: keep each
// surviving range (trimmed to the host's new capacity), then fill each hole by growing the
// neighbouring ranges into it and, for what remains, by new servers, the largest first. The
// blocks moved are then exactly the orphaned ones, the least possible. Only when the holes
// cannot be filled does it fall back to a fresh plan (and lists every block that moved).
#include <algorithm>
#include <map>

#include "actors/planner/opa_detail.hpp"

namespace llamps::opa {

namespace {

using detail::chain;

struct repair_state {
  const std::vector<server_offer>& servers;
  std::vector<int> cap;         // whole blocks each server holds now
  std::vector<int> reserved_by; // chain a server already belongs to, -1 if free
};

// The host of every block of chain c, -1 for orphans.
std::vector<int> surviving_owners(const plan& old, int c, int n_blocks,
                                  const std::map<std::string, int>& by_name, const repair_state& st) {
  std::vector<int> owner(n_blocks, -1);
  for (const assignment& a : old.assignments) {
    auto it = by_name.find(a.server);
    if (a.replica != c || it == by_name.end() || st.reserved_by[it->second] != c)
      continue;
    int keep = std::min(a.blocks(), st.cap[it->second]);
    for (int b = a.first; b < a.first + keep && b < n_blocks; ++b)
      owner[b] = it->second;
  }
  return owner;
}

int hosted(const std::vector<int>& owner, int server) {
  return static_cast<int>(std::count(owner.begin(), owner.end(), server));
}

// Fills the hole [a, b] of one chain; false if the free servers cannot.
bool fill_hole(std::vector<int>& owner, int a, int b, int c, repair_state& st) {
  if (a > 0) { // grow the range on the left into the hole
    int p = owner[a - 1];
    for (int spare = st.cap[p] - hosted(owner, p); spare > 0 && a <= b; --spare)
      owner[a++] = p;
  }
  if (b + 1 < static_cast<int>(owner.size())) { // and the one on the right
    int p = owner[b + 1];
    for (int spare = st.cap[p] - hosted(owner, p); spare > 0 && a <= b; --spare)
      owner[b--] = p;
  }
  while (a <= b) {
    int best = -1;
    for (size_t i = 0; i < st.servers.size(); ++i)
      if (st.reserved_by[i] < 0 && st.cap[i] > 0 && (best < 0 || st.cap[i] > st.cap[best]))
        best = static_cast<int>(i);
    if (best < 0)
      return false;
    st.reserved_by[best] = c;
    for (int n = st.cap[best]; n > 0 && a <= b; --n)
      owner[a++] = best;
  }
  return true;
}

chain owners_to_chain(const std::vector<int>& owner) {
  chain ch;
  for (size_t b = 0; b < owner.size(); ++b) {
    if (b == 0 || owner[b] != owner[b - 1])
      ch.servers.push_back(owner[b]), ch.counts.push_back(0);
    ++ch.counts.back();
  }
  return ch;
}

// Host name of every (chain, block).
std::vector<std::vector<std::string>> hosts_by_block(const plan& p, int n_blocks) {
  std::vector<std::vector<std::string>> hosts(std::max(p.replicas, 1), std::vector<std::string>(n_blocks));
  for (const assignment& a : p.assignments)
    if (a.replica < static_cast<int>(hosts.size()))
      for (int b = a.first; b < a.last && b < n_blocks; ++b)
        hosts[a.replica][b] = a.server;
  return hosts;
}

void list_moves(const plan& old, replan_result& out, int n_blocks) {
  auto before = hosts_by_block(old, n_blocks), after = hosts_by_block(out.next, n_blocks);
  for (size_t c = 0; c < after.size(); ++c) {
    for (int b = 0; b < n_blocks; ++b) {
      std::string from = c < before.size() ? before[c][b] : "";
      if (from == after[c][b])
        continue;
      ++out.blocks_moved;
      block_move* last = out.moves.empty() ? nullptr : &out.moves.back();
      if (last && last->replica == static_cast<int>(c) && last->last == b && last->from == from &&
          last->to == after[c][b])
        last->last = b + 1;
      else
        out.moves.push_back({static_cast<int>(c), b, b + 1, from, after[c][b]});
    }
  }
}

} // namespace

replan_result replan(const plan& old, const std::vector<server_offer>& servers, const plan_request& request) {
  const int n_blocks = request.model.n_blocks;
  replan_result out;
  repair_state st{servers, {}, std::vector<int>(servers.size(), -1)};
  std::map<std::string, int> by_name;
  for (size_t i = 0; i < servers.size(); ++i) {
    by_name.emplace(servers[i].name, static_cast<int>(i));
    bool computes = servers[i].cores > 0 || servers[i].measured_block_tokens_per_s > 0;
    st.cap.push_back(computes ? detail::whole_blocks(detail::usable_bytes(servers[i], request),
                                                     detail::block_cost(request), n_blocks)
                              : 0);
  }
  bool repairable = old.feasible && old.replicas == request.replicas && n_blocks > 0;
  for (const assignment& a : old.assignments)
    if (auto it = by_name.find(a.server); it != by_name.end() && st.reserved_by[it->second] < 0)
      st.reserved_by[it->second] = a.replica;

  std::vector<chain> chains;
  for (int c = 0; repairable && c < request.replicas; ++c) {
    std::vector<int> owner = surviving_owners(old, c, n_blocks, by_name, st);
    for (int a = 0; repairable && a < n_blocks; ++a) {
      if (owner[a] >= 0)
        continue;
      int b = a;
      while (b + 1 < n_blocks && owner[b + 1] < 0)
        ++b;
      repairable = fill_hole(owner, a, b, c, st);
    }
    if (repairable)
      chains.push_back(owners_to_chain(owner));
  }
  out.next = repairable ? detail::build_plan(servers, request, chains) : make_plan(servers, request);
  list_moves(old, out, n_blocks);
  return out;
}

} // namespace llamps::opa
