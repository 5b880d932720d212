#include "runtime/bench/bench_cluster_report.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "model/quant/dot.hpp"

namespace llamps::bench_cluster_detail {

namespace {

// (a) and (b): the single process against the chain, one session against many.
void print_rates(const options& o, const bench_figures& f) {
  const double single = std::max(f.single_before, f.single_after);
  const chain_figures& c = f.chain;
  std::printf("\n| figure | value |\n|---|---:|\n");
  std::printf("| (a) decode, single process | %.2f tok/s (best of %.2f before, %.2f after the "
              "chain) |\n",
              single, f.single_before, f.single_after);
  std::printf("| (a) decode, %d-process chain, 1 session | %.2f tok/s |\n", o.nodes, c.one_session);
  std::printf("| (a) distribution efficiency (chain / single) | **%.3f** |\n",
              single > 0 ? c.one_session / single : 0);
  std::printf("| (b) chain, 1 session | %.2f tok/s |\n", c.one_session);
  std::printf("| (b) chain, %d concurrent sessions, aggregate | %.2f tok/s (%zu tokens, %.2f s "
              "window) |\n",
              o.sessions, c.aggregate, c.tokens, c.window_s);
  std::printf("| (b) many-clients ratio (aggregate / 1 session) | **%.2f** |\n",
              c.one_session > 0 ? c.aggregate / c.one_session : 0);
}

void print_hop_row(const char* label, const hop_figures& f) {
  std::printf("| %s | %d | %d | %d | %.0f | %.0f | %.0f | **%.0f** | %.0f | %.2f |\n", label, f.width,
              f.hosts, f.steps, f.rtt_us, f.forward_us, f.added_us, f.per_hop_us, f.floor_us,
              f.floor_us > 0 ? f.per_hop_us / f.floor_us : 0);
}

// (c): a row for --model, and one for the wide model when there is one.
void print_hops(const bench_figures& f) {
  std::printf("\n(c) per-hop added latency (median over steps; hops = hosts + 1 return), and "
              "the machine's\nfloor: one message of the hidden state's size over loopback TCP "
              "to an idle process:\n\n");
  std::printf("| model | hidden | hosts | steps | step round trip us | hosts' forward us "
              "| added us | per hop us | loopback TCP floor us | per hop / floor |\n");
  std::printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  print_hop_row(f.chain.model.c_str(), f.chain.hops);
  if (f.wide)
    print_hop_row("wide", *f.wide);
}

// (d): each host of --model, by its first block.
void print_memory(const options& o, const std::vector<memory_row>& memory) {
  std::printf("\n(d) host process memory (with %d sessions' KV held):\n\n", o.sessions);
  std::printf("| host | blocks | VmRSS MB | VmHWM MB | weights MB | KV budget MB | KV used MB "
              "| RSS / (weights + KV budget) | steps / forward calls |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|---:|\n");
  for (auto& m : memory)
    std::printf("| %s | [%d,%d) | %.1f | %.1f | %.1f | %.1f | %.1f | **%.3f** | %.2f |\n", m.node.c_str(),
                m.first, m.last, m.rss / 1e6, m.hwm / 1e6, m.weights / 1e6, m.kv_budget / 1e6,
                m.kv_used / 1e6, double(m.rss) / double(std::max<uint64_t>(1, m.weights + m.kv_budget)),
                double(m.steps) / double(std::max<uint64_t>(1, m.batches)));
}

} // namespace

void print_start(const options& o, const std::string& work) {
  std::printf("llamps bench-cluster: %s, %d node processes, %d sessions, %d tokens each "
              "(work dir %s)\n",
              o.model.c_str(), o.nodes, o.sessions, o.tokens, work.c_str());
}

void print_progress(const std::string& what, double tok_s, const std::string& how) {
  std::printf("%s: %.2f tok/s %s\n", what.c_str(), tok_s, how.c_str());
  std::fflush(stdout);
}

void print_cpu() { std::printf("cpu: %s\n", quant::cpu_description().c_str()); }

void print_deploying(const model_profile& p, int nodes, const std::string& share) {
  std::printf("deploying %s (%d blocks, %.2f GB of blocks) over %d node processes, %s GB "
              "offered each...\n",
              p.name.c_str(), p.n_blocks, double(p.block_bytes) * p.n_blocks / 1e9, nodes, share.c_str());
  std::fflush(stdout);
}

void print_deployed(double seconds, cluster_client& client, const std::string& model) {
  std::printf("deployed in %.1f s:", seconds);
  for (auto& d : client.deployments())
    if (d.model == model)
      for (auto& h : d.hosts)
        std::printf(" %s[%d,%d)", h.node_id.c_str(), h.range.first, h.range.last);
  std::printf("\n");
  std::fflush(stdout);
}

void print_figures(const options& o, const bench_figures& f) {
  print_rates(o, f);
  print_hops(f);
  print_memory(o, f.chain.memory);
  std::fflush(stdout);
}

} // namespace llamps::bench_cluster_detail
