#pragma once
// Reference measurements for `llamps bench`: how fast this machine streams weights through
// one matrix-vector product (the roofline of decode, which reads every weight once per token)
// and how fast its BLAS multiplies matrices. Both run on libtorch and its BLAS, which only
// these probes use: they live in a plugin (libllamps_torch_probes.so) opened on the first
// probe, so no other command pays libtorch's start-up (its static initialisers). They run on the
// current compute threads (set_compute_threads).
#include <cstdint>

namespace llamps {

struct matvec_probe {
  int64_t rows = 0, cols = 0;
  uint64_t bytes = 0;      // the F32 matrix
  double best_seconds = 0; // best of the runs
  double bytes_per_second() const { return best_seconds > 0 ? double(bytes) / best_seconds : 0; }
};
// y = W·x for a random F32 W of rows x cols (row-major, as the model's weights); best of
// `runs` after one warm-up. Throws model_error when the plugin cannot be opened.
matvec_probe measure_matvec(int64_t rows = 8192, int64_t cols = 16384, int runs = 5);

struct matmul_probe {
  int64_t n = 0;
  double best_seconds = 0;
  double flops_per_second() const { return best_seconds > 0 ? 2.0 * n * n * n / best_seconds : 0; }
};
// C = A·B for random F32 n x n matrices; best of `runs` after one warm-up.
matmul_probe measure_matmul(int64_t n = 1024, int runs = 5);

// Where the probes' plugin is looked for, in order: $LLAMPS_TORCH_PROBES, then beside the
// program, then ../lib/llamps/ from the program's directory (the installed layout).
const char* torch_probes_file_name(); // "libllamps_torch_probes.so"

} // namespace llamps
