#pragma once
// The small numeric pieces the forward pass shares (block_stack.cpp, model_head.cpp,
// roofline.cpp). Uses libtorch: include only from model/*.cpp.
#include <cstdint>
#include <string>
#include <vector>

#include "model/gguf/gguf.hpp"
#include "model/quant/matrix.hpp"
#include "model/torch_pch.hpp"

namespace llamps::kernels {

// out = x * rsqrt(mean(x^2) + eps) * weight, row by row (as llama2.c's rmsnorm). A plain loop:
// on a 64-wide model the five torch ops it would take cost more than the arithmetic.
void rmsnorm(at::Tensor& out, const at::Tensor& x, const at::Tensor& weight, float eps);

// Columns [col, col + w.rows) of y = x·Wᵀ (or +=) for a matrix in its file type (F32
// included), through the kernels of model/quant/, which encode x as llama.cpp does before the
// products.
// `rows` says whether x's rows are one sequence's positions or several sessions' steps.
void linear(at::Tensor& y, int64_t col, const at::Tensor& x, const quant::weight_matrix& w,
            bool accumulate = false, quant::row_kind rows = quant::row_kind::positions);

// Reads the tensor `name` into dst (F32, contiguous), checking its ggml dims; dst may be a
// row range of a larger fused matrix.
void load_tensor(const gguf::file& f, const std::string& name, const std::vector<uint64_t>& dims,
                 at::Tensor dst);

} // namespace llamps::kernels
