#pragma once
// A weight matrix kept in its file's type, and its product with rows of activations. The
// weights are the file's own bytes (mapped), never an F32 copy. Torch-free: threads come from
// thread_team.hpp, bounded by set_threads (the node's share of cores).
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/gguf/gguf.hpp"
#include "model/quant/dot.hpp"

namespace llamps::quant {

// [rows, cols] row-major: ggml dims {cols, rows}, each row `row_bytes` of blocks.
struct weight_matrix {
  std::string name;
  tensor_type type = tensor_type::f32;
  int64_t rows = 0, cols = 0;
  size_t row_bytes = 0;
  std::shared_ptr<const uint8_t> data;

  uint64_t bytes() const { return uint64_t(rows) * row_bytes; }
  const uint8_t* row(int64_t r) const { return data.get() + size_t(r) * row_bytes; }
  // Dequantises row r into out (cols floats): the embedding lookup.
  void row_f32(int64_t r, float* out) const;
};

// The tensor `name` of f as a matrix, its ggml dims checked against `dims` ({cols, rows}, or
// {cols} for a single row). Throws model_error naming the file, the tensor and the problem.
weight_matrix map_matrix(const gguf::file& f, const std::string& name, const std::vector<uint64_t>& dims);

// What the activation rows of a product are: consecutive positions of one sequence (a
// prompt: from a tile's width on, the tile kernels take them), or one row of each of several
// sessions (a decode batch: only kernels that sum as the one-row dot product does, so that a
// session's numbers never depend on how many others it was batched with).
enum class row_kind : uint8_t { positions, sessions };

// y[b * ldy + r] = W[r] . x[b] (or += when accumulate) for the n rows of x ([n, cols]
// row-major) and every row r of W. Each activation row is encoded once; the weights are read
// from memory once for all n rows; rows of W are split over the threads.
void matmul(const weight_matrix& w, const float* x, int64_t n, float* y, int64_t ldy, bool accumulate,
            isa kernels = active_isa(), row_kind rows = row_kind::positions);

// Whether matmul takes w through dot.hpp's q4_0_x8 (Q4_0 with rows in eights, as llama.cpp's
// x86 build repacks them): then its sums are in that order at every row count and kind.
bool sums_in_eights(const weight_matrix& w);

// Whether matmul takes n rows of the given kind through dot.hpp's int8 tiles on set i: for
// at least int8_tile_min_rows rows of a prompt (a group of 16 padded from fewer costs more
// than the vector products), or of any kind where the sums are in eights (the same floats).
constexpr int64_t int8_tile_min_rows = 8;
bool takes_int8_tiles(const weight_matrix& w, int64_t n, row_kind rows, isa i);

// Threads for matmul (0 = all cores).
void set_threads(int n);
int threads();

} // namespace llamps::quant
