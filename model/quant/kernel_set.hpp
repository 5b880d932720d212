#pragma once
// What the vector kernel files share. Each is built twice (CMakeLists.txt): for AVX2 + FMA +
// F16C into quant::avx2, and with AVX-512 into quant::vnni; LLAMPS_KERNEL_SET names the one
// being built. Include it only from those files: its helpers use their instructions, and
// live in an anonymous namespace so that no build's copy is shared with the other's.
#if defined(LLAMPS_KERNELS_VNNI)
#define LLAMPS_KERNEL_SET vnni
#else
#define LLAMPS_KERNEL_SET avx2
#endif

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include "model/quant/dot.hpp"
#include "model/quant/formats.hpp"

namespace llamps::quant {

// float_weights_avx.cpp: the kernels for F32, F16 and BF16 weights, of the set being built
// (nullptr for other types). dot_avx2.cpp's entry points hand those types to them.
namespace LLAMPS_KERNEL_SET {
dot_fn float_weights_dot(tensor_type t);
dot_rows_fn float_weights_dot_rows(tensor_type t);
} // namespace LLAMPS_KERNEL_SET

namespace {

// A block's half-precision scale, by the F16C instruction (formats.hpp's load_half is the
// portable conversion; the two agree on every value).
inline float half(const uint8_t* p) { return _cvtsh_ss(load_u16(p)); }

inline __m128i load16(const uint8_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
inline __m256i load32(const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// The sum of eight int32 lanes.
inline int hsum_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// 16 bytes of nibbles to 32 bytes: values 0..15 (low nibbles) then 16..31 (high nibbles).
inline __m256i unpack_nibbles(const uint8_t* qs) {
  const __m128i b = load16(qs);
  const __m256i both = _mm256_set_m128i(_mm_srli_epi16(b, 4), b);
  return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

// The 32 bits of a 5-bit format's high-bit word as 32 bytes of 0x10 (bit set) or 0.
inline __m256i high_bits(const uint8_t* p) {
  uint32_t bits;
  std::memcpy(&bits, p, 4);
  // Byte j takes byte j/8 of the word, then keeps its bit j%8.
  const __m256i spread =
      _mm256_shuffle_epi8(_mm256_set1_epi32(int(bits)),
                          _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0));
  const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201ull));
  const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
  return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

// Sub-block s (0..7) of a q4_k / q5_k super-block (formats.cpp's layout) as 32 bytes of its
// stored values: per chunk of 32 bytes, the low nibbles are sub-block 2c and the high ones
// 2c+1; q5_k adds bit s of each of its 32 high-bit bytes as the fifth bit.
template <bool five>
__m256i k45_sub_block(const uint8_t* b, int s) {
  const __m256i packed = load32(b + (five ? 48 : 16) + 32 * (s / 2));
  __m256i v = _mm256_and_si256(s & 1 ? _mm256_srli_epi16(packed, 4) : packed, _mm256_set1_epi8(0x0F));
  if (five) {
    const __m256i high = _mm256_and_si256(_mm256_srli_epi16(load32(b + 16), s), _mm256_set1_epi8(1));
    v = _mm256_or_si256(v, _mm256_slli_epi16(high, 4));
  }
  return v;
}

// Sub-block s (0..7, 32 values) of a q6_k super-block as signed bytes: in each half h of 128
// values, value 32j + l has its low four bits in byte l (j even) or 32 + l (j odd) of the
// half's low nibbles (j < 2: the low nibble, else the high), its top two bits at bit pair j of
// high-bit byte l; stored with +32. Its 16-value scales are int8 192 + 2s and 193 + 2s.
inline __m256i q6_k_sub_block(const uint8_t* b, int s) {
  const int h = s / 4, j = s % 4;
  const __m256i low_bytes = load32(b + 64 * h + 32 * (j & 1));
  const __m256i low =
      _mm256_and_si256(j < 2 ? low_bytes : _mm256_srli_epi16(low_bytes, 4), _mm256_set1_epi8(0x0F));
  const __m256i top =
      _mm256_and_si256(_mm256_srli_epi16(load32(b + 128 + 32 * h), 2 * j), _mm256_set1_epi8(3));
  return _mm256_sub_epi8(_mm256_or_si256(low, _mm256_slli_epi16(top, 4)), _mm256_set1_epi8(32));
}

// A weight row is streamed from memory once per decode step: each kernel asks for the bytes
// `prefetch_distance` ahead of the block it is on, or it waits on each cache line in turn.
constexpr int prefetch_distance = 1024;
template <int Bytes>
inline void prefetch_block(const uint8_t* block) {
  for (int line = 0; line < Bytes; line += 64)
    _mm_prefetch(reinterpret_cast<const char*>(block + prefetch_distance + line), _MM_HINT_T0);
}

// The single-row and multi-row entry points of a kernel written for NX rows.
template <void (*K)(const uint8_t*, const uint8_t*, size_t, int64_t, float*)>
float one_row(const uint8_t* w, const uint8_t* x, int64_t n) {
  float out;
  K(w, x, 0, n, &out);
  return out;
}
template <void (*K1)(const uint8_t*, const uint8_t*, size_t, int64_t, float*),
          void (*K2)(const uint8_t*, const uint8_t*, size_t, int64_t, float*),
          void (*K3)(const uint8_t*, const uint8_t*, size_t, int64_t, float*),
          void (*K4)(const uint8_t*, const uint8_t*, size_t, int64_t, float*)>
void up_to_4_rows(const uint8_t* w, const uint8_t* x, size_t stride, int nx, int64_t n, float* out) {
  switch (nx) {
  case 1: K1(w, x, stride, n, out); return;
  case 2: K2(w, x, stride, n, out); return;
  case 3: K3(w, x, stride, n, out); return;
  default: K4(w, x, stride, n, out); return;
  }
}

} // namespace
} // namespace llamps::quant
#endif
