// llamps bench: prefill and decode tokens/s of the whole model in this process, batched decode,
// and decode's weight traffic against the bandwidth of one large matrix-vector product
// measured in the same run (the roofline). Without --model, only the BLAS probes run;
// --kernels adds the matrix kernels' throughput per weight type and instruction set.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>

#include "model/decoder/block_stack.hpp"
#include "model/quant/dot.hpp"
#include "model/quant/kernel_bench.hpp"
#include "model/shapes/roofline.hpp"
#include "runtime/bench/process_group.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/cli/commands.hpp"

namespace {

using namespace llamps;
using clock_type = std::chrono::steady_clock;

int32_t argmax(const std::vector<float>& v) {
  return int32_t(std::max_element(v.begin(), v.end()) - v.begin());
}

struct model_under_test {
  gguf::file file;
  llama_config cfg;
  model_head head;
  block_stack blocks;
  double head_seconds = 0; // time in embed + logits, summed by step()

  model_under_test(const std::string& path, kv_type kv)
      : file(gguf::file::open(path)), cfg(read_llama_config(file)), head(file, cfg),
        blocks(file, cfg, 0, cfg.n_blocks, 0, kv) {}

  // Runs `tokens` of session s at pos; returns the last row's logits.
  std::vector<float> step(session_id s, int32_t pos, const std::vector<int32_t>& tokens) {
    auto t0 = clock_type::now();
    tensor_data in = head.embed(tokens);
    head_seconds += seconds_since(t0);
    tensor_data h = blocks.forward(s, pos, in);
    t0 = clock_type::now();
    auto logits = head.logits(h.values.data() + (h.rows() - 1) * h.cols());
    head_seconds += seconds_since(t0);
    return logits;
  }

  // Greedy decode of n tokens after the session's first `pos` positions; returns seconds.
  double decode(session_id s, int32_t pos, std::vector<float> logits, int n) {
    auto t0 = clock_type::now();
    for (int k = 0; k < n; ++k)
      logits = step(s, pos + k, {argmax(logits)});
    return seconds_since(t0);
  }
};

// One line per weight type and instruction set: decode's single row as weight bandwidth,
// the batched and prefill row counts as multiply-adds per second.
void print_kernels(int64_t size, int runs) {
  using gguf::tensor_type;
  using quant::row_kind;
  const std::vector<quant::kernel_load> rows = {
      {1, row_kind::sessions}, {4, row_kind::sessions}, {16, row_kind::sessions}, {32, row_kind::positions}};
  const auto rates = quant::measure_kernels(
      {tensor_type::f16, tensor_type::q8_0, tensor_type::q4_0, tensor_type::q4_k, tensor_type::q6_k}, rows,
      size, size, runs);
  std::printf("kernels (%lld x %lld weights, best of %d; per product: 1 row, 4 and 16 sessions, a "
              "prompt of 32 positions):\n",
              (long long)size, (long long)size, runs);
  for (size_t i = 0; i < rates.size(); i += rows.size()) {
    std::printf("  %-5s %-11s", gguf::type_name(rates[i].type), quant::isa_name(rates[i].kernels));
    for (size_t k = 0; k < rows.size(); ++k) {
      const quant::kernel_rate& r = rates[i + k];
      if (r.load.rows == 1)
        std::printf(" 1 row %6.2f GB/s %6.2f GMAC/s |", r.weight_gbs(), r.gmacs());
      else
        std::printf(" %d %s %6.2f GMAC/s", r.load.rows,
                    r.load.kind == row_kind::sessions ? "sessions" : "positions", r.gmacs());
    }
    std::printf("\n");
  }
}

void print_rate(const char* what, double count, double seconds, const char* unit) {
  std::printf("%-28s %10.1f %s  (%d in %.1f ms)\n", what, count / seconds, unit, int(count), seconds * 1e3);
}

} // namespace

int llamps::cmd::bench(int argc, char** argv) {
  namespace po = cli::po;
  po::options_description opts("options");
  opts.add_options()("model", po::value<std::string>(), "GGUF model file (without it: only the BLAS probes)")(
      "prompt-tokens", po::value<int>()->default_value(64)->notifier(cli::at_least("prompt-tokens", 1)),
      "tokens in the prefill")(
      "decode-tokens", po::value<int>()->default_value(128)->notifier(cli::at_least("decode-tokens", 1)),
      "tokens decoded one at a time")
      // each session holds a full-context KV cache
      ("batch", po::value<int>()->default_value(4)->notifier(cli::between("batch", 1, 64)),
       "sessions decoded together by forward_batch")(
          "threads", po::value<int>()->default_value(0)->notifier(cli::threads_option()),
          "compute threads (0 = all cores)")(
          "kv-type", po::value<std::string>()->default_value("f16")->notifier(cli::kv_type_option()),
          "KV cache type: f16 or f32")(
          "probe-rows",
          po::value<int64_t>()->default_value(8192)->notifier(cli::at_least<int64_t>("probe-rows", 1)),
          "rows of the roofline matrix")(
          "probe-cols",
          po::value<int64_t>()->default_value(16384)->notifier(cli::at_least<int64_t>("probe-cols", 1)),
          "columns of the roofline matrix")(
          "matmul-size",
          po::value<int64_t>()->default_value(1024)->notifier(cli::at_least<int64_t>("matmul-size", 1)),
          "n of the n x n BLAS probe")("runs",
                                       po::value<int>()->default_value(5)->notifier(cli::at_least("runs", 1)),
                                       "repetitions of each probe (best is kept)")(
          "kernels", "also time the matrix kernels per weight type, instruction set and row count")(
          "kernel-size",
          po::value<int64_t>()->default_value(4096)->notifier(
              cli::between<int64_t>("kernel-size", 256, 65536)),
          "n of the n x n matrices --kernels times (a multiple of 256)");
  auto parsed = cli::parse(argc, argv, "llamps bench [--model PATH] [options]", opts);
  if (parsed.exit_code)
    return *parsed.exit_code;
  const auto& vars = parsed.vars;
  const int threads = vars["threads"].as<int>();
  set_compute_threads(threads);
  const int runs = vars["runs"].as<int>();
  // The model is opened first, so that a bad path fails at once, not after the probes.
  std::optional<model_under_test> model;
  if (vars.count("model"))
    model.emplace(vars["model"].as<std::string>(), parse_kv_type(vars["kv-type"].as<std::string>()));

  std::printf("%-28s %s\n", "cpu", quant::cpu_description().c_str());
  matmul_probe mm = measure_matmul(vars["matmul-size"].as<int64_t>(), runs);
  std::printf("%-28s %10.2f GFLOP/s  (F32 %lld x %lld matrix product, best of %d)\n", "BLAS matrix product",
              mm.flops_per_second() / 1e9, (long long)mm.n, (long long)mm.n, runs);
  matvec_probe mv = measure_matvec(vars["probe-rows"].as<int64_t>(), vars["probe-cols"].as<int64_t>(), runs);
  std::printf("%-28s %10.2f GB/s     (F32 %lld x %lld = %.0f MB times a vector, best of %d)\n",
              "matrix-vector bandwidth", mv.bytes_per_second() / 1e9, (long long)mv.rows, (long long)mv.cols,
              mv.bytes / 1e6, runs);
  if (vars.count("kernels")) {
    const int64_t size = vars["kernel-size"].as<int64_t>() / 256 * 256;
    print_kernels(size, runs);
  }
  if (!model)
    return 0;

  model_under_test& m = *model;
  const llama_config& c = m.cfg;
  const int decode_n = std::max(1, std::min(vars["decode-tokens"].as<int>(), c.n_ctx / 2));
  const int prompt_n = std::max(1, std::min(vars["prompt-tokens"].as<int>(), c.n_ctx - decode_n));
  const int batch = vars["batch"].as<int>();
  std::printf("model %s: %d blocks, embedding %d, %s\n", c.name.c_str(), c.n_blocks, c.n_embd,
              threads > 0 ? (std::to_string(threads) + (threads == 1 ? " thread" : " threads")).c_str()
                          : "threads on all cores");
  std::printf("%-28s %s (%.1f MB of weights in memory)\n", "weight types", m.file.type_summary().c_str(),
              double(m.blocks.weight_bytes() + m.head.weight_bytes()) / 1e6);

  // A deterministic prompt: BOS, then ids spread over the vocabulary.
  std::vector<int32_t> prompt{1};
  for (int i = 1; i < prompt_n; ++i)
    prompt.push_back(int32_t((i * 7919) % c.n_vocab));

  // Prefill: the prompt in one call from position 0 (the cache is rebuilt each time).
  double prefill = 1e30;
  std::vector<float> logits;
  for (int r = 0; r < 3; ++r) {
    auto t0 = clock_type::now();
    logits = m.step(1, 0, prompt);
    prefill = std::min(prefill, seconds_since(t0));
  }
  print_rate("prefill", prompt_n, prefill, "tokens/s");

  // Decode, one session: a warm-up, the timed run, then a profiled run for the breakdown
  // (each rewinds to the prompt's end).
  m.decode(1, prompt_n, logits, std::min(decode_n, 8));
  const double decode = m.decode(1, prompt_n, logits, decode_n);
  print_rate("decode (1 session)", decode_n, decode, "tokens/s");
  m.head_seconds = 0;
  m.blocks.set_profiling(true);
  const double profiled = m.decode(1, prompt_n, logits, decode_n);
  const forward_profile prof = m.blocks.profile();
  const double head_s = m.head_seconds;
  m.blocks.set_profiling(false);

  // Batched decode: `batch` sessions at different positions, one forward_batch and one
  // batched head product per step, as the cluster's hosts and head batcher do.
  {
    std::vector<std::vector<float>> last(static_cast<size_t>(batch));
    std::vector<int32_t> pos(static_cast<size_t>(batch));
    for (int s = 0; s < batch; ++s) {
      std::vector<int32_t> p(prompt.begin(), prompt.begin() + std::max(1, prompt_n - 3 * s));
      last[size_t(s)] = m.step(session_id(100 + s), 0, p);
      pos[size_t(s)] = int32_t(p.size());
    }
    auto t0 = clock_type::now();
    for (int k = 0; k < decode_n; ++k) {
      std::vector<decode_step> steps;
      for (int s = 0; s < batch; ++s)
        steps.push_back(
            {session_id(100 + s), pos[size_t(s)] + k, m.head.embed({argmax(last[size_t(s)])}).values});
      auto out = m.blocks.forward_batch(steps);
      std::vector<const float*> rows; // the head too reads its weights once for the batch
      for (auto& o : out)
        rows.push_back(o.data());
      last = m.head.logits(rows);
    }
    const double t = seconds_since(t0);
    char label[64];
    std::snprintf(label, sizeof label, "decode (%d sessions)", batch);
    print_rate(label, double(batch) * decode_n, t, "tokens/s");
  }

  // Roofline: every block weight and the output head are read once per decoded token.
  const uint64_t per_token = m.blocks.weight_bytes() + m.head.logits_bytes();
  const double streamed = double(per_token) * decode_n / decode;
  std::printf("%-28s %10.2f GB/s     (%.1f MB per token)\n", "decode weight traffic", streamed / 1e9,
              per_token / 1e6);
  std::printf("%-28s %10.1f %%        of the matrix-vector bandwidth\n", "roofline ratio",
              100.0 * streamed / mv.bytes_per_second());

  // Where a decode token's time goes.
  const double blocks_s = prof.matmul_seconds + prof.attention_seconds + prof.other_seconds;
  auto share = [&](const char* what, double s) {
    std::printf("  %-32s %8.1f us/token %6.1f %%\n", what, s / decode_n * 1e6, 100.0 * s / profiled);
  };
  std::printf("decode time per token (profiled run, %.1f us/token):\n", profiled / decode_n * 1e6);
  share("block matrix products", prof.matmul_seconds);
  share("attention (rope, cache, softmax)", prof.attention_seconds);
  share("norms and swiglu", prof.other_seconds);
  share("head (embed, norm, logits)", head_s);
  share("rest (copies, dispatch)", profiled - blocks_s - head_s);
  return 0;
}
