// The portable kernels: correct on every CPU, and the reference the vector kernels are tested
// against. Each unpacks one weight block to small integers (formats.hpp gives the layouts),
// takes its exact integer dot product with the encoded activations, and scales it in float
// as llama.cpp does: d_w * d_x * sum(q_w * q_x), plus the min terms of the formats with mins.
#include <cmath>
#include <cstring>

#include "model/quant/dot.hpp"
#include "model/quant/formats.hpp"

namespace llamps::quant {

namespace {

int dot_i8(const int8_t* a, const int8_t* b, int n) {
  int s = 0;
  for (int i = 0; i < n; ++i)
    s += int(a[i]) * int(b[i]);
  return s;
}

const int8_t* q8_values(const uint8_t* block, int header) {
  return reinterpret_cast<const int8_t*>(block + header);
}

// llama.cpp's order (dot.hpp): lane l of 32 sums the products i = l (mod 32) of the whole
// steps; the lanes are reduced as its AVX2 build reduces them; the rest is added one by one.
float reduce_lanes(const float lane[32]) {
  float s[8];
  for (int e = 0; e < 8; ++e)
    s[e] = (lane[e] + lane[16 + e]) + (lane[8 + e] + lane[24 + e]);
  const float t0 = s[0] + s[4], t1 = s[1] + s[5], t2 = s[2] + s[6], t3 = s[3] + s[7];
  return (t0 + t1) + (t2 + t3);
}

float f32_dot(const uint8_t* w, const uint8_t* x, int64_t n) {
  const auto* a = reinterpret_cast<const float*>(w);
  const auto* b = reinterpret_cast<const float*>(x);
  const int64_t whole = n & ~int64_t(31);
  float lane[32] = {};
  for (int64_t i = 0; i < whole; ++i)
    lane[i % 32] += a[i] * b[i];
  float s = reduce_lanes(lane);
  for (int64_t i = whole; i < n; ++i)
    s += a[i] * b[i];
  return s;
}

void weighted_sum(const float* w, const float* v, int64_t n, int64_t stride, int64_t width, float* out) {
  for (int64_t d = 0; d < width; ++d) {
    float lane[32] = {};
    for (int64_t j = 0; j < n; ++j)
      lane[j % 32] += w[j] * v[j * stride + d];
    out[d] = reduce_lanes(lane);
  }
}

void weighted_sum_f16(const float* w, const uint16_t* v, int64_t n, int64_t stride, int64_t width,
                      float* out) {
  for (int64_t d = 0; d < width; ++d) {
    float lane[32] = {};
    for (int64_t j = 0; j < n; ++j)
      lane[j % 32] += gguf::fp16_to_f32(gguf::f32_to_fp16(w[j])) * gguf::fp16_to_f32(v[j * stride + d]);
    out[d] = reduce_lanes(lane);
  }
}

template <float (*to_f32)(uint16_t)>
float half_dot(const uint8_t* w, const uint8_t* x, int64_t n) {
  float s = 0.f;
  for (int64_t i = 0; i < n; ++i)
    s += to_f32(load_u16(w + 2 * i)) * reinterpret_cast<const float*>(x)[i];
  return s;
}

// The 32-value formats, unpacked to int8 values (offsets applied) and the block's d and m.
struct block32 {
  int8_t q[32];
  float d, m;
};

template <tensor_type T>
block32 unpack32(const uint8_t* b) {
  block32 u{};
  u.d = load_half(b);
  if constexpr (T == tensor_type::q8_0) {
    std::memcpy(u.q, b + 2, 32);
    return u;
  }
  constexpr bool has_min = block32_has_min(T);
  constexpr bool has_high = block32_has_high(T);
  u.m = has_min ? load_half(b + 2) : 0.f;
  uint32_t qh = 0;
  if (has_high)
    std::memcpy(&qh, b + (has_min ? 4 : 2), 4);
  const uint8_t* qs = b + block32_bytes(T) - 16;
  for (int j = 0; j < 16; ++j) {
    int lo = qs[j] & 0x0F, hi = qs[j] >> 4;
    if constexpr (T == tensor_type::iq4_nl) {
      u.q[j] = iq4_nl_values[lo];
      u.q[j + 16] = iq4_nl_values[hi];
      continue;
    }
    if (has_high) {
      lo |= int((qh >> j) & 1) << 4;
      hi |= int((qh >> (j + 16)) & 1) << 4;
    }
    u.q[j] = int8_t(lo - block32_offset(T));
    u.q[j + 16] = int8_t(hi - block32_offset(T));
  }
  return u;
}

// Weights of 32-value blocks with q8_0 (or, for the formats with a min, q8_1) activations.
template <tensor_type T>
float dot32(const uint8_t* w, const uint8_t* x, int64_t n) {
  constexpr bool has_min = block32_has_min(T);
  float s = 0.f, mins = 0.f;
  for (int64_t i = 0; i < n; i += 32, w += block32_bytes(T), x += q8_32_bytes(has_min)) {
    const block32 u = unpack32<T>(w);
    const int isum = dot_i8(u.q, q8_values(x, q8_32_values(has_min)), 32);
    s += u.d * load_f32(x) * float(isum);
    if (has_min)
      mins += u.m * load_f32(x + 4); // m * (d_x * sum of the activation's q)
  }
  return s + mins;
}

// The K-quants with q8_k activations: a super-block unpacked to 256 int8 values with a scale
// and a min per sub-block of 16 (the 32-value sub-blocks of q4_k/q5_k give two equal ones).
struct block256 {
  int8_t q[256];
  int scale[16];
  int min[16];
  float d, dmin;
};

void unpack_q2_k(const uint8_t* b, block256& u) {
  u.d = load_half(b + 80);
  u.dmin = load_half(b + 82);
  for (int g = 0; g < 16; ++g) {
    u.scale[g] = b[g] & 0x0F;
    u.min[g] = b[g] >> 4;
  }
  for (int half = 0, v = 0; half < 2; ++half)
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 32; ++l, ++v)
        u.q[v] = int8_t((b[16 + 32 * half + l] >> (2 * k)) & 3);
}

void unpack_q3_k(const uint8_t* b, block256& u) {
  u.d = load_half(b + 108);
  u.dmin = 0.f;
  int8_t sc[16];
  q3_k_scales(b + 96, sc);
  for (int g = 0; g < 16; ++g) {
    u.scale[g] = sc[g];
    u.min[g] = 0;
  }
  for (int half = 0, v = 0; half < 2; ++half)
    for (int k = 0; k < 4; ++k)
      for (int l = 0; l < 32; ++l, ++v) {
        const int low = (b[32 + 32 * half + l] >> (2 * k)) & 3;
        const bool high = b[l] & (1u << (4 * half + k));
        u.q[v] = int8_t(low - (high ? 0 : 4));
      }
}

template <bool five>
void unpack_q45_k(const uint8_t* b, block256& u) {
  u.d = load_half(b);
  u.dmin = load_half(b + 2);
  const uint8_t* qh = b + 16;
  const uint8_t* qs = b + (five ? 48 : 16);
  for (int s = 0; s < 8; ++s) {
    int sc, mn;
    k4_scale_min(b + 4, s, sc, mn);
    u.scale[2 * s] = u.scale[2 * s + 1] = sc;
    u.min[2 * s] = u.min[2 * s + 1] = mn;
    const uint8_t* bytes = qs + 32 * (s / 2);
    for (int l = 0; l < 32; ++l) {
      int v = (bytes[l] >> (s & 1 ? 4 : 0)) & 0x0F;
      if (five)
        v |= ((qh[l] >> s) & 1) << 4;
      u.q[32 * s + l] = int8_t(v);
    }
  }
}

void unpack_q6_k(const uint8_t* b, block256& u) {
  u.d = load_half(b + 208);
  u.dmin = 0.f;
  const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
  for (int g = 0; g < 16; ++g) {
    u.scale[g] = sc[g];
    u.min[g] = 0;
  }
  for (int half = 0; half < 2; ++half) {
    const uint8_t* ql = b + 64 * half;
    const uint8_t* qh = b + 128 + 32 * half;
    for (int v = 0; v < 128; ++v) {
      const int low = v < 64 ? ql[v] & 0x0F : ql[v - 64] >> 4;
      const int high = (qh[v % 32] >> (2 * (v / 32))) & 3;
      u.q[128 * half + v] = int8_t((low | (high << 4)) - 32);
    }
  }
}

template <void (*unpack)(const uint8_t*, block256&), int bytes>
float dot256(const uint8_t* w, const uint8_t* x, int64_t n) {
  float s = 0.f;
  block256 u;
  for (int64_t i = 0; i < n; i += 256, w += bytes, x += 292) {
    unpack(w, u);
    float dx;
    std::memcpy(&dx, x, 4);
    const int8_t* xq = q8_values(x, 4);
    int16_t sums[16];
    std::memcpy(sums, x + 260, sizeof sums);
    int isum = 0, msum = 0;
    for (int g = 0; g < 16; ++g) {
      isum += u.scale[g] * dot_i8(u.q + 16 * g, xq + 16 * g, 16);
      msum += u.min[g] * sums[g];
    }
    s += dx * u.d * float(isum) - dx * u.dmin * float(msum);
  }
  return s;
}

// dot.hpp's q4_0_x8: each block's integer sum whole.
void q4_0_x8(const uint8_t* w, size_t row_bytes, const uint8_t* x, size_t stride, int nx, int64_t n,
             float* out) {
  constexpr int wbytes = block32_bytes(tensor_type::q4_0), xbytes = q8_32_bytes(false);
  for (int i = 0; i < nx; ++i)
    for (int j = 0; j < q4_0_x8_rows; ++j) {
      const uint8_t* wr = w + size_t(j) * row_bytes;
      const uint8_t* xr = x + size_t(i) * stride;
      float acc = 0.f;
      for (int64_t b = 0; b < n / 32; ++b) {
        const uint8_t* wb = wr + b * wbytes;
        const uint8_t* xb = xr + b * xbytes;
        const block32 u = unpack32<tensor_type::q4_0>(wb);
        const int isum = dot_i8(u.q, q8_values(xb, q8_32_values(false)), 32);
        acc = std::fma(float(isum), u.d * load_f32(xb), acc);
      }
      out[i * q4_0_x8_rows + j] = acc;
    }
}

} // namespace

q4_0_x8_fn scalar_q4_0_x8() { return q4_0_x8; }

weighted_sum_fn scalar_weighted_sum() { return weighted_sum; }
weighted_sum_f16_fn scalar_weighted_sum_f16() { return weighted_sum_f16; }

dot_fn scalar_dot(tensor_type t) {
  switch (t) {
  case tensor_type::f32: return f32_dot;
  case tensor_type::f16: return half_dot<gguf::fp16_to_f32>;
  case tensor_type::bf16: return half_dot<gguf::bf16_to_f32>;
  case tensor_type::q8_0: return dot32<tensor_type::q8_0>;
  case tensor_type::q4_0: return dot32<tensor_type::q4_0>;
  case tensor_type::q4_1: return dot32<tensor_type::q4_1>;
  case tensor_type::q5_0: return dot32<tensor_type::q5_0>;
  case tensor_type::q5_1: return dot32<tensor_type::q5_1>;
  case tensor_type::iq4_nl: return dot32<tensor_type::iq4_nl>;
  case tensor_type::q2_k: return dot256<unpack_q2_k, 84>;
  case tensor_type::q3_k: return dot256<unpack_q3_k, 110>;
  case tensor_type::q4_k: return dot256<unpack_q45_k<false>, 144>;
  case tensor_type::q5_k: return dot256<unpack_q45_k<true>, 176>;
  case tensor_type::q6_k: return dot256<unpack_q6_k, 210>;
  default: return nullptr;
  }
}

} // namespace llamps::quant
