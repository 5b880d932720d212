#pragma once
// Throughput of the matrix kernels, per weight type, instruction set and number of activation
// rows, on a random matrix held in memory: `llamps bench --kernels`. Comparing sets and row
// counts within one run is what tells a kernel change apart from this machine's noise.
// Torch-free.
#include <cstdint>
#include <vector>

#include "model/quant/dot.hpp"

namespace llamps::quant {

struct kernel_rate {
  tensor_type type;
  isa kernels;
  int rows;               // activation rows per product
  double seconds;         // best of the runs, one product
  uint64_t multiply_adds; // of one product
  uint64_t weight_bytes;  // the matrix's
  double gmacs() const { return double(multiply_adds) / seconds / 1e9; }
  double weight_gbs() const { return double(weight_bytes) / seconds / 1e9; }
};

// For each type (one quantize_row writes) a random [n_rows, n_cols] matrix, and for
// each instruction set this CPU runs and each row count, the best of `runs` products.
std::vector<kernel_rate> measure_kernels(const std::vector<tensor_type>& types,
                                         const std::vector<int>& row_counts, int64_t n_rows, int64_t n_cols,
                                         int runs);

} // namespace llamps::quant
