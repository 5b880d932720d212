#pragma once
// The weight formats LLaMPS computes on, and their exact dequantisation (the format's meaning:
// what llama.cpp's reference dequantiser produces, bit for bit). Torch-free.
//
// Blocks, as ggml lays them out (little-endian; "half" is an IEEE binary16 scale):
//   q8_0   32 values  34 B: half d; int8 q[32]                      x = d*q
//   q4_0   32 values  18 B: half d; 16 B nibbles                    x = d*(q-8)
//   q4_1   32 values  20 B: half d, m; 16 B nibbles                 x = d*q + m
//   q5_0   32 values  22 B: half d; 4 B fifth bits; 16 B nibbles    x = d*(q-16)
//   q5_1   32 values  24 B: half d, m; 4 B fifth bits; 16 B nibbles x = d*q + m
//   iq4_nl 32 values  18 B: half d; 16 B nibbles                    x = d*table[q]
//   In the 32-value blocks, byte j holds value j in its low nibble and value j+16 in its high
//   one; fifth bits: bit j of the 32-bit word is value j's.
//   K-quants: super-blocks of 256 values, sub-blocks of 16 or 32 with their own small scales:
//   q2_k   84 B: 16 B scales (low nibble scale, high nibble min); 64 B of 2-bit q; half d, dmin
//   q3_k  110 B: 32 B high bits; 64 B of 2-bit q; 12 B of sixteen 6-bit scales; half d
//   q4_k  144 B: half d, dmin; 12 B of eight 6-bit scales and mins; 128 B nibbles
//   q5_k  176 B: half d, dmin; 12 B scales and mins; 32 B fifth bits; 128 B nibbles
//   q6_k  210 B: 128 B low nibbles; 64 B of 2-bit highs; int8 scales[16]; half d
#include <cstdint>
#include <cstring>

#include "model/gguf/gguf.hpp"

namespace llamps::quant {

using gguf::tensor_type;

// Dequantises n values (a multiple of the type's block size) of a supported type. Throws
// model_error for a type that is not supported.
void dequantize_row(tensor_type t, const uint8_t* src, float* dst, int64_t n);

// The 32-value formats' layout, for the kernels: whether a block has a min (q4_1, q5_1),
// whether it has fifth bits (q5_0, q5_1), the offset its stored values carry (q4_0: 8, q5_0:
// 16), and its size in bytes.
constexpr bool block32_has_min(tensor_type t) { return t == tensor_type::q4_1 || t == tensor_type::q5_1; }
constexpr bool block32_has_high(tensor_type t) { return t == tensor_type::q5_0 || t == tensor_type::q5_1; }
constexpr int block32_offset(tensor_type t) {
  return t == tensor_type::q4_0 ? 8 : t == tensor_type::q5_0 ? 16 : 0;
}
constexpr int block32_bytes(tensor_type t) {
  return t == tensor_type::q8_0 ? 34 : 2 + (block32_has_min(t) ? 2 : 0) + (block32_has_high(t) ? 4 : 0) + 16;
}

// The 16 values of IQ4_NL's non-linear 4-bit code.
extern const int8_t iq4_nl_values[16];

// The 6-bit scale and min of sub-block j (0..7) of a q4_k / q5_k super-block's 12 scale bytes.
void k4_scale_min(const uint8_t* scales, int j, int& scale, int& min);
// The sixteen signed 6-bit scales of a q3_k super-block's 12 scale bytes.
void q3_k_scales(const uint8_t* packed, int8_t out[16]);

// Little-endian reads from a block.
inline uint16_t load_u16(const uint8_t* p) { return uint16_t(p[0] | (p[1] << 8)); }
inline float load_half(const uint8_t* p) { return gguf::fp16_to_f32(load_u16(p)); }
inline float load_f32(const uint8_t* p) {
  float v;
  std::memcpy(&v, p, 4);
  return v;
}

} // namespace llamps::quant
