// The q8_0 and q8_1 encodings of activation rows (dot.cpp's q8_32) by vector instructions,
// built into both vector sets as the other kernel files are: the same floats and bytes, 32
// values a block (every prompt's rows pass here before its products, so the scalar loop's
// libm rounding call per value cost as much as the AMX products themselves).
#include "model/quant/dot.hpp"
#include "model/quant/kernel_set.hpp"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <cstring>

namespace llamps::quant {

namespace {

float hmax(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_movehdup_ps(m));
  return _mm_cvtss_f32(m);
}

// A float as the half-precision value nearest it, widened back: the portable loop's
// conversions, so that both round alike by construction (twice per block: not a hot path).
void store_as_half(uint8_t* p, float v) {
  const float h = gguf::fp16_to_f32(gguf::f32_to_fp16(v));
  std::memcpy(p, &h, 4);
}

template <bool with_sum>
void q8_32(const float* x, uint8_t* out, int64_t n) {
  constexpr int bytes = q8_32_bytes(with_sum);
  const __m256 sign = _mm256_set1_ps(-0.f);
  for (int64_t i = 0; i < n; i += 32, x += 32, out += bytes) {
    __m256 v[4], amax = _mm256_setzero_ps();
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_ps(x + 8 * k);
      amax = _mm256_max_ps(amax, _mm256_andnot_ps(sign, v[k]));
    }
    const float a = hmax(amax);
    const float d = a / 127.f;
    const __m256 id = _mm256_set1_ps(a != 0.f ? 127.f / a : 0.f);
    __m256i q[4];
    for (int k = 0; k < 4; ++k)
      q[k] = _mm256_cvtps_epi32(
          _mm256_round_ps(_mm256_mul_ps(v[k], id), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    // int32 -> int8 in order: the packs interleave 128-bit halves, the permute undoes it.
    const __m256i bytes8 = _mm256_permutevar8x32_epi32(
        _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3])),
        _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + q8_32_values(with_sum)), bytes8);
    store_as_half(out, d);
    if constexpr (with_sum) {
      const __m256i s = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
      store_as_half(out + 4, d * float(hsum_epi32(s)));
    }
  }
}

} // namespace

encode_fn LLAMPS_KERNEL_SET::encode(act_format f) {
  switch (f) {
  case act_format::q8_0: return q8_32<false>;
  case act_format::q8_1: return q8_32<true>;
  default: return nullptr;
  }
}

} // namespace llamps::quant

#else // not an x86 build with these instructions

namespace llamps::quant {
encode_fn LLAMPS_KERNEL_SET::encode(act_format) { return nullptr; }
} // namespace llamps::quant

#endif
