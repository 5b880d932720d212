// The AVX2 + FMA + F16C kernels (every x86 server since 2013; AVX-512 machines run them too).
// This file alone is compiled with those instructions enabled, and is called only where the
// CPU has them (dot.cpp). Each kernel computes what dot_scalar.cpp computes, 32 values a step:
// integer products of the unpacked weights with the int8 activations (maddubs: unsigned x
// signed bytes, pairs summed to int16; madd: int16 pairs to int32), scaled per block in float.
#include "model/quant/dot.hpp"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "model/quant/formats.hpp"

namespace llamps::quant {

namespace {

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

__m256i load32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
__m128i load16(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }

// Sum of products of 32 unsigned bytes with 32 signed bytes, as 8 int32 lanes.
__m256i dot_u8_s8(__m256i u, __m256i s) {
  return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}
// Same for two signed operands: |a| times b with a's sign moved onto b.
__m256i dot_s8_s8(__m256i a, __m256i b) {
  return dot_u8_s8(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
}

// 16 bytes of nibbles to 32 bytes: values 0..15 (low nibbles) then 16..31 (high nibbles).
__m256i unpack_nibbles(const uint8_t* qs) {
  const __m128i b = load16(qs);
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(b, 4), b);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// The 32 bits of a 5-bit format's high-bit word as 32 bytes of 0x10 (bit set) or 0.
__m256i high_bits(const uint8_t* p) {
  uint32_t bits;
  std::memcpy(&bits, p, 4);
  // Byte j takes byte j/8 of the word, then keeps its bit j%8.
  const __m256i spread = _mm256_shuffle_epi8(
      _mm256_set1_epi32(int(bits)),
      _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
  const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201ull));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// llama.cpp's order (dot.hpp); the one-by-one rest is fused as its build compiles it.
float reduce_accumulators(__m256 acc[4]) {
  const __m256 s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[1], acc[3]));
  const __m128 t = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  const __m128 h = _mm_hadd_ps(t, t);
  return _mm_cvtss_f32(_mm_hadd_ps(h, h));
}

float f32_dot(const uint8_t* wp, const uint8_t* xp, int64_t n) {
  const auto* w = reinterpret_cast<const float*>(wp);
  const auto* x = reinterpret_cast<const float*>(xp);
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; ++k)
      acc[k] = _mm256_fmadd_ps(_mm256_loadu_ps(w + i + 8 * k), _mm256_loadu_ps(x + i + 8 * k), acc[k]);
  float s = reduce_accumulators(acc);
  for (; i < n; ++i)
    s = std::fma(w[i], x[i], s);
  return s;
}

// Eight outputs at a time: lane[l] holds, for 8 neighbouring d, the sum of positions j = l
// (mod 32); the lanes are then reduced in llama.cpp's order, elementwise across the 8 d.
void weighted_sum(const float* w, const float* v, int64_t n, int64_t stride, int64_t width,
                  float* out) {
  int64_t d = 0;
  for (; d + 8 <= width; d += 8) {
    __m256 lane[32];
    for (__m256& l : lane)
      l = _mm256_setzero_ps();
    for (int64_t j = 0; j < n; ++j)
      lane[j & 31] = _mm256_fmadd_ps(_mm256_set1_ps(w[j]), _mm256_loadu_ps(v + j * stride + d), lane[j & 31]);
    __m256 s[8];
    for (int e = 0; e < 8; ++e)
      s[e] = _mm256_add_ps(_mm256_add_ps(lane[e], lane[16 + e]), _mm256_add_ps(lane[8 + e], lane[24 + e]));
    const __m256 t0 = _mm256_add_ps(s[0], s[4]), t1 = _mm256_add_ps(s[1], s[5]);
    const __m256 t2 = _mm256_add_ps(s[2], s[6]), t3 = _mm256_add_ps(s[3], s[7]);
    _mm256_storeu_ps(out + d, _mm256_add_ps(_mm256_add_ps(t0, t1), _mm256_add_ps(t2, t3)));
  }
  if (d < width)
    scalar_weighted_sum()(w, v + d, n, stride, width - d, out + d);
}

__m256 f16x8(const uint8_t* p) { return _mm256_cvtph_ps(load16(p)); }
__m256 bf16x8(const uint8_t* p) {
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load16(p)), 16));
}

// f16 and bf16 rows: four accumulators over steps of 32 as llama.cpp's vec_dot_f16/bf16, their
// reductions as its AVX2 build's, and the rest added in double.
template <__m256 (*load8)(const uint8_t*), float (*to_f32)(uint16_t), float (*reduce)(__m256*)>
float half_dot(const uint8_t* w, const uint8_t* x, int64_t n) {
  __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                   _mm256_setzero_ps()};
  int64_t i = 0;
  for (; i + 32 <= n; i += 32)
    for (int k = 0; k < 4; ++k)
      acc[k] = _mm256_fmadd_ps(load8(w + 2 * (i + 8 * k)), load8(x + 2 * (i + 8 * k)), acc[k]);
  double s = reduce(acc);
  for (; i < n; ++i)
    s += double(to_f32(load_u16(w + 2 * i)) * to_f32(load_u16(x + 2 * i)));
  return float(s);
}
float reduce_bf16(__m256* acc) {
  return hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[1], acc[3])));
}

// The 32-value formats. Signed weights (offsets applied) go through dot_s8_s8; the formats
// with a min keep unsigned weights and add m * s of the q8_1 activation block.
template <tensor_type T>
__m256i block_products(const uint8_t* w, const __m256i xq) {
  constexpr bool has_min = T == tensor_type::q4_1 || T == tensor_type::q5_1;
  constexpr int wbytes = T == tensor_type::q8_0 ? 34
                         : T == tensor_type::q4_1 ? 20
                         : T == tensor_type::q5_0 ? 22
                         : T == tensor_type::q5_1 ? 24
                                                  : 18; // q4_0, iq4_nl
  if constexpr (T == tensor_type::q8_0) {
    return dot_s8_s8(load32(w + 2), xq);
  } else if constexpr (T == tensor_type::iq4_nl) {
    const __m256i table = _mm256_broadcastsi128_si256(
        _mm_loadu_si128(reinterpret_cast<const __m128i*>(iq4_nl_values)));
    return dot_s8_s8(_mm256_shuffle_epi8(table, unpack_nibbles(w + 2)), xq);
  } else {
    __m256i q = unpack_nibbles(w + wbytes - 16);
    if constexpr (T == tensor_type::q5_0 || T == tensor_type::q5_1)
      q = _mm256_or_si256(q, high_bits(w + (has_min ? 4 : 2)));
    if constexpr (has_min)
      return dot_u8_s8(q, xq);
    else
      return dot_s8_s8(_mm256_sub_epi8(q, _mm256_set1_epi8(T == tensor_type::q4_0 ? 8 : 16)), xq);
  }
}

template <tensor_type T>
float dot32(const uint8_t* w, const uint8_t* x, int64_t n) {
  constexpr bool has_min = T == tensor_type::q4_1 || T == tensor_type::q5_1;
  constexpr int wbytes = T == tensor_type::q8_0 ? 34
                         : T == tensor_type::q4_1 ? 20
                         : T == tensor_type::q5_0 ? 22
                         : T == tensor_type::q5_1 ? 24
                                                  : 18;
  constexpr int xbytes = has_min ? 36 : 34;
  constexpr int xq = has_min ? 4 : 2;
  // iq4_nl as llama.cpp sums it: blocks in pairs, into two accumulators.
  constexpr int lanes = T == tensor_type::iq4_nl ? 2 : 1;
  __m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  float mins = 0.f;
  const int64_t blocks = n / 32;
  int64_t b = 0;
  for (; b + lanes <= blocks; b += lanes)
    for (int l = 0; l < lanes; ++l) {
      const uint8_t* wb = w + (b + l) * wbytes;
      const uint8_t* xb = x + (b + l) * xbytes;
      const __m256i p = block_products<T>(wb, load32(xb + xq));
      const float d = load_half(wb) * load_half(xb);
      acc[l] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(p), acc[l]);
      if constexpr (has_min)
        mins += load_half(wb + 2) * load_half(xb + 2);
    }
  float s = hsum(_mm256_add_ps(acc[0], acc[1])) + mins;
  for (; b < blocks; ++b) { // the odd block of iq4_nl
    const __m256i p = block_products<T>(w + b * wbytes, load32(x + b * xbytes + xq));
    const __m128i q = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
    const __m128i h = _mm_hadd_epi32(_mm_hadd_epi32(q, q), q);
    s += load_half(w + b * wbytes) * load_half(x + b * xbytes) * float(_mm_cvtsi128_si32(h));
  }
  return s;
}

struct q8k_block {
  float d;
  const uint8_t* q;
  int16_t sums[16];
};
q8k_block read_q8k(const uint8_t* x) {
  q8k_block b;
  std::memcpy(&b.d, x, 4);
  b.q = x + 4;
  std::memcpy(b.sums, x + 260, sizeof b.sums);
  return b;
}

// Two int16 scales for the two halves (16 products each) of a maddubs result.
__m256i scale_pair(int lo, int hi) {
  return _mm256_set_m128i(_mm_set1_epi16(int16_t(hi)), _mm_set1_epi16(int16_t(lo)));
}

// The K-quant kernels sum in llama.cpp's order: the integer products of a super-block in
// eight int32 lanes (four neighbouring values each), scaled into one float accumulator; the
// min terms (q2_k, q4_k, q5_k) each as llama.cpp's AVX2 build adds them.

// q2_k: 16 sub-blocks of 16 with 4-bit scales and mins.
float dot_q2_k(const uint8_t* w, const uint8_t* x, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  const __m256i pair = _mm256_set1_epi8(3);
  for (int64_t i = 0; i < n; i += 256, w += 84, x += 292) {
    const q8k_block xb = read_q8k(x);
    const float d = xb.d * load_half(w + 80), dmin = -xb.d * load_half(w + 82);
    int mins[8];
    for (int l = 0; l < 8; ++l)
      mins[l] = (w[2 * l] >> 4) * xb.sums[2 * l] + (w[2 * l + 1] >> 4) * xb.sums[2 * l + 1];
    acc = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(load32(reinterpret_cast<const uint8_t*>(mins))), acc);
    __m256i sumi = _mm256_setzero_si256();
    for (int half = 0; half < 2; ++half) {
      const __m256i bits = load32(w + 16 + 32 * half);
      for (int k = 0; k < 4; ++k) {
        const int g = 8 * half + 2 * k;
        const __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * k), pair);
        const __m256i p = _mm256_maddubs_epi16(q, load32(xb.q + 128 * half + 32 * k));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(scale_pair(w[g] & 0x0F, w[g + 1] & 0x0F), p));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum(acc);
}

// q3_k: signed 3-bit values (a clear high bit subtracts 4), 16 signed 6-bit scales.
float dot_q3_k(const uint8_t* w, const uint8_t* x, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  const __m256i pair = _mm256_set1_epi8(3), one = _mm256_set1_epi8(1), four = _mm256_set1_epi8(4);
  for (int64_t i = 0; i < n; i += 256, w += 110, x += 292) {
    const q8k_block xb = read_q8k(x);
    int8_t sc[16];
    q3_k_scales(w + 96, sc);
    const __m256i hbits = load32(w);
    __m256i sumi = _mm256_setzero_si256();
    for (int half = 0; half < 2; ++half) {
      const __m256i bits = load32(w + 32 + 32 * half);
      for (int k = 0; k < 4; ++k) {
        const int g = 8 * half + 2 * k;
        const __m256i low = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * k), pair);
        const __m256i high = _mm256_and_si256(_mm256_srli_epi16(hbits, 4 * half + k), one);
        const __m256i q = _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(high, 2)), four);
        const __m256i xq = load32(xb.q + 128 * half + 32 * k);
        const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(xq, q));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(scale_pair(sc[g], sc[g + 1]), p));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(xb.d * load_half(w + 108)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum(acc);
}

// q4_k and q5_k: 8 sub-blocks of 32 with 6-bit scales and mins. The mins: q4_k in a 4-lane
// accumulator (sub-blocks in pairs), q5_k in one float.
template <bool five>
float dot_q45_k(const uint8_t* w, const uint8_t* x, int64_t n) {
  constexpr int wbytes = five ? 176 : 144;
  __m256 acc = _mm256_setzero_ps();
  __m128 acc_m = _mm_setzero_ps();
  float summs = 0.f;
  const __m256i low4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
  for (int64_t i = 0; i < n; i += 256, w += wbytes, x += 292) {
    const q8k_block xb = read_q8k(x);
    const float d = xb.d * load_half(w), dmin = -xb.d * load_half(w + 2);
    int sc[8], mn[8];
    for (int s = 0; s < 8; ++s)
      k4_scale_min(w + 4, s, sc[s], mn[s]);
    int mins[4];
    for (int l = 0; l < 4; ++l)
      mins[l] = mn[2 * l] * (xb.sums[4 * l] + xb.sums[4 * l + 1]) +
                mn[2 * l + 1] * (xb.sums[4 * l + 2] + xb.sums[4 * l + 3]);
    if (five)
      summs = std::fma(dmin, float((mins[0] + mins[1]) + (mins[2] + mins[3])), summs);
    else
      acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(mins))), acc_m);
    const uint8_t* qs = w + (five ? 48 : 16);
    const __m256i qh = five ? load32(w + 16) : _mm256_setzero_si256();
    __m256i sumi = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i bytes = load32(qs + 32 * c);
      __m256i lo = _mm256_and_si256(bytes, low4);
      __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4);
      if (five) {
        lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4));
        hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4));
      }
      const __m256i plo = _mm256_maddubs_epi16(lo, load32(xb.q + 64 * c));
      const __m256i phi = _mm256_maddubs_epi16(hi, load32(xb.q + 64 * c + 32));
      sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(
                                        _mm256_madd_epi16(plo, _mm256_set1_epi16(int16_t(sc[2 * c]))),
                                        _mm256_madd_epi16(phi, _mm256_set1_epi16(int16_t(sc[2 * c + 1])))));
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
  }
  acc_m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
  acc_m = _mm_add_ss(acc_m, _mm_movehdup_ps(acc_m));
  return hsum(acc) + (five ? summs : _mm_cvtss_f32(acc_m));
}

// q6_k: values stored with +32 are taken unsigned (0..63), and 32 * x comes off in the int16
// lanes, before the scales, as llama.cpp does.
float dot_q6_k(const uint8_t* w, const uint8_t* x, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  const __m256i low4 = _mm256_set1_epi8(0x0F), pair = _mm256_set1_epi8(3);
  const __m256i m32 = _mm256_set1_epi8(32);
  for (int64_t i = 0; i < n; i += 256, w += 210, x += 292) {
    const q8k_block xb = read_q8k(x);
    const auto* sc = reinterpret_cast<const int8_t*>(w + 192);
    __m256i sumi = _mm256_setzero_si256();
    for (int half = 0; half < 2; ++half) {
      const __m256i ql0 = load32(w + 64 * half), ql1 = load32(w + 64 * half + 32);
      const __m256i qh = load32(w + 128 + 32 * half);
      auto high = [&](int k) { // bit pair k of each high byte, moved to bits 4..5
        return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), pair), 4);
      };
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(ql0, low4), high(0)),
          _mm256_or_si256(_mm256_and_si256(ql1, low4), high(1)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), high(2)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4), high(3)),
      };
      for (int k = 0; k < 4; ++k) {
        const int g = 8 * half + 2 * k;
        const __m256i xq = load32(xb.q + 128 * half + 32 * k);
        const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q[k], xq), _mm256_maddubs_epi16(m32, xq));
        sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(scale_pair(sc[g], sc[g + 1]), p));
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(xb.d * load_half(w + 208)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum(acc);
}

} // namespace

weighted_sum_fn avx2_weighted_sum() { return weighted_sum; }

dot_fn avx2_dot(tensor_type t) {
  switch (t) {
  case tensor_type::f32: return f32_dot;
  case tensor_type::f16: return half_dot<f16x8, gguf::fp16_to_f32, reduce_accumulators>;
  case tensor_type::bf16: return half_dot<bf16x8, gguf::bf16_to_f32, reduce_bf16>;
  case tensor_type::q8_0: return dot32<tensor_type::q8_0>;
  case tensor_type::q4_0: return dot32<tensor_type::q4_0>;
  case tensor_type::q4_1: return dot32<tensor_type::q4_1>;
  case tensor_type::q5_0: return dot32<tensor_type::q5_0>;
  case tensor_type::q5_1: return dot32<tensor_type::q5_1>;
  case tensor_type::iq4_nl: return dot32<tensor_type::iq4_nl>;
  case tensor_type::q2_k: return dot_q2_k;
  case tensor_type::q3_k: return dot_q3_k;
  case tensor_type::q4_k: return dot_q45_k<false>;
  case tensor_type::q5_k: return dot_q45_k<true>;
  case tensor_type::q6_k: return dot_q6_k;
  default: return nullptr;
  }
}

} // namespace llamps::quant

#else

namespace llamps::quant {
dot_fn avx2_dot(tensor_type) { return nullptr; }
weighted_sum_fn avx2_weighted_sum() { return nullptr; }
} // namespace llamps::quant

#endif
