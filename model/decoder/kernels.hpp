#pragma once
// The small numeric pieces the forward pass shares (block_stack.cpp, model_head.cpp): a plain
// row-major buffer for activations, RMS norm, and the weight products of model/quant/.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "model/gguf/gguf.hpp"
#include "model/quant/matrix.hpp"

namespace llamps::kernels {

// rows x cols floats, row-major, on a cache line's boundary and left uninitialised when made:
// the activations and scratch of one forward call, each written before it is read (zeroing a
// long prompt's intermediates would be one more pass over memory for nothing).
struct row_matrix {
  struct release {
    void operator()(float* p) const { std::free(p); }
  };
  int64_t rows = 0, cols = 0;
  std::unique_ptr<float[], release> values;

  row_matrix() = default;
  row_matrix(int64_t r, int64_t c) : rows(r), cols(c), values(allocate(size_t(r * c))) {}
  float* data() { return values.get(); }
  const float* data() const { return values.get(); }
  float* row(int64_t r) { return values.get() + r * cols; }
  const float* row(int64_t r) const { return values.get() + r * cols; }
  int64_t size() const { return rows * cols; }

private:
  static float* allocate(size_t n) {
    const size_t bytes = (std::max<size_t>(n, 1) * sizeof(float) + 63) / 64 * 64;
    auto* p = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (!p)
      throw std::bad_alloc();
    return p;
  }
};

// out = x * rsqrt(mean(x^2) + eps) * weight, row by row (as llama2.c's rmsnorm).
void rmsnorm(row_matrix& out, const row_matrix& x, const std::vector<float>& weight, float eps);

// Columns [col, col + w.rows) of y = x·Wᵀ (or +=) for a matrix in its file type (F32
// included), through the kernels of model/quant/, which encode x as llama.cpp does before the
// products. `rows` says whether x's rows are one sequence's positions or several sessions'
// steps.
void linear(row_matrix& y, int64_t col, const row_matrix& x, const quant::weight_matrix& w,
            bool accumulate = false, quant::row_kind rows = quant::row_kind::positions);

// The F32 vector `name` (a norm, a bias, rope factors), checking its ggml dims.
std::vector<float> load_vector(const gguf::file& f, const std::string& name,
                               const std::vector<uint64_t>& dims);

} // namespace llamps::kernels
