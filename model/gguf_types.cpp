// ggml tensor types: names, block layouts, half-precision conversion and dequantisation.
#include <cmath>
#include <cstring>

#include "model/gguf.hpp"

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
    {tensor_type::f32, "f32", 1, 4},      {tensor_type::f16, "f16", 1, 2},
    {tensor_type::q4_0, "q4_0", 32, 18},  {tensor_type::q4_1, "q4_1", 32, 20},
    {tensor_type::q5_0, "q5_0", 32, 22},  {tensor_type::q5_1, "q5_1", 32, 24},
    {tensor_type::q8_0, "q8_0", 32, 34},  {tensor_type::q8_1, "q8_1", 32, 36},
    {tensor_type::q2_k, "q2_K", 256, 84}, {tensor_type::q3_k, "q3_K", 256, 110},
    {tensor_type::q4_k, "q4_K", 256, 144}, {tensor_type::q5_k, "q5_K", 256, 176},
    {tensor_type::q6_k, "q6_K", 256, 210}, {tensor_type::q8_k, "q8_K", 256, 292},
    {tensor_type::bf16, "bf16", 1, 2},
};

const type_traits* traits(tensor_type t) {
  for (const auto& tt : traits_table)
    if (tt.type == t)
      return &tt;
  return nullptr;
}

uint16_t load_u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
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

void dequantize_q8_0(const uint8_t* src, float* dst, uint64_t n) {
  for (uint64_t b = 0; b < n / 32; ++b, src += 34, dst += 32) {
    const float d = fp16_to_f32(load_u16(src));
    const auto* q = reinterpret_cast<const int8_t*>(src + 2);
    for (int i = 0; i < 32; ++i)
      dst[i] = float(q[i]) * d;
  }
}

void dequantize_q4_0(const uint8_t* src, float* dst, uint64_t n) {
  for (uint64_t b = 0; b < n / 32; ++b, src += 18, dst += 32) {
    const float d = fp16_to_f32(load_u16(src));
    const uint8_t* qs = src + 2;
    for (int i = 0; i < 16; ++i) {
      dst[i] = float(int(qs[i] & 0x0F) - 8) * d;   // low nibbles: elements 0..15
      dst[i + 16] = float(int(qs[i] >> 4) - 8) * d; // high nibbles: elements 16..31
    }
  }
}

} // namespace

const char* type_name(tensor_type t) {
  const auto* tt = traits(t);
  return tt ? tt->name : "unknown";
}

bool is_supported(tensor_type t) {
  switch (t) {
  case tensor_type::f32: case tensor_type::f16: case tensor_type::bf16:
  case tensor_type::q8_0: case tensor_type::q4_0:
    return true;
  default:
    return false;
  }
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

void dequantize(tensor_type t, const uint8_t* src, float* dst, uint64_t n) {
  switch (t) {
  case tensor_type::f32:
    std::memcpy(dst, src, n * 4);
    return;
  case tensor_type::f16:
    for (uint64_t i = 0; i < n; ++i)
      dst[i] = fp16_to_f32(load_u16(src + 2 * i));
    return;
  case tensor_type::bf16:
    for (uint64_t i = 0; i < n; ++i)
      dst[i] = bf16_to_f32(load_u16(src + 2 * i));
    return;
  case tensor_type::q8_0:
    dequantize_q8_0(src, dst, n);
    return;
  case tensor_type::q4_0:
    dequantize_q4_0(src, dst, n);
    return;
  default:
    throw model_error(std::string("cannot dequantise tensor type ") + type_name(t));
  }
}

} // namespace llamps::gguf
