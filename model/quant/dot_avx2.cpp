// The AVX2 + FMA + F16C kernels of the quantised formats (every x86 server since 2013; F32, F16
// and BF16 weights are float_weights_avx.cpp's). This file is compiled twice
// (CMakeLists.txt): for AVX2, and again for CPUs with AVX-512 VNNI, whose 256-bit integer dot
// products (vpdpbusd: four byte products summed into each int32 lane; vpdpwssd: two int16
// products added to an int32 lane) give the same integers in fewer instructions, so the two
// builds return the same floats. Each build is called only where the CPU has its instructions
// (dot.cpp). Each kernel computes what dot_scalar.cpp computes, 32 values a step: integer
// products of the unpacked weights with the int8 activations (maddubs: unsigned x signed
// bytes, pairs summed to int16; madd: int16 pairs to int32), scaled per block in float.
#include "model/quant/dot.hpp"
#include "model/quant/kernel_set.hpp"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <cmath>
#include <cstring>

#include "model/quant/formats.hpp"

namespace llamps::quant {

namespace {

#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
constexpr bool vnni = true;
#else
constexpr bool vnni = false;
#endif

// Sum of products of 32 unsigned bytes with 32 signed bytes, as 8 int32 lanes.
__m256i dot_u8_s8(__m256i u, __m256i s) {
  if constexpr (vnni)
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
  else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
}
// sum + the products of int16 pairs a * b, summed to 8 int32 lanes.
__m256i add_madd(__m256i sum, __m256i a, __m256i b) {
  if constexpr (vnni)
    return _mm256_dpwssd_epi32(sum, a, b);
  else
    return _mm256_add_epi32(sum, _mm256_madd_epi16(a, b));
}
// Eight outputs at a time: lane[l] holds, for 8 neighbouring d, the sum of positions j = l
// (mod 32); the lanes are then reduced in llama.cpp's order, elementwise across the 8 d.
// Values are F32, or F16 with the weights rounded to half precision first.
inline __m256 values8(const float* v) { return _mm256_loadu_ps(v); }
inline __m256 values8(const uint16_t* v) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(v)));
}
inline float weight_of(float w, const float*) { return w; }
inline float weight_of(float w, const uint16_t*) { return _cvtsh_ss(_cvtss_sh(w, 0)); }

template <class V>
void weighted_sum_of(const float* w, const V* v, int64_t n, int64_t stride, int64_t width, float* out,
                     void (*rest)(const float*, const V*, int64_t, int64_t, int64_t, float*)) {
  int64_t d = 0;
  for (; d + 8 <= width; d += 8) {
    __m256 lane[32];
    for (__m256& l : lane)
      l = _mm256_setzero_ps();
    for (int64_t j = 0; j < n; ++j)
      lane[j & 31] =
          _mm256_fmadd_ps(_mm256_set1_ps(weight_of(w[j], v)), values8(v + j * stride + d), lane[j & 31]);
    __m256 s[8];
    for (int e = 0; e < 8; ++e)
      s[e] = _mm256_add_ps(_mm256_add_ps(lane[e], lane[16 + e]), _mm256_add_ps(lane[8 + e], lane[24 + e]));
    const __m256 t0 = _mm256_add_ps(s[0], s[4]), t1 = _mm256_add_ps(s[1], s[5]);
    const __m256 t2 = _mm256_add_ps(s[2], s[6]), t3 = _mm256_add_ps(s[3], s[7]);
    _mm256_storeu_ps(out + d, _mm256_add_ps(_mm256_add_ps(t0, t1), _mm256_add_ps(t2, t3)));
  }
  if (d < width)
    rest(w, v + d, n, stride, width - d, out + d);
}

void weighted_sum_f32_values(const float* w, const float* v, int64_t n, int64_t stride, int64_t width,
                             float* out) {
  weighted_sum_of(w, v, n, stride, width, out, scalar_weighted_sum());
}
void weighted_sum_f16_values(const float* w, const uint16_t* v, int64_t n, int64_t stride, int64_t width,
                             float* out) {
  weighted_sum_of(w, v, n, stride, width, out, scalar_weighted_sum_f16());
}

// The 32-value formats. A weight block is unpacked once for all activation rows. The signed
// ones (q8_0, iq4_nl) as |q| and q, whose sign moves onto the activations; the others as their
// unsigned stored values: a min (q4_1, q5_1) comes in as m * s of the q8_1 block, and an
// offset (q4_0: 8, q5_0: 16) as offset * x summed per lane, taken once per activation block,
// so that each lane's integer is exactly the signed one.
constexpr bool signed32(tensor_type t) { return t == tensor_type::q8_0 || t == tensor_type::iq4_nl; }

struct unpacked32 {
  __m256i magnitude; // |q| of the signed formats, the stored values of the others
  __m256i sign;      // q of the signed formats
};

template <tensor_type T>
unpacked32 unpack32(const uint8_t* w) {
  if constexpr (T == tensor_type::q8_0) {
    const __m256i q = load32(w + 2);
    return {_mm256_sign_epi8(q, q), q};
  } else if constexpr (T == tensor_type::iq4_nl) {
    const __m256i table =
        _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(iq4_nl_values)));
    const __m256i q = _mm256_shuffle_epi8(table, unpack_nibbles(w + 2));
    return {_mm256_sign_epi8(q, q), q};
  } else {
    __m256i q = unpack_nibbles(w + block32_bytes(T) - 16);
    if constexpr (block32_has_high(T))
      q = _mm256_or_si256(q, high_bits(w + (block32_has_min(T) ? 4 : 2)));
    return {q, q};
  }
}

// An activation block's values, and for the formats with an offset, offset * x per lane.
struct activation32 {
  __m256i q;
  __m256i offset;
};
template <tensor_type T>
activation32 prepare32(const uint8_t* q) {
  const __m256i x = load32(q);
  if constexpr (block32_offset(T) != 0)
    return {x, dot_u8_s8(_mm256_set1_epi8(block32_offset(T)), x)};
  else
    return {x, x};
}

template <tensor_type T>
__m256i products32(const unpacked32& w, const activation32& x) {
  if constexpr (signed32(T))
    return dot_u8_s8(w.magnitude, _mm256_sign_epi8(x.q, w.sign));
  else if constexpr (block32_offset(T) != 0)
    return _mm256_sub_epi32(dot_u8_s8(w.magnitude, x.q), x.offset);
  else
    return dot_u8_s8(w.magnitude, x.q);
}

// One weight row with NX activation rows (x, x + stride, ...); each row's sum is taken in the
// same order as alone.
template <tensor_type T, int NX>
void dot32(const uint8_t* w, const uint8_t* x, size_t stride, int64_t n, float* out) {
  constexpr int wbytes = block32_bytes(T);
  constexpr int xbytes = q8_32_bytes(block32_has_min(T));
  constexpr int xq = q8_32_values(block32_has_min(T));
  // iq4_nl as llama.cpp sums it: blocks in pairs, into two accumulators.
  constexpr int lanes = T == tensor_type::iq4_nl ? 2 : 1;
  __m256 acc[2][NX];
  float mins[NX];
  for (int r = 0; r < NX; ++r) {
    acc[0][r] = acc[1][r] = _mm256_setzero_ps();
    mins[r] = 0.f;
  }
  const int64_t blocks = n / 32;
  int64_t b = 0;
  for (; b + lanes <= blocks; b += lanes)
    for (int l = 0; l < lanes; ++l) {
      const uint8_t* wb = w + (b + l) * wbytes;
      prefetch_block<1>(wb); // blocks of 18 to 34 bytes: one line in two or three
      const unpacked32 q = unpack32<T>(wb);
      const __m256 dw = _mm256_set1_ps(half(wb));
      for (int r = 0; r < NX; ++r) {
        const uint8_t* xb = x + r * stride + (b + l) * xbytes;
        const __m256i p = products32<T>(q, prepare32<T>(xb + xq));
        const __m256 d = _mm256_mul_ps(dw, _mm256_broadcast_ss(reinterpret_cast<const float*>(xb)));
        acc[l][r] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(p), acc[l][r]);
        if constexpr (block32_has_min(T))
          mins[r] = std::fma(half(wb + 2), load_f32(xb + 4), mins[r]);
      }
    }
  for (int r = 0; r < NX; ++r) {
    float s = hsum(_mm256_add_ps(acc[0][r], acc[1][r])) + mins[r];
    for (int64_t t = b; t < blocks; ++t) { // the odd block of iq4_nl
      const uint8_t* xb = x + r * stride + t * xbytes;
      const __m256i p = products32<T>(unpack32<T>(w + t * wbytes), prepare32<T>(xb + xq));
      const __m128i h4 = _mm_add_epi32(_mm256_castsi256_si128(p), _mm256_extracti128_si256(p, 1));
      const __m128i h = _mm_hadd_epi32(_mm_hadd_epi32(h4, h4), h4);
      s += half(w + t * wbytes) * load_f32(xb) * float(_mm_cvtsi128_si32(h));
    }
    out[r] = s;
  }
}

// dot.hpp's q4_0_x8. Per block: two weight rows to a vector (row j in the low half, j + 1 in
// the high one), their nibbles unpacked once for all activation rows; per activation row, the
// integer products of the stored values with x (exact), reduced by three horizontal adds to
// one int32 per weight row, less 8 * sum(x); then one fma for the eight rows. The adds leave
// the rows in lane order 0 2 4 6 1 3 5 7: the scales are put in that order, and the sums put
// back in row order once at the end.
template <int NX>
void q4_0_x8_rows(const uint8_t* w, size_t row_bytes, const uint8_t* x, size_t stride, int64_t n,
                  float* out) {
  constexpr int wbytes = block32_bytes(tensor_type::q4_0), xbytes = q8_32_bytes(false);
  constexpr int xq = q8_32_values(false);
  __m256 acc[NX];
  for (__m256& a : acc)
    a = _mm256_setzero_ps();
  const __m256i nibble = _mm256_set1_epi8(0x0F), eight = _mm256_set1_epi8(8);
  const __m256i ones = _mm256_set1_epi16(1);
  const uint8_t* row[8];
  for (int j = 0; j < 8; ++j)
    row[j] = w + size_t(j) * row_bytes;
  // The eight rows are one contiguous run of blocks, and so are the next eight: a block step
  // here covers 8 x 18 bytes of this run, and asks for the same part of the next run. (Rows of
  // a few thousand values are too short for the hardware to learn eight streams in time.)
  const uint8_t* next = w + 8 * row_bytes;
  for (int64_t b = 0; b < n / 32; ++b) {
    const int64_t at = b * wbytes;
    for (int line = 0; line < 3; ++line)
      _mm_prefetch(reinterpret_cast<const char*>(next + 8 * at + 64 * line), _MM_HINT_T0);
    __m256i low[4], high[4]; // values 0-15 and 16-31 of rows 2k (low half) and 2k + 1
    for (int k = 0; k < 4; ++k) {
      const __m256i packed = _mm256_set_m128i(load16(row[2 * k + 1] + at + 2), load16(row[2 * k] + at + 2));
      low[k] = _mm256_and_si256(packed, nibble);
      high[k] = _mm256_and_si256(_mm256_srli_epi16(packed, 4), nibble);
    }
    // One word insert per scale (a store of them and a wide load would stall the load).
    __m128i scales = _mm_cvtsi32_si128(load_u16(row[0] + at));
    scales = _mm_insert_epi16(scales, load_u16(row[2] + at), 1);
    scales = _mm_insert_epi16(scales, load_u16(row[4] + at), 2);
    scales = _mm_insert_epi16(scales, load_u16(row[6] + at), 3);
    scales = _mm_insert_epi16(scales, load_u16(row[1] + at), 4);
    scales = _mm_insert_epi16(scales, load_u16(row[3] + at), 5);
    scales = _mm_insert_epi16(scales, load_u16(row[5] + at), 6);
    scales = _mm_insert_epi16(scales, load_u16(row[7] + at), 7);
    const __m256 dw = _mm256_cvtph_ps(scales);
    for (int i = 0; i < NX; ++i) {
      const uint8_t* xb = x + size_t(i) * stride + b * xbytes;
      const __m256i x_low = _mm256_broadcastsi128_si256(load16(xb + xq));
      const __m256i x_high = _mm256_broadcastsi128_si256(load16(xb + xq + 16));
      __m256i pairs[4];
      for (int k = 0; k < 4; ++k) {
        if constexpr (vnni)
          pairs[k] = _mm256_dpbusd_epi32(dot_u8_s8(low[k], x_low), high[k], x_high);
        else // two pair sums of at most 2 * 15 * 127 each: no int16 overflow
          pairs[k] = _mm256_madd_epi16(
              _mm256_add_epi16(_mm256_maddubs_epi16(low[k], x_low), _mm256_maddubs_epi16(high[k], x_high)),
              ones);
      }
      __m256i offset = dot_u8_s8(eight, _mm256_set_m128i(load16(xb + xq + 16), load16(xb + xq)));
      offset = _mm256_hadd_epi32(offset, offset);
      offset = _mm256_hadd_epi32(offset, offset);
      offset = _mm256_add_epi32(offset, _mm256_permute2x128_si256(offset, offset, 1));
      const __m256i isum = _mm256_sub_epi32(
          _mm256_hadd_epi32(_mm256_hadd_epi32(pairs[0], pairs[1]), _mm256_hadd_epi32(pairs[2], pairs[3])),
          offset);
      const __m256 d = _mm256_mul_ps(dw, _mm256_broadcast_ss(reinterpret_cast<const float*>(xb)));
      acc[i] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), d, acc[i]);
    }
  }
  const __m256i row_order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (int i = 0; i < NX; ++i)
    _mm256_storeu_ps(out + 8 * i, _mm256_permutevar8x32_ps(acc[i], row_order));
}

void q4_0_x8_any(const uint8_t* w, size_t row_bytes, const uint8_t* x, size_t stride, int nx, int64_t n,
                 float* out) {
  switch (nx) {
  case 1: return q4_0_x8_rows<1>(w, row_bytes, x, stride, n, out);
  case 2: return q4_0_x8_rows<2>(w, row_bytes, x, stride, n, out);
  case 3: return q4_0_x8_rows<3>(w, row_bytes, x, stride, n, out);
  case 4: return q4_0_x8_rows<4>(w, row_bytes, x, stride, n, out);
  case 5: return q4_0_x8_rows<5>(w, row_bytes, x, stride, n, out);
  case 6: return q4_0_x8_rows<6>(w, row_bytes, x, stride, n, out);
  case 7: return q4_0_x8_rows<7>(w, row_bytes, x, stride, n, out);
  default: return q4_0_x8_rows<8>(w, row_bytes, x, stride, n, out);
  }
}

// A q8_k activation block: its float scale, its 256 values, its 16 sums of 16 (int16).
struct q8k_block {
  float d;
  const uint8_t* q;
  const uint8_t* sums;
};
q8k_block read_q8k(const uint8_t* x) {
  q8k_block b;
  std::memcpy(&b.d, x, 4);
  b.q = x + 4;
  b.sums = x + 260;
  return b;
}

// The int16 scales of sub-blocks g and g+1 of 16 values (g even), for the two halves of a
// maddubs result, from 16 byte-sized scales: a byte shuffle, then widening.
__m256i scale_pair(__m128i scales, int g) {
  const __m128i pick = _mm_set_epi64x(0x0101010101010101ll * (g + 1), 0x0101010101010101ll * g);
  return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, pick));
}

// The K-quant kernels sum in llama.cpp's order: the integer products of a super-block in
// eight int32 lanes (four neighbouring values each), scaled into one float accumulator; the
// min terms (q2_k, q4_k, q5_k) each as llama.cpp's AVX2 build adds them.

// q2_k: 16 sub-blocks of 16 with 4-bit scales and mins.
float dot_q2_k(const uint8_t* w, const uint8_t* x, int64_t n) {
  __m256 acc = _mm256_setzero_ps();
  const __m256i pair = _mm256_set1_epi8(3);
  for (int64_t i = 0; i < n; i += 256, w += 84, x += 292) {
    prefetch_block<84>(w);
    const q8k_block xb = read_q8k(x);
    const float d = xb.d * half(w + 80), dmin = -xb.d * half(w + 82);
    const __m256i mins =
        _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(load16(w), 4), _mm_set1_epi8(0x0F)));
    const __m256i prod = _mm256_madd_epi16(mins, load32(xb.sums));
    acc = _mm256_fmadd_ps(_mm256_set1_ps(dmin), _mm256_cvtepi32_ps(prod), acc);
    const __m128i scales = _mm_and_si128(load16(w), _mm_set1_epi8(0x0F));
    __m256i sumi = _mm256_setzero_si256();
    for (int half = 0; half < 2; ++half) {
      const __m256i bits = load32(w + 16 + 32 * half);
      for (int k = 0; k < 4; ++k) {
        const int g = 8 * half + 2 * k;
        const __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * k), pair);
        const __m256i p = _mm256_maddubs_epi16(q, load32(xb.q + 128 * half + 32 * k));
        sumi = add_madd(sumi, scale_pair(scales, g), p);
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
    prefetch_block<110>(w);
    const q8k_block xb = read_q8k(x);
    int8_t sc[16];
    q3_k_scales(w + 96, sc);
    const __m128i scales = _mm_loadu_si128(reinterpret_cast<const __m128i*>(sc));
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
        sumi = add_madd(sumi, scale_pair(scales, g), p);
      }
    }
    acc = _mm256_fmadd_ps(_mm256_set1_ps(xb.d * half(w + 108)), _mm256_cvtepi32_ps(sumi), acc);
  }
  return hsum(acc);
}

// q4_k and q5_k: 8 sub-blocks of 32 with 6-bit scales and mins. The mins: q4_k in a 4-lane
// accumulator (sub-blocks in pairs), q5_k in one float. NX activation rows per weight row.
template <bool five, int NX>
void dot_q45_k(const uint8_t* w, const uint8_t* x, size_t stride, int64_t n, float* out) {
  constexpr int wbytes = five ? 176 : 144;
  __m256 acc[NX];
  __m128 acc_m[NX];
  float summs[NX];
  for (int r = 0; r < NX; ++r) {
    acc[r] = _mm256_setzero_ps();
    acc_m[r] = _mm_setzero_ps();
    summs[r] = 0.f;
  }
  const __m256i low4 = _mm256_set1_epi8(0x0F), one = _mm256_set1_epi8(1);
  for (int64_t i = 0; i < n; i += 256, w += wbytes, x += 292) {
    prefetch_block<wbytes>(w);
    // The eight 6-bit scales and mins as bytes (formats.hpp's k4_scale_min, four at a time).
    uint32_t u[3];
    std::memcpy(u, w + 4, 12);
    const uint32_t six = 0x3F3F3F3F, four = 0x0F0F0F0F, two = 0x03030303;
    const uint32_t scales[2] = {u[0] & six, (u[2] & four) | (((u[0] >> 6) & two) << 4)};
    const uint32_t mins[2] = {u[1] & six, ((u[2] >> 4) & four) | (((u[1] >> 6) & two) << 4)};
    uint8_t sc[8];
    std::memcpy(sc, scales, 8);
    const __m128i mins16 = _mm_cvtepu8_epi16(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(mins)));
    // The 256 values: sub-block s is q[s], its scale sc[s].
    __m256i q[8];
    const uint8_t* qs = w + (five ? 48 : 16);
    const __m256i qh = five ? load32(w + 16) : _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      const __m256i bytes = load32(qs + 32 * c);
      q[2 * c] = _mm256_and_si256(bytes, low4);
      q[2 * c + 1] = _mm256_and_si256(_mm256_srli_epi16(bytes, 4), low4);
      if (five) {
        q[2 * c] = _mm256_or_si256(q[2 * c],
                                   _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4));
        q[2 * c + 1] = _mm256_or_si256(
            q[2 * c + 1], _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4));
      }
    }
    const float dw = half(w), dminw = half(w + 2);
    for (int r = 0; r < NX; ++r) {
      const q8k_block xb = read_q8k(x + r * stride);
      const float d = xb.d * dw, dmin = -xb.d * dminw;
      // Sub-block s's min times the sum of its 32 activations, two sub-blocks to a lane.
      const __m128i sums = _mm_hadd_epi16(load16(xb.sums), load16(xb.sums + 16));
      const __m128i prod = _mm_madd_epi16(mins16, sums);
      if (five) {
        const __m128i h = _mm_hadd_epi32(_mm_hadd_epi32(prod, prod), prod);
        summs[r] = std::fma(dmin, float(_mm_cvtsi128_si32(h)), summs[r]);
      } else {
        acc_m[r] = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(prod), acc_m[r]);
      }
      __m256i sumi = _mm256_setzero_si256();
      for (int c = 0; c < 4; ++c) {
        const __m256i plo = _mm256_maddubs_epi16(q[2 * c], load32(xb.q + 64 * c));
        const __m256i phi = _mm256_maddubs_epi16(q[2 * c + 1], load32(xb.q + 64 * c + 32));
        sumi = add_madd(sumi, plo, _mm256_set1_epi16(int16_t(sc[2 * c])));
        sumi = add_madd(sumi, phi, _mm256_set1_epi16(int16_t(sc[2 * c + 1])));
      }
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc[r]);
    }
  }
  for (int r = 0; r < NX; ++r) {
    __m128 m = _mm_add_ps(acc_m[r], _mm_movehl_ps(acc_m[r], acc_m[r]));
    m = _mm_add_ss(m, _mm_movehdup_ps(m));
    out[r] = hsum(acc[r]) + (five ? summs[r] : _mm_cvtss_f32(m));
  }
}

// q6_k: values stored with +32 are taken unsigned (0..63), and 32 * x comes off in the int16
// lanes, before the scales, as llama.cpp does. NX activation rows per weight row.
template <int NX>
void dot_q6_k(const uint8_t* w, const uint8_t* x, size_t stride, int64_t n, float* out) {
  __m256 acc[NX];
  for (int r = 0; r < NX; ++r)
    acc[r] = _mm256_setzero_ps();
  const __m256i low4 = _mm256_set1_epi8(0x0F), pair = _mm256_set1_epi8(3);
  const __m256i m32 = _mm256_set1_epi8(32);
  for (int64_t i = 0; i < n; i += 256, w += 210, x += 292) {
    prefetch_block<210>(w);
    const __m128i scales = load16(w + 192);
    __m256i q[8]; // 32 values each: value 32k + l of half h is q[4h + k][l]
    for (int h = 0; h < 2; ++h) {
      const __m256i ql0 = load32(w + 64 * h), ql1 = load32(w + 64 * h + 32);
      const __m256i qh = load32(w + 128 + 32 * h);
      auto high = [&](int k) { // bit pair k of each high byte, moved to bits 4..5
        return _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), pair), 4);
      };
      q[4 * h] = _mm256_or_si256(_mm256_and_si256(ql0, low4), high(0));
      q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(ql1, low4), high(1));
      q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4), high(2));
      q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4), high(3));
    }
    const float dw = half(w + 208);
    for (int r = 0; r < NX; ++r) {
      const q8k_block xb = read_q8k(x + r * stride);
      __m256i sumi = _mm256_setzero_si256();
      for (int k = 0; k < 8; ++k) {
        const __m256i xq = load32(xb.q + 32 * k);
        const __m256i p = _mm256_sub_epi16(_mm256_maddubs_epi16(q[k], xq), _mm256_maddubs_epi16(m32, xq));
        sumi = add_madd(sumi, scale_pair(scales, 2 * k), p);
      }
      acc[r] = _mm256_fmadd_ps(_mm256_set1_ps(xb.d * dw), _mm256_cvtepi32_ps(sumi), acc[r]);
    }
  }
  for (int r = 0; r < NX; ++r)
    out[r] = hsum(acc[r]);
}

#define LLAMPS_ROWS(kernel, ...)                                                                             \
  up_to_4_rows<kernel<__VA_ARGS__ 1>, kernel<__VA_ARGS__ 2>, kernel<__VA_ARGS__ 3>, kernel<__VA_ARGS__ 4>>

} // namespace

weighted_sum_fn LLAMPS_KERNEL_SET::weighted_sum() { return weighted_sum_f32_values; }
weighted_sum_f16_fn LLAMPS_KERNEL_SET::weighted_sum_f16() { return weighted_sum_f16_values; }
q4_0_x8_fn LLAMPS_KERNEL_SET::q4_0_x8() { return q4_0_x8_any; }

dot_fn LLAMPS_KERNEL_SET::dot(tensor_type t) {
  switch (t) {
  case tensor_type::f32:
  case tensor_type::f16:
  case tensor_type::bf16: return float_weights_dot(t);
  case tensor_type::q8_0: return one_row<dot32<tensor_type::q8_0, 1>>;
  case tensor_type::q4_0: return one_row<dot32<tensor_type::q4_0, 1>>;
  case tensor_type::q4_1: return one_row<dot32<tensor_type::q4_1, 1>>;
  case tensor_type::q5_0: return one_row<dot32<tensor_type::q5_0, 1>>;
  case tensor_type::q5_1: return one_row<dot32<tensor_type::q5_1, 1>>;
  case tensor_type::iq4_nl: return one_row<dot32<tensor_type::iq4_nl, 1>>;
  case tensor_type::q2_k: return dot_q2_k;
  case tensor_type::q3_k: return dot_q3_k;
  case tensor_type::q4_k: return one_row<dot_q45_k<false, 1>>;
  case tensor_type::q5_k: return one_row<dot_q45_k<true, 1>>;
  case tensor_type::q6_k: return one_row<dot_q6_k<1>>;
  default: return nullptr;
  }
}

dot_rows_fn LLAMPS_KERNEL_SET::dot_rows(tensor_type t) {
  switch (t) {
  case tensor_type::f32:
  case tensor_type::f16:
  case tensor_type::bf16: return float_weights_dot_rows(t);
  case tensor_type::q8_0: return LLAMPS_ROWS(dot32, tensor_type::q8_0, );
  case tensor_type::q4_0: return LLAMPS_ROWS(dot32, tensor_type::q4_0, );
  case tensor_type::q4_1: return LLAMPS_ROWS(dot32, tensor_type::q4_1, );
  case tensor_type::q5_0: return LLAMPS_ROWS(dot32, tensor_type::q5_0, );
  case tensor_type::q5_1: return LLAMPS_ROWS(dot32, tensor_type::q5_1, );
  case tensor_type::iq4_nl: return LLAMPS_ROWS(dot32, tensor_type::iq4_nl, );
  case tensor_type::q4_k: return LLAMPS_ROWS(dot_q45_k, false, );
  case tensor_type::q5_k: return LLAMPS_ROWS(dot_q45_k, true, );
  case tensor_type::q6_k: return LLAMPS_ROWS(dot_q6_k, );
  default: return nullptr;
  }
}

} // namespace llamps::quant

#else

namespace llamps::quant {
dot_fn LLAMPS_KERNEL_SET::dot(tensor_type) { return nullptr; }
dot_rows_fn LLAMPS_KERNEL_SET::dot_rows(tensor_type) { return nullptr; }
weighted_sum_fn LLAMPS_KERNEL_SET::weighted_sum() { return nullptr; }
weighted_sum_f16_fn LLAMPS_KERNEL_SET::weighted_sum_f16() { return nullptr; }
q4_0_x8_fn LLAMPS_KERNEL_SET::q4_0_x8() { return nullptr; }
} // namespace llamps::quant

#endif
