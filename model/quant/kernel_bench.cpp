// Kernel throughput on random matrices (kernel_bench.hpp).
#include "model/quant/kernel_bench.hpp"

#include <algorithm>
#include <chrono>
#include <random>

#include "model/quant/matrix.hpp"
#include "model/quant/quantize.hpp"

namespace llamps::quant {

weight_matrix random_matrix(tensor_type t, int64_t rows, int64_t cols, std::mt19937& rng) {
  std::normal_distribution<float> normal(0.f, 0.02f);
  weight_matrix w;
  w.name = "random";
  w.type = t;
  w.rows = rows;
  w.cols = cols;
  w.row_bytes = size_t(gguf::row_bytes(t, uint64_t(cols)));
  std::shared_ptr<uint8_t> data(new uint8_t[w.row_bytes * size_t(rows)], std::default_delete<uint8_t[]>());
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    for (float& v : row)
      v = normal(rng);
    quantize_row(t, row.data(), data.get() + size_t(r) * w.row_bytes, cols);
  }
  w.data = data;
  return w;
}

std::vector<kernel_rate> measure_kernels(const std::vector<tensor_type>& types,
                                         const std::vector<kernel_load>& loads, int64_t n_rows,
                                         int64_t n_cols, int runs) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.f, 1.f);
  int most = 1;
  for (const kernel_load& l : loads)
    most = std::max(most, l.rows);
  std::vector<float> x(size_t(most * n_cols)), y(size_t(most * n_rows));
  for (float& v : x)
    v = normal(rng);
  std::vector<kernel_rate> rates;
  for (tensor_type t : types) {
    const weight_matrix w = random_matrix(t, n_rows, n_cols, rng);
    for (isa set : every_isa) {
      if (!cpu_runs(set) || (set == isa::scalar && cpu_runs(isa::avx2)))
        continue; // the portable set is for correctness; it is timed only where it is all there is
      for (const kernel_load& load : loads) {
        const int n = load.rows;
        matmul(w, x.data(), n, y.data(), n_rows, false, set, load.kind); // warm-up
        double best = 1e30;
        for (int r = 0; r < runs; ++r) {
          const auto t0 = std::chrono::steady_clock::now();
          matmul(w, x.data(), n, y.data(), n_rows, false, set, load.kind);
          best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        rates.push_back({t, set, load, best, uint64_t(n) * uint64_t(n_rows * n_cols), w.bytes()});
      }
    }
  }
  return rates;
}

} // namespace llamps::quant
