#include "model/shapes/roofline.hpp"

#include <chrono>

#include "model/torch_pch.hpp"

namespace llamps {

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
} // namespace

matvec_probe measure_matvec(int64_t rows, int64_t cols, int runs) {
  c10::InferenceMode guard;
  matvec_probe p;
  p.rows = rows;
  p.cols = cols;
  p.bytes = uint64_t(rows * cols) * sizeof(float);
  at::Tensor w = at::rand({rows, cols});
  at::Tensor x = at::rand({1, cols});
  at::Tensor y = at::empty({1, rows});
  at::Tensor yv = y.view({rows});
  p.best_seconds = best_of(runs, [&] { at::mv_out(yv, w, x.view({cols})); });
  return p;
}

matmul_probe measure_matmul(int64_t n, int runs) {
  c10::InferenceMode guard;
  matmul_probe p;
  p.n = n;
  at::Tensor a = at::rand({n, n}), b = at::rand({n, n}), c = at::empty({n, n});
  p.best_seconds = best_of(runs, [&] { at::mm_out(c, a, b); });
  return p;
}

} // namespace llamps
