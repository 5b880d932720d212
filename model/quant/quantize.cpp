// Quantisation of F32 rows into the K-quant formats, written from their definitions
// (formats.hpp): the writer side, for `llamps make-model`. Plain, one pass per super-block:
// each sub-block's scale (and min) from its range, the scales themselves quantised against the
// super-block's, then every value rounded against its sub-block's decoded scale. llama.cpp's
// own quantisers search for better scales (its make_qkx2_quants); these only have to give
// valid files of the right size and reasonable error for benchmarks and tests.
#include "model/quant/quantize.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "model/errors.hpp"
#include "model/gguf/gguf_writer.hpp"
#include "model/quant/formats.hpp"

namespace llamps::quant {

namespace {

void store_half(uint8_t* p, float v) {
  const uint16_t h = gguf::f32_to_fp16(v);
  std::memcpy(p, &h, 2);
}

int nearest(float v) { return int(std::nearbyint(v)); }

// q4_k: 8 sub-blocks of 32, x = d * scale * q - dmin * min with q in 0..15.
void q4_k(const float* x, uint8_t* b, int64_t n) {
  for (int64_t i = 0; i < n; i += 256, x += 256, b += 144) {
    float scale[8], min[8];
    for (int s = 0; s < 8; ++s) {
      const float lo = std::min(0.f, *std::min_element(x + 32 * s, x + 32 * s + 32));
      const float hi = *std::max_element(x + 32 * s, x + 32 * s + 32);
      scale[s] = (hi - lo) / 15.f;
      min[s] = -lo;
    }
    const float d = *std::max_element(scale, scale + 8) / 63.f;
    const float dmin = *std::max_element(min, min + 8) / 63.f;
    store_half(b, d);
    store_half(b + 2, dmin);
    const float dh = load_half(b), dminh = load_half(b + 2); // the values decoding will see
    int sc[8], mn[8];
    for (int s = 0; s < 8; ++s) {
      sc[s] = dh > 0 ? std::clamp(nearest(scale[s] / dh), 0, 63) : 0;
      mn[s] = dminh > 0 ? std::clamp(nearest(min[s] / dminh), 0, 63) : 0;
    }
    uint8_t* packed = b + 4; // k4_scale_min's layout, inverted
    for (int j = 0; j < 4; ++j) {
      packed[j] = uint8_t(sc[j] | ((sc[j + 4] >> 4) << 6));
      packed[j + 4] = uint8_t(mn[j] | ((mn[j + 4] >> 4) << 6));
      packed[j + 8] = uint8_t((sc[j + 4] & 0x0F) | ((mn[j + 4] & 0x0F) << 4));
    }
    uint8_t q[256];
    for (int s = 0; s < 8; ++s) {
      const float dq = dh * float(sc[s]), mq = dminh * float(mn[s]);
      for (int l = 0; l < 32; ++l)
        q[32 * s + l] = uint8_t(dq > 0 ? std::clamp(nearest((x[32 * s + l] + mq) / dq), 0, 15) : 0);
    }
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l)
        b[16 + 32 * c + l] = uint8_t(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
  }
}

// q6_k: 16 sub-blocks of 16, x = d * scale * (q - 32) with q in 0..63 and int8 scales.
void q6_k(const float* x, uint8_t* b, int64_t n) {
  for (int64_t i = 0; i < n; i += 256, x += 256, b += 210) {
    float scale[16];
    for (int g = 0; g < 16; ++g) { // the value of largest magnitude maps to -32
      const float* v = x + 16 * g;
      const float* big =
          std::max_element(v, v + 16, [](float a, float c) { return std::fabs(a) < std::fabs(c); });
      scale[g] = *big / -32.f;
    }
    float amax = 0.f;
    for (float s : scale)
      amax = std::max(amax, std::fabs(s));
    store_half(b + 208, amax / 127.f);
    const float dh = load_half(b + 208);
    auto* sc = reinterpret_cast<int8_t*>(b + 192);
    std::memset(b, 0, 192);
    for (int g = 0; g < 16; ++g) {
      sc[g] = int8_t(dh > 0 ? std::clamp(nearest(scale[g] / dh), -128, 127) : 0);
      const float dq = dh * float(sc[g]);
      for (int l = 0; l < 16; ++l) {
        const int v = 16 * g + l, half = v / 128, k = v % 128;
        const int q = (dq != 0 ? std::clamp(nearest(x[v] / dq), -32, 31) : 0) + 32;
        b[64 * half + k % 64] |= uint8_t((q & 0x0F) << (k < 64 ? 0 : 4));
        b[128 + 32 * half + k % 32] |= uint8_t((q >> 4) << (2 * (k / 32)));
      }
    }
  }
}

} // namespace

bool can_quantize(tensor_type t) {
  return t == tensor_type::f32 || t == tensor_type::f16 || t == tensor_type::q8_0 || t == tensor_type::q4_0 ||
         t == tensor_type::q4_k || t == tensor_type::q6_k;
}

void quantize_row(tensor_type t, const float* x, uint8_t* out, int64_t n) {
  switch (t) {
  case tensor_type::f32: std::memcpy(out, x, size_t(n) * sizeof(float)); return;
  case tensor_type::f16:
    for (int64_t i = 0; i < n; ++i)
      store_half(out + 2 * i, x[i]);
    return;
  case tensor_type::q8_0: gguf::quantize_q8_0(x, out, uint64_t(n)); return;
  case tensor_type::q4_0: gguf::quantize_q4_0(x, out, uint64_t(n)); return;
  case tensor_type::q4_k: q4_k(x, out, n); return;
  case tensor_type::q6_k: q6_k(x, out, n); return;
  default: throw model_error(std::string("cannot quantise to ") + gguf::type_name(t));
  }
}

} // namespace llamps::quant
