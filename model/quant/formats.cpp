// Exact dequantisation of every supported weight format (see formats.hpp for the layouts).
// Each loop is written as the format defines it; the dot-product kernels (dot_*.cpp) compute
// the same values without materialising them, and tests/test_quant.cpp holds both to
// llama.cpp's own dequantisation of the same files.
#include "model/quant/formats.hpp"

#include <cstring>
#include <string>

#include "model/errors.hpp"

namespace llamps::quant {

const int8_t iq4_nl_values[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

void k4_scale_min(const uint8_t* s, int j, int& scale, int& min) {
  // Sub-blocks 0..3 keep their six bits in bytes j (scale) and j+4 (min); sub-blocks 4..7
  // keep their low four bits in byte j+4 and their top two in the spare top bits of bytes
  // j-4 (scale) and j (min).
  if (j < 4) {
    scale = s[j] & 63;
    min = s[j + 4] & 63;
  } else {
    scale = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

void q3_k_scales(const uint8_t* p, int8_t out[16]) {
  // Low four bits: bytes 0..7 (scales 0..7 in the low nibbles, 8..15 in the high ones);
  // top two bits: bytes 8..11, scale j in bits 2*(j/4) of byte 8 + j%4. Stored with +32.
  for (int j = 0; j < 16; ++j) {
    const int low = j < 8 ? p[j] & 0x0F : p[j - 8] >> 4;
    const int high = (p[8 + j % 4] >> (2 * (j / 4))) & 3;
    out[j] = int8_t((low | (high << 4)) - 32);
  }
}

namespace {

uint32_t load_u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

void q8_0(const uint8_t* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 32, b += 34, y += 32) {
    const float d = load_half(b);
    for (int j = 0; j < 32; ++j)
      y[j] = float(int8_t(b[2 + j])) * d;
  }
}

// The 32-value nibble formats: q4_0, q4_1, q5_0, q5_1. Those with a min add the block's half
// m; the others subtract their offset from the integer.
template <tensor_type T>
void nibbles(const uint8_t* b, float* y, int64_t n) {
  constexpr bool has_min = block32_has_min(T), has_high = block32_has_high(T);
  constexpr int offset = block32_offset(T);
  constexpr int bytes = block32_bytes(T);
  for (int64_t i = 0; i < n; i += 32, b += bytes, y += 32) {
    const float d = load_half(b);
    const float m = has_min ? load_half(b + 2) : 0.f;
    const uint32_t qh = has_high ? load_u32(b + (has_min ? 4 : 2)) : 0;
    const uint8_t* qs = b + bytes - 16;
    for (int j = 0; j < 16; ++j) {
      const int lo = (qs[j] & 0x0F) | (has_high ? int((qh >> j) & 1) << 4 : 0);
      const int hi = (qs[j] >> 4) | (has_high ? int((qh >> (j + 16)) & 1) << 4 : 0);
      if (has_min) {
        y[j] = float(lo) * d + m;
        y[j + 16] = float(hi) * d + m;
      } else {
        y[j] = float(lo - offset) * d;
        y[j + 16] = float(hi - offset) * d;
      }
    }
  }
}

void iq4_nl(const uint8_t* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 32, b += 18, y += 32) {
    const float d = load_half(b);
    for (int j = 0; j < 16; ++j) {
      y[j] = d * float(iq4_nl_values[b[2 + j] & 0x0F]);
      y[j + 16] = d * float(iq4_nl_values[b[2 + j] >> 4]);
    }
  }
}

// q2_k: 16 sub-blocks of 16. The 64 bytes of 2-bit codes hold two halves of 128 values; in
// each half, bit pair k (k = 0..3) of byte l is value 32k + l (l < 32).
void q2_k(const uint8_t* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 256, b += 84) {
    const uint8_t* sc = b;
    const float d = load_half(b + 80), dmin = load_half(b + 82);
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = b + 16 + 32 * half;
      for (int k = 0; k < 4; ++k)
        for (int g = 0; g < 2; ++g) { // two sub-blocks of 16 per bit pair
          const uint8_t s = *sc++;
          const float dl = d * float(s & 0x0F), ml = dmin * float(s >> 4);
          for (int l = 0; l < 16; ++l)
            *y++ = dl * float((q[16 * g + l] >> (2 * k)) & 3) - ml;
        }
    }
  }
}

// q3_k: as q2_k's 2-bit layout, plus a high bit per value (bit 4*half + k of byte l of the
// mask); a clear high bit subtracts 4.
void q3_k(const uint8_t* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 256, b += 110) {
    const uint8_t* hm = b;
    int8_t scales[16];
    q3_k_scales(b + 96, scales);
    const float d = load_half(b + 108);
    int is = 0;
    for (int half = 0; half < 2; ++half) {
      const uint8_t* q = b + 32 + 32 * half;
      for (int k = 0; k < 4; ++k) {
        const uint8_t mask = uint8_t(1u << (4 * half + k));
        for (int g = 0; g < 2; ++g) {
          const float dl = d * float(scales[is++]);
          for (int l = 0; l < 16; ++l) {
            const int v = (q[16 * g + l] >> (2 * k)) & 3;
            *y++ = dl * float(v - ((hm[16 * g + l] & mask) ? 0 : 4));
          }
        }
      }
    }
  }
}

// q4_k and q5_k: four chunks of 64 values over 32 bytes of nibbles: the low nibbles are
// sub-block 2c, the high ones sub-block 2c+1. q5_k's fifth bit of value l of sub-block s is
// bit s of byte l of the 32-byte high-bit array.
template <bool five>
void q45_k(const uint8_t* b, float* y, int64_t n) {
  constexpr int bytes = five ? 176 : 144;
  for (int64_t i = 0; i < n; i += 256, b += bytes) {
    const float d = load_half(b), dmin = load_half(b + 2);
    const uint8_t* scales = b + 4;
    const uint8_t* qh = b + 16;
    const uint8_t* qs = b + (five ? 48 : 16);
    for (int c = 0; c < 4; ++c, qs += 32) {
      for (int s = 2 * c; s < 2 * c + 2; ++s) {
        int sc, mn;
        k4_scale_min(scales, s, sc, mn);
        const float dl = d * float(sc), ml = dmin * float(mn);
        const int shift = s & 1 ? 4 : 0;
        for (int l = 0; l < 32; ++l) {
          int v = (qs[l] >> shift) & 0x0F;
          if (five)
            v |= ((qh[l] >> s) & 1) << 4;
          *y++ = dl * float(v) - ml;
        }
      }
    }
  }
}

// q6_k: two halves of 128 values. In a half, byte l (l < 64) of the low nibbles holds value l
// (low nibble) and value l+64 (high nibble); byte l (l < 32) of the high bits holds the top
// two bits of values l, l+32, l+64, l+96 (bit pairs 0..3). Values are stored with +32; value
// v of the super-block uses scale v/16.
void q6_k(const uint8_t* b, float* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 256, b += 210, y += 256) {
    const float d = load_half(b + 208);
    const auto* sc = reinterpret_cast<const int8_t*>(b + 192);
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = b + 64 * half;
      const uint8_t* qh = b + 128 + 32 * half;
      float* out = y + 128 * half;
      for (int v = 0; v < 128; ++v) {
        const int low = v < 64 ? ql[v] & 0x0F : ql[v - 64] >> 4;
        const int high = (qh[v % 32] >> (2 * (v / 32))) & 3;
        out[v] = d * float(sc[8 * half + v / 16]) * float((low | (high << 4)) - 32);
      }
    }
  }
}

} // namespace

void dequantize_row(tensor_type t, const uint8_t* src, float* dst, int64_t n) {
  switch (t) {
  case tensor_type::f32: std::memcpy(dst, src, size_t(n) * 4); return;
  case tensor_type::f16:
    for (int64_t i = 0; i < n; ++i)
      dst[i] = load_half(src + 2 * i);
    return;
  case tensor_type::bf16:
    for (int64_t i = 0; i < n; ++i)
      dst[i] = gguf::bf16_to_f32(load_u16(src + 2 * i));
    return;
  case tensor_type::q8_0: q8_0(src, dst, n); return;
  case tensor_type::q4_0: nibbles<tensor_type::q4_0>(src, dst, n); return;
  case tensor_type::q4_1: nibbles<tensor_type::q4_1>(src, dst, n); return;
  case tensor_type::q5_0: nibbles<tensor_type::q5_0>(src, dst, n); return;
  case tensor_type::q5_1: nibbles<tensor_type::q5_1>(src, dst, n); return;
  case tensor_type::iq4_nl: iq4_nl(src, dst, n); return;
  case tensor_type::q2_k: q2_k(src, dst, n); return;
  case tensor_type::q3_k: q3_k(src, dst, n); return;
  case tensor_type::q4_k: q45_k<false>(src, dst, n); return;
  case tensor_type::q5_k: q45_k<true>(src, dst, n); return;
  case tensor_type::q6_k: q6_k(src, dst, n); return;
  default: throw model_error(std::string("cannot dequantise tensor type ") + gguf::type_name(t));
  }
}

} // namespace llamps::quant
