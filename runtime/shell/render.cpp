#include "runtime/shell/render.hpp"

#include <cstdio>
#include <sstream>

namespace llamps {

namespace {

std::string blocks_text(int32_t first, int32_t last) {
  return last - first == 1 ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(last - 1);
}

} // namespace

std::string render_servers(const std::vector<server_status>& servers) {
  if (servers.empty())
    return "no servers have joined\n";
  std::ostringstream out;
  out << format_text("%-14s %-22s %10s %6s %-8s %s\n", "SERVER", "ADDRESS", "LEFTOVER", "CORES", "HEALTH",
                     "HOSTING");
  for (auto& s : servers) {
    std::string hosting;
    for (auto& h : s.hosting)
      hosting +=
          (hosting.empty() ? "" : ", ") + h.model + "[" + blocks_text(h.first, h.last) + "]" +
          (h.draining ? " draining" : "") +
          // live figures (the contributor refreshes them before each heartbeat)
          (h.sessions > 0 ? " " + std::to_string(h.sessions) + " sessions " + human_bytes(h.kv_bytes) + " KV"
                          : "");
    out << format_text("%-14s %-22s %10s %6d %-8s %s\n", s.offer.node_id.c_str(), s.offer.address.c_str(),
                       human_bytes(s.offer.memory_bytes).c_str(), s.offer.cores, s.healthy ? "ok" : "gone",
                       hosting.empty() ? "-" : hosting.c_str());
  }
  return out.str();
}

std::string render_plan(const placement_plan& plan) {
  std::ostringstream out;
  out << "plan for " << plan.model << ": " << plan.summary << "\n";
  out << format_text("%-14s %-8s %10s %10s %9s\n", "SERVER", "BLOCKS", "WEIGHTS", "KV BUDGET", "SESSIONS");
  for (auto& e : plan.entries)
    out << format_text("%-14s %-8s %10s %10s %9d\n", e.node_id.c_str(), blocks_text(e.first, e.last).c_str(),
                       human_bytes(e.weight_bytes).c_str(), human_bytes(e.kv_budget_bytes).c_str(),
                       e.sessions_capacity);
  out << format_text("chain holds %d concurrent sessions; predicted bottleneck %.0f tokens/s\n",
                     plan.sessions_capacity, plan.predicted_tokens_per_s);
  return out.str();
}

std::string render_deployments(const std::vector<deployment>& deployments) {
  if (deployments.empty())
    return "no models deployed\n";
  std::ostringstream out;
  for (auto& d : deployments) {
    out << d.model << " (" << d.deployment_id << ", " << d.profile.n_blocks << " blocks, " << d.replicas
        << (d.replicas == 1 ? " replica" : " replicas") << "):";
    for (auto& h : d.hosts)
      out << " " << h.node_id << "[" << blocks_text(h.range.first, h.range.last) << "]";
    out << "\n";
  }
  return out.str();
}

std::string render_progress(const deploy_status& status) {
  std::ostringstream out;
  out << status.model << " " << status.deployment_id << ": " << status.state << "\n";
  for (auto& s : status.servers)
    out << format_text("  %-14s %10s / %-10s %s\n", s.node_id.c_str(), human_bytes(s.bytes_done).c_str(),
                       human_bytes(s.bytes_total).c_str(), s.state.c_str());
  return out.str();
}

std::string render_load_line(const load_progress& p, double bytes_per_s) {
  const int percent = p.bytes_total > 0 ? static_cast<int>(p.bytes_done * 100 / p.bytes_total)
                                        : (p.state == "ready" ? 100 : 0);
  const std::string rate = bytes_per_s >= 0 ? human_bytes(static_cast<uint64_t>(bytes_per_s)) + "/s" : "-";
  return format_text("  %-14s blocks %-7s %10s / %-10s %3d%% %11s  %s\n", p.node_id.c_str(),
                     p.last > p.first ? blocks_text(p.first, p.last).c_str() : "-",
                     human_bytes(p.bytes_done).c_str(), human_bytes(p.bytes_total).c_str(), percent,
                     rate.c_str(), p.state.c_str());
}

std::string render_route(const std::vector<std::string>& nodes) {
  std::string out;
  for (auto& n : nodes)
    out += (out.empty() ? "" : " -> ") + n;
  return out;
}

std::string render_ids(const std::vector<int32_t>& ids) {
  std::string out;
  for (auto id : ids)
    out += (out.empty() ? "" : " ") + std::to_string(id);
  return out;
}

} // namespace llamps
