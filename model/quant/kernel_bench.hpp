#pragma once
// Throughput of the matrix kernels, per weight type, instruction set and number of activation
// rows, on a random matrix held in memory: `llamps bench --kernels`. Comparing sets and row
// counts within one run is what tells a kernel change apart from this machine's noise.
// Torch-free.
#include <cstdint>
#include <random>
#include <vector>

#include "model/quant/matrix.hpp"

namespace llamps::quant {

// What one product multiplies: `rows` activation rows, of one prompt or of as many sessions.
struct kernel_load {
  int rows;
  row_kind kind;
};

struct kernel_rate {
  tensor_type type;
  isa kernels;
  kernel_load load;
  double seconds;         // best of the runs, one product
  uint64_t multiply_adds; // of one product
  uint64_t weight_bytes;  // the matrix's
  double gmacs() const { return double(multiply_adds) / seconds / 1e9; }
  double weight_gbs() const { return double(weight_bytes) / seconds / 1e9; }
};

// A [rows, cols] matrix of type t, its values drawn from N(0, 0.02) and quantised by
// quantize_row (held in memory, not mapped): what the kernels are timed and tested on.
weight_matrix random_matrix(tensor_type t, int64_t rows, int64_t cols, std::mt19937& rng);

// For each type (one quantize_row writes) a random [n_rows, n_cols] matrix, and for
// each instruction set this CPU runs and each load, the best of `runs` products.
std::vector<kernel_rate> measure_kernels(const std::vector<tensor_type>& types,
                                         const std::vector<kernel_load>& loads, int64_t n_rows,
                                         int64_t n_cols, int runs);

} // namespace llamps::quant
