// The prefill kernels: a register tile of rows x tokens sums over F32 weights (dequantised a
// tile at a time) and decoded activations (dot.hpp's tile_kernel), and the vector
// dequantisers that feed it. Built twice (CMakeLists.txt): with AVX2 + FMA (8-lane vectors, a
// 6 x 16 tile: 12 accumulators, 2 loads and 6 broadcasts per 12 fmas) and with AVX-512
// (16-lane vectors, a 12 x 32 tile: 24 accumulators). Both take each sum as one fma chain over
// the columns in order, so their floats are equal.
#include "model/quant/dot.hpp"
#include "model/quant/kernel_set.hpp"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include "model/quant/formats.hpp"

namespace llamps::quant {

namespace {

#if defined(__AVX512F__)
using vec = __m512;
constexpr int lanes = 16, tile_rows = 12;
vec zero() { return _mm512_setzero_ps(); }
vec load(const float* p) { return _mm512_loadu_ps(p); }
vec splat(float v) { return _mm512_set1_ps(v); }
vec fma(vec a, vec b, vec c) { return _mm512_fmadd_ps(a, b, c); }
void store(float* p, vec v) { _mm512_storeu_ps(p, v); }
#else
using vec = __m256;
constexpr int lanes = 8, tile_rows = 6;
vec zero() { return _mm256_setzero_ps(); }
vec load(const float* p) { return _mm256_loadu_ps(p); }
vec splat(float v) { return _mm256_set1_ps(v); }
vec fma(vec a, vec b, vec c) { return _mm256_fmadd_ps(a, b, c); }
void store(float* p, vec v) { _mm256_storeu_ps(p, v); }
#endif
constexpr int tile_vectors = 2, tile_tokens = lanes * tile_vectors;

// One flat array of accumulators (GCC keeps it in registers; a two-dimensional one it stores
// to the stack at every step).
void multiply(const float* w, int64_t ldw, const float* x, int64_t n, float* out,
              const uint8_t* prefetch, int64_t prefetch_lines) {
  vec acc[tile_rows * tile_vectors];
  for (vec& a : acc)
    a = zero();
  for (int64_t k = 0; k < n; ++k, x += tile_tokens) {
    // At most one line per column: a tile's weights are at most 3/4 of a line per column
    // (F32: 4 bytes x 12 rows / 64), so the next tile arrives within this one.
    if (k < prefetch_lines)
      _mm_prefetch(reinterpret_cast<const char*>(prefetch + 64 * k), _MM_HINT_T1);
    const vec x0 = load(x), x1 = load(x + lanes);
#pragma GCC unroll 16
    for (int r = 0; r < tile_rows; ++r) {
      const vec wr = splat(w[r * ldw + k]);
      acc[2 * r] = fma(wr, x0, acc[2 * r]);
      acc[2 * r + 1] = fma(wr, x1, acc[2 * r + 1]);
    }
  }
  for (int i = 0; i < tile_rows * tile_vectors; ++i)
    store(out + i * lanes, acc[i]);
}

// A block's half-precision scale, by the F16C instruction (formats.hpp's load_half is the
// portable conversion; the two agree on every value).
float half(const uint8_t* p) { return _cvtsh_ss(load_u16(p)); }

__m256 half8(const uint8_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
__m256 int8x8(__m128i bytes) { return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(bytes)); }

// F16 and BF16 rows have any length: eight values a step, the rest one by one.
void f16(const uint8_t* w, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, half8(w + 2 * i));
  for (; i < n; ++i)
    out[i] = _cvtsh_ss(load_u16(w + 2 * i));
}

void bf16(const uint8_t* w, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(w + 2 * i));
    _mm256_storeu_ps(out + i, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)));
  }
  for (; i < n; ++i)
    out[i] = gguf::bf16_to_f32(load_u16(w + 2 * i));
}

void q8_0(const uint8_t* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 32, b += 34, out += 32) {
    const __m256 d = _mm256_set1_ps(half(b));
    for (int j = 0; j < 32; j += 8)
      _mm256_storeu_ps(out + j, _mm256_mul_ps(int8x8(_mm_loadl_epi64(
                                                  reinterpret_cast<const __m128i*>(b + 2 + j))),
                                              d));
  }
}

void q4_0(const uint8_t* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 32, b += 18, out += 32) {
    const __m256 d = _mm256_set1_ps(half(b));
    const __m128i packed = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 2));
    const __m128i low = _mm_and_si128(packed, _mm_set1_epi8(0x0F));
    const __m128i high = _mm_and_si128(_mm_srli_epi16(packed, 4), _mm_set1_epi8(0x0F));
    const __m128i eight = _mm_set1_epi8(8);
    const __m128i values[2] = {_mm_sub_epi8(low, eight), _mm_sub_epi8(high, eight)};
    for (int h = 0; h < 2; ++h) { // values 0..15 are the low nibbles, 16..31 the high ones
      _mm256_storeu_ps(out + 16 * h, _mm256_mul_ps(int8x8(values[h]), d));
      _mm256_storeu_ps(out + 16 * h + 8, _mm256_mul_ps(int8x8(_mm_srli_si128(values[h], 8)), d));
    }
  }
}

__m256i load32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

// 32 values as 32 bytes times a scale (the first 16 `first`, the others `second`), minus a
// min where the format has one: each value rounded as formats.cpp rounds it (this file is
// built without fp contraction).
template <bool is_signed, bool with_min>
void store_scaled(__m256i bytes, float first, float second, float min, float* out) {
  const __m256 m = _mm256_set1_ps(min);
  for (int j = 0; j < 4; ++j) {
    const __m128i part = j % 2 ? _mm_srli_si128(_mm256_extracti128_si256(bytes, j / 2), 8)
                               : _mm256_extracti128_si256(bytes, j / 2);
    const __m256i wide = is_signed ? _mm256_cvtepi8_epi32(part) : _mm256_cvtepu8_epi32(part);
    const __m256 v = _mm256_mul_ps(_mm256_set1_ps(j < 2 ? first : second), _mm256_cvtepi32_ps(wide));
    _mm256_storeu_ps(out + 8 * j, with_min ? _mm256_sub_ps(v, m) : v);
  }
}

// q4_k and q5_k (formats.cpp's layout): per chunk of 32 bytes, the low nibbles are sub-block
// 2c and the high ones 2c+1; q5_k adds bit s of each high-bit byte as the fifth bit.
template <bool five>
void q45_k(const uint8_t* b, float* out, int64_t n) {
  constexpr int bytes = five ? 176 : 144;
  const __m256i nibble = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
  for (int64_t i = 0; i < n; i += 256, b += bytes) {
    const float d = half(b), dmin = half(b + 2);
    const __m256i high_bits = five ? load32(b + 16) : _mm256_setzero_si256();
    const uint8_t* qs = b + (five ? 48 : 16);
    for (int c = 0; c < 4; ++c, qs += 32) {
      const __m256i packed = load32(qs);
      for (int s = 2 * c; s < 2 * c + 2; ++s, out += 32) {
        __m256i v = _mm256_and_si256(s & 1 ? _mm256_srli_epi16(packed, 4) : packed, nibble);
        if (five)
          v = _mm256_or_si256(v, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(high_bits, s), one), 4));
        int sc, mn;
        k4_scale_min(b + 4, s, sc, mn);
        const float dl = d * float(sc);
        store_scaled<false, true>(v, dl, dl, dmin * float(mn), out);
      }
    }
  }
}

// q6_k: in each half of 128 values, value 32j + l has its low four bits in byte l (j even) or
// 32 + l (j odd) of the low nibbles (j < 2: low nibble, else high), its top two bits at bit
// pair j of high-bit byte l; stored with +32, scale (32j + l) / 16.
void q6_k(const uint8_t* b, float* out, int64_t n) {
  const __m256i nibble = _mm256_set1_epi8(0x0F), two = _mm256_set1_epi8(3);
  for (int64_t i = 0; i < n; i += 256, b += 210) {
    const float d = half(b + 208);
    const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
    for (int half = 0; half < 2; ++half) {
      const __m256i high = load32(b + 128 + 32 * half);
      for (int j = 0; j < 4; ++j, out += 32) {
        const __m256i low_bytes = load32(b + 64 * half + 32 * (j & 1));
        const __m256i low = _mm256_and_si256(j < 2 ? low_bytes : _mm256_srli_epi16(low_bytes, 4), nibble);
        const __m256i top = _mm256_and_si256(_mm256_srli_epi16(high, 2 * j), two);
        const __m256i q = _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(top, 4)),
                                          _mm256_set1_epi8(32));
        store_scaled<true, false>(q, d * float(sc[8 * half + 2 * j]),
                                  d * float(sc[8 * half + 2 * j + 1]), 0.f, out);
      }
    }
  }
}

} // namespace

tile_kernel LLAMPS_KERNEL_SET::tile() { return {tile_rows, tile_tokens, multiply}; }

dequantize_fn LLAMPS_KERNEL_SET::dequantize(tensor_type t) {
  switch (t) {
  case tensor_type::f16: return f16;
  case tensor_type::bf16: return bf16;
  case tensor_type::q8_0: return q8_0;
  case tensor_type::q4_0: return q4_0;
  case tensor_type::q4_k: return q45_k<false>;
  case tensor_type::q5_k: return q45_k<true>;
  case tensor_type::q6_k: return q6_k;
  default: return nullptr;
  }
}

} // namespace llamps::quant

#else // not an x86 build with these instructions: no vector kernels

namespace llamps::quant {
tile_kernel LLAMPS_KERNEL_SET::tile() { return {}; }
dequantize_fn LLAMPS_KERNEL_SET::dequantize(tensor_type) { return nullptr; }
} // namespace llamps::quant

#endif
