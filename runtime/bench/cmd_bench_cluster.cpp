// llamps bench-cluster: the distributed speed figures on loopback. Starts a registry and N
// contributor node processes (this binary, `node ...`, on free ports), drives them as a shell
// does (planner, deployer and sessions in this process), and prints:
//   (a) decode tokens/s of the whole model in this process vs through the N-process chain;
//   (b) one session vs S concurrent sessions through the chain (batching across sessions);
//   (c) the added latency per hop: median step round trip minus the hosts' own forward time,
//       divided by the hops (hosts + the return), optionally on a second, wide model;
//   (d) each host process's resident memory vs its weight bytes + KV budget.
// Every child process is killed at the end, also on errors (and dies with us: PDEATHSIG).
// The clusters: bench_cluster_harness.hpp; (a)-(d): bench_cluster_measures.hpp; the output:
// bench_cluster_report.hpp.
#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include "actors/support/logging.hpp"
#include "model/decoder/block_stack.hpp"
#include "runtime/bench/bench_cluster_harness.hpp"
#include "runtime/bench/bench_cluster_measures.hpp"
#include "runtime/bench/bench_cluster_report.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/cli/commands.hpp"

namespace llamps {

namespace {

using namespace bench_cluster_detail;

int run(const options& o) {
  if (o.nodes < 1 || o.sessions < 1 || o.tokens < 2)
    throw_error("--nodes and --sessions must be at least 1, --tokens at least 2");
  const work_dir work(o.keep);
  print_start(o, work.path());

  // (a) the whole model in this process, measured before and again after the chain (best of
  // all runs), so a busy moment does not decide the ratio.
  bench_figures f;
  auto single = std::make_unique<generator>(o.model);
  f.single_before = single_process_rate(*single, o, 2);
  print_progress("single process", f.single_before, "decode (best of 2)");

  system_config cfg;
  caf::actor_system sys{cfg};
  harness h{sys, cfg, work.path(), o, nullptr};
  f.chain = measure_chain(h);
  f.single_after = single_process_rate(*single, o, 2);
  single.reset();
  print_progress("single process again", f.single_after, "decode (best of 2)");

  if (!o.hop_model.empty() || o.hop_hidden > 0)
    f.wide = measure_wide_hops(h);
  print_figures(o, f);
  return 0;
}

void add_options(cli::po::options_description& opts, options& o) {
  namespace po = cli::po;
  opts.add_options()("model", po::value(&o.model)->required(), "GGUF model to deploy and decode")(
      "nodes", po::value(&o.nodes)->default_value(o.nodes), "contributor node processes")(
      "sessions", po::value(&o.sessions)->default_value(o.sessions), "concurrent sessions for (b)")(
      "tokens", po::value(&o.tokens)->default_value(o.tokens), "tokens decoded per session")(
      "prompt", po::value(&o.prompt)->default_value(o.prompt), "prompt of every session")(
      "hop-hidden", po::value(&o.hop_hidden)->default_value(o.hop_hidden),
      "hidden size of the generated model for the per-hop figure (preset hop-N; 0 = only "
      "--model)")("hop-model", po::value(&o.hop_model), "use this GGUF for the wide per-hop figure instead")(
      "hop-steps", po::value(&o.hop_steps)->default_value(o.hop_steps), "decode steps timed for (c)")(
      "hop-gap-ms",
      po::value(&o.hop_gap_ms)->default_value(o.hop_gap_ms)->notifier(cli::between("hop-gap-ms", 0, 10000)),
      "idle milliseconds before each timed step of (c): every node idle, as a wide model's "
      "hosts are")("threads", po::value(&o.threads)->default_value(o.threads),
                   "compute threads of the single-process run (0 = all)")(
      "node-cores", po::value(&o.node_cores)->default_value(o.node_cores),
      "--share-cores of each node (0 = all)")(
      "cpu-priority", po::value(&o.cpu_priority)->default_value(o.cpu_priority),
      "--cpu-priority of each node: idle as deployed, or normal to measure the chain on a machine "
      "busy with other work (at idle the hosts get only the cores that work leaves)")(
      "timeout", po::value(&o.timeout)->default_value(o.timeout), "seconds allowed for making the hop model")(
      "keep", po::bool_switch(&o.keep),
      "keep the work directory (node logs)")("log-level", po::value(&o.log_level)->default_value(o.log_level),
                                             "log level of the nodes and this process");
}

} // namespace

int cmd::bench_cluster(int argc, char** argv) {
  options o;
  cli::po::options_description opts("llamps bench-cluster options");
  add_options(opts, o);
  auto parsed = cli::parse(argc, argv,
                           "llamps bench-cluster --model PATH [--nodes 3] [--sessions 16] "
                           "[--tokens N] [--hop-hidden 4096]",
                           opts);
  if (parsed.exit_code)
    return *parsed.exit_code;
  set_log_level(o.log_level);
  set_compute_threads(o.threads);
  try {
    return run(o);
  } catch (const std::exception& e) {
    std::fflush(stdout);
    std::fprintf(stderr, "llamps bench-cluster: %s\n", e.what());
    return 1;
  }
}

} // namespace llamps
