// The roofline probes on libtorch: the one file of LLaMPS that includes it, built as the
// plugin libllamps_torch_probes.so (roofline.cpp opens it). The functions are extern "C" so
// that the loader finds them by plain names.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace {

template <class F>
double best_of(int runs, F&& f) {
  f(); // warm-up: page faults, thread pool start
  double best = 1e30;
  for (int r = 0; r < runs; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

void use_threads(int threads) {
  at::set_num_threads(std::max(1, threads));
  // Nothing here runs inter-op work: one inter-op thread, set before its first use.
  static std::once_flag once;
  std::call_once(once, [] { at::set_num_interop_threads(1); });
}

} // namespace

extern "C" double llamps_probe_matvec_seconds(int64_t rows, int64_t cols, int runs, int threads) {
  use_threads(threads);
  c10::InferenceMode guard;
  at::Tensor w = at::rand({rows, cols});
  at::Tensor x = at::rand({cols});
  at::Tensor y = at::empty({rows});
  return best_of(runs, [&] { at::mv_out(y, w, x); });
}

extern "C" double llamps_probe_matmul_seconds(int64_t n, int runs, int threads) {
  use_threads(threads);
  c10::InferenceMode guard;
  at::Tensor a = at::rand({n, n}), b = at::rand({n, n}), c = at::empty({n, n});
  return best_of(runs, [&] { at::mm_out(c, a, b); });
}
