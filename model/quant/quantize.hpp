#pragma once
// F32 rows written in weight formats (for `llamps make-model` and the kernel benchmark).
// Torch-free.
#include <cstdint>

#include "model/gguf/gguf.hpp"

namespace llamps::quant {

using gguf::tensor_type;

bool can_quantize(tensor_type t); // f32, f16, q8_0, q4_0, q4_k, q6_k
// Writes n values (a multiple of the type's block size) of x into out in type t. Throws
// model_error for a type it cannot write.
void quantize_row(tensor_type t, const float* x, uint8_t* out, int64_t n);

} // namespace llamps::quant
