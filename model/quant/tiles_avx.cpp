// The prefill kernels: a register tile of rows x tokens sums over F32 weights (dequantised a
// tile at a time) and decoded activations (dot.hpp's tile_kernel), and the vector
// dequantisers that feed it. Built twice (CMakeLists.txt): with AVX2 + FMA (8-lane vectors, a
// 6 x 16 tile: 12 accumulators, 2 loads and 6 broadcasts per 12 fmas) and with AVX-512
// (16-lane vectors, a 12 x 32 tile: 24 accumulators). Both take each sum as one fma chain over
// the columns in order, so their floats are equal.
#include "model/quant/dot.hpp"
#include "model/quant/kernel_set.hpp"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
// GCC 12 warns about the undefined vectors inside its own AVX-512 intrinsics (its bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
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
void multiply(const float* w, int64_t ldw, const float* x, int64_t n, float* out, const uint8_t* prefetch,
              int64_t prefetch_lines) {
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

// 16 values from 16 bytes (signed or not) times a scale, minus a min where the format has
// one: each value rounded as formats.cpp rounds it (this file is built without fp
// contraction). One 16-lane step with AVX-512, two 8-lane ones without.
template <bool is_signed, bool with_min>
void store16(__m128i bytes, float scale, float min, float* out) {
#if defined(__AVX512F__)
  const __m512i wide = is_signed ? _mm512_cvtepi8_epi32(bytes) : _mm512_cvtepu8_epi32(bytes);
  const __m512 v = _mm512_mul_ps(_mm512_set1_ps(scale), _mm512_cvtepi32_ps(wide));
  _mm512_storeu_ps(out, with_min ? _mm512_sub_ps(v, _mm512_set1_ps(min)) : v);
#else
  for (int h = 0; h < 2; ++h) {
    const __m128i part = h ? _mm_srli_si128(bytes, 8) : bytes;
    const __m256i wide = is_signed ? _mm256_cvtepi8_epi32(part) : _mm256_cvtepu8_epi32(part);
    const __m256 v = _mm256_mul_ps(_mm256_set1_ps(scale), _mm256_cvtepi32_ps(wide));
    _mm256_storeu_ps(out + 8 * h, with_min ? _mm256_sub_ps(v, _mm256_set1_ps(min)) : v);
  }
#endif
}

// F16 and BF16 rows have any length: 16 (or 8) values a step, the rest one by one.
void f16(const uint8_t* w, float* out, int64_t n) {
  int64_t i = 0;
#if defined(__AVX512F__)
  for (; i + 16 <= n; i += 16)
    _mm512_storeu_ps(out + i, _mm512_cvtph_ps(load32(w + 2 * i)));
#endif
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(load16(w + 2 * i)));
  for (; i < n; ++i)
    out[i] = _cvtsh_ss(load_u16(w + 2 * i));
}

void bf16(const uint8_t* w, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i,
                     _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load16(w + 2 * i)), 16)));
  for (; i < n; ++i)
    out[i] = gguf::bf16_to_f32(load_u16(w + 2 * i));
}

void q8_0(const uint8_t* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 32, b += 34, out += 32) {
    const float d = half(b);
    store16<true, false>(load16(b + 2), d, 0.f, out);
    store16<true, false>(load16(b + 18), d, 0.f, out + 16);
  }
}

// Values 0..15 are the low nibbles, 16..31 the high ones, each stored with +8.
void q4_0(const uint8_t* b, float* out, int64_t n) {
  const __m128i nibble = _mm_set1_epi8(0x0F), eight = _mm_set1_epi8(8);
  for (int64_t i = 0; i < n; i += 32, b += 18, out += 32) {
    const float d = half(b);
    const __m128i packed = load16(b + 2);
    store16<true, false>(_mm_sub_epi8(_mm_and_si128(packed, nibble), eight), d, 0.f, out);
    store16<true, false>(_mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(packed, 4), nibble), eight), d, 0.f,
                         out + 16);
  }
}

// 32 values from 32 bytes: the first 16 scaled by `first`, the others by `second`.
template <bool is_signed, bool with_min>
void store32(__m256i bytes, float first, float second, float min, float* out) {
  store16<is_signed, with_min>(_mm256_castsi256_si128(bytes), first, min, out);
  store16<is_signed, with_min>(_mm256_extracti128_si256(bytes, 1), second, min, out + 16);
}

// q4_k and q5_k: each sub-block's values (kernel_set.hpp) times its scale, minus its min.
template <bool five>
void q45_k(const uint8_t* b, float* out, int64_t n) {
  constexpr int bytes = five ? 176 : 144;
  for (int64_t i = 0; i < n; i += 256, b += bytes) {
    const float d = half(b), dmin = half(b + 2);
    for (int s = 0; s < 8; ++s, out += 32) {
      int sc, mn;
      k4_scale_min(b + 4, s, sc, mn);
      const float dl = d * float(sc);
      store32<false, true>(k45_sub_block<five>(b, s), dl, dl, dmin * float(mn), out);
    }
  }
}

// q6_k: each sub-block's values (kernel_set.hpp), its two halves by their own scales.
void q6_k(const uint8_t* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 256, b += 210) {
    const float d = half(b + 208);
    const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
    for (int s = 0; s < 8; ++s, out += 32)
      store32<true, false>(q6_k_sub_block(b, s), d * float(sc[2 * s]), d * float(sc[2 * s + 1]), 0.f, out);
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
