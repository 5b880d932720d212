#pragma once
// F32 rows quantised into weight formats (for `llamps make-model`). Torch-free.
#include <cstdint>

#include "model/gguf.hpp"

namespace llamps::quant {

using gguf::tensor_type;

bool can_quantize(tensor_type t); // q8_0, q4_0, q4_k, q6_k
// Quantises n values (a multiple of the type's block size) of x into out. Throws model_error
// for a type it cannot write.
void quantize_row(tensor_type t, const float* x, uint8_t* out, int64_t n);

} // namespace llamps::quant
