#pragma once
// Reference measurements for `llamps bench`: how fast this machine streams weights through
// one matrix-vector product (the roofline of decode, which reads every weight once per token)
// and how fast its BLAS multiplies matrices. Torch-free header; uses the current compute
// threads (set_compute_threads).
#include <cstdint>

namespace llamps {

struct matvec_probe {
  int64_t rows = 0, cols = 0;
  uint64_t bytes = 0;       // the F32 matrix
  double best_seconds = 0;  // best of the runs
  double bytes_per_second() const { return best_seconds > 0 ? double(bytes) / best_seconds : 0; }
};
// y = W·x for a random F32 W of rows x cols (row-major, as the model's weights), the same
// product the decode path runs; best of `runs` after one warm-up.
matvec_probe measure_matvec(int64_t rows = 8192, int64_t cols = 16384, int runs = 5);

struct matmul_probe {
  int64_t n = 0;
  double best_seconds = 0;
  double flops_per_second() const { return best_seconds > 0 ? 2.0 * n * n * n / best_seconds : 0; }
};
// C = A·B for random F32 n x n matrices; best of `runs` after one warm-up.
matmul_probe measure_matmul(int64_t n = 1024, int runs = 5);

} // namespace llamps
