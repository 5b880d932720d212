// ggml tensor types: names, block layouts and half-precision conversion (model/quant/ holds
// the formats' meaning).
#include <cmath>
#include <cstring>

#include "model/gguf/gguf.hpp"

namespace llamps::gguf {

namespace {

struct type_traits {
  tensor_type type;
  const char* name;
  uint32_t block_size;  // elements per block
  uint32_t block_bytes; // bytes per block
};

// Block sizes as in ggml's type_traits table; K-quants use QK_K = 256.
constexpr type_traits traits_table[] = {
    {tensor_type::f32, "f32", 1, 4},
    {tensor_type::f16, "f16", 1, 2},
    {tensor_type::q4_0, "q4_0", 32, 18},
    {tensor_type::q4_1, "q4_1", 32, 20},
    {tensor_type::q5_0, "q5_0", 32, 22},
    {tensor_type::q5_1, "q5_1", 32, 24},
    {tensor_type::q8_0, "q8_0", 32, 34},
    {tensor_type::q8_1, "q8_1", 32, 36},
    {tensor_type::q2_k, "q2_K", 256, 84},
    {tensor_type::q3_k, "q3_K", 256, 110},
    {tensor_type::q4_k, "q4_K", 256, 144},
    {tensor_type::q5_k, "q5_K", 256, 176},
    {tensor_type::q6_k, "q6_K", 256, 210},
    {tensor_type::q8_k, "q8_K", 256, 292},
    {tensor_type::iq2_xxs, "iq2_xxs", 256, 66},
    {tensor_type::iq2_xs, "iq2_xs", 256, 74},
    {tensor_type::iq3_xxs, "iq3_xxs", 256, 98},
    {tensor_type::iq1_s, "iq1_s", 256, 50},
    {tensor_type::iq4_nl, "iq4_nl", 32, 18},
    {tensor_type::iq3_s, "iq3_s", 256, 110},
    {tensor_type::iq2_s, "iq2_s", 256, 82},
    {tensor_type::iq4_xs, "iq4_xs", 256, 136},
    {tensor_type::i8, "i8", 1, 1},
    {tensor_type::i16, "i16", 1, 2},
    {tensor_type::i32, "i32", 1, 4},
    {tensor_type::i64, "i64", 1, 8},
    {tensor_type::f64, "f64", 1, 8},
    {tensor_type::iq1_m, "iq1_m", 256, 56},
    {tensor_type::bf16, "bf16", 1, 2},
    {tensor_type::tq1_0, "tq1_0", 256, 54},
    {tensor_type::tq2_0, "tq2_0", 256, 66},
};

const type_traits* traits(tensor_type t) {
  for (const auto& tt : traits_table)
    if (tt.type == t)
      return &tt;
  return nullptr;
}

float bits_to_f32(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint32_t f32_to_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits;
}

} // namespace

const char* type_name(tensor_type t) {
  const auto* tt = traits(t);
  return tt ? tt->name : "unknown";
}

bool is_supported(tensor_type t) {
  switch (t) {
  case tensor_type::f32:
  case tensor_type::f16:
  case tensor_type::bf16:
  case tensor_type::q8_0:
  case tensor_type::q4_0:
  case tensor_type::q4_1:
  case tensor_type::q5_0:
  case tensor_type::q5_1:
  case tensor_type::q2_k:
  case tensor_type::q3_k:
  case tensor_type::q4_k:
  case tensor_type::q5_k:
  case tensor_type::q6_k:
  case tensor_type::iq4_nl: return true;
  default: return false;
  }
}

const char* supported_type_names() {
  return "f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_K, q3_K, q4_K, q5_K, q6_K, iq4_nl";
}

bool is_known(tensor_type t) { return traits(t) != nullptr; }

uint32_t block_size(tensor_type t) {
  const auto* tt = traits(t);
  return tt ? tt->block_size : 0;
}

uint64_t row_bytes(tensor_type t, uint64_t n) {
  const auto* tt = traits(t);
  if (!tt)
    throw model_error(std::string("unknown tensor type ") + std::to_string(uint32_t(t)));
  return n / tt->block_size * tt->block_bytes;
}

float fp16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1F;
  const uint32_t mant = h & 0x3FF;
  if (exp == 0x1F) // inf / nan
    return bits_to_f32(sign | 0x7F800000u | (mant << 13));
  if (exp == 0) { // zero / subnormal: mant * 2^-24
    const float v = std::ldexp(float(mant), -24);
    return sign ? -v : v;
  }
  return bits_to_f32(sign | ((exp + 112) << 23) | (mant << 13));
}

uint16_t f32_to_fp16(float f) {
  // Round-to-nearest-even, as ggml's GGML_FP32_TO_FP16 (F16C / the portable fallback).
  const uint32_t x = f32_to_bits(f);
  const uint16_t sign = uint16_t((x >> 16) & 0x8000);
  const uint32_t abs = x & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) // nan: keep it a (quiet) nan
    return uint16_t(sign | 0x7E00);
  if (abs >= 0x477FF000u) // rounds to >= 65520: overflow to inf
    return uint16_t(sign | 0x7C00);
  if (abs < 0x38800000u) { // below the smallest normal half: subnormal or zero
    // Adding 0.5f aligns the mantissa so the FPU does the rounding for us.
    const float v = bits_to_f32(abs) + 0.5f;
    return uint16_t(sign | uint16_t(f32_to_bits(v) - f32_to_bits(0.5f)));
  }
  uint32_t m = abs + 0xC8000FFFu + ((abs >> 13) & 1); // rebias exponent and round to even
  return uint16_t(sign | uint16_t(m >> 13));
}

float bf16_to_f32(uint16_t h) { return bits_to_f32(uint32_t(h) << 16); }

uint16_t f32_to_bf16(float f) {
  // Round to nearest even, as ggml; a nan stays a (quiet) nan.
  const uint32_t x = f32_to_bits(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u)
    return uint16_t((x >> 16) | 64);
  return uint16_t((x + (0x7FFFu + ((x >> 16) & 1))) >> 16);
}

} // namespace llamps::gguf
