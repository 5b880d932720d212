// Encoding of activation rows before the dot products, and the choice of kernels by CPU.
//
// Activation blocks (as ggml's):
//   q8_0  32 values  34 B: half d; int8 q[32]
//   q8_1  32 values  36 B: half d; half s = d * sum(q); int8 q[32]
//   q8_k 256 values 292 B: float d; int8 q[256]; int16 sums of each 16 q
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "model/errors.hpp"
#include "model/quant/dot.hpp"
#include "model/quant/formats.hpp"

namespace llamps::quant {

act_format activation_format(tensor_type t) {
  switch (t) {
  case tensor_type::f32: return act_format::f32;
  case tensor_type::f16: return act_format::f16;
  case tensor_type::bf16: return act_format::bf16;
  case tensor_type::q4_0: case tensor_type::q5_0: case tensor_type::q8_0:
  case tensor_type::iq4_nl:
    return act_format::q8_0;
  case tensor_type::q4_1: case tensor_type::q5_1: return act_format::q8_1;
  case tensor_type::q2_k: case tensor_type::q3_k: case tensor_type::q4_k:
  case tensor_type::q5_k: case tensor_type::q6_k:
    return act_format::q8_k;
  default:
    throw model_error(std::string("no kernels for tensor type ") + gguf::type_name(t));
  }
}

size_t activation_row_bytes(act_format f, int64_t n) {
  switch (f) {
  case act_format::f32: case act_format::f16: case act_format::bf16: return size_t(n) * 4;
  case act_format::q8_0: return size_t(n / 32) * 34;
  case act_format::q8_1: return size_t(n / 32) * 36;
  case act_format::q8_k: return size_t(n / 256) * 292;
  }
  return 0;
}

namespace {

void store_u16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

// Values rounded to half precision (or bfloat16) and kept as floats: the product of two such
// values is exact in F32, so the sums are llama.cpp's while the kernels load no conversions.
template <uint16_t (*round)(float), float (*widen)(uint16_t)>
void rounded(const float* x, uint8_t* out, int64_t n) {
  auto* y = reinterpret_cast<float*>(out);
  for (int64_t i = 0; i < n; ++i)
    y[i] = widen(round(x[i]));
}

// q8_0 and q8_1: scale 127/amax, round half to even (llama.cpp's x86 path; its portable
// reference rounds half away from zero, which x86 builds never run).
template <bool with_sum>
void q8_32(const float* x, uint8_t* out, int64_t n) {
  constexpr int bytes = with_sum ? 36 : 34;
  for (int64_t i = 0; i < n; i += 32, x += 32, out += bytes) {
    float amax = 0.f;
    for (int j = 0; j < 32; ++j)
      amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.f;
    const float id = amax != 0.f ? 127.f / amax : 0.f;
    auto* q = reinterpret_cast<int8_t*>(out + (with_sum ? 4 : 2));
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      q[j] = int8_t(std::nearbyint(x[j] * id));
      sum += q[j];
    }
    store_u16(out, gguf::f32_to_fp16(d));
    if (with_sum)
      store_u16(out + 2, gguf::f32_to_fp16(d * float(sum)));
  }
}

void q8_k(const float* x, uint8_t* out, int64_t n) {
  for (int64_t i = 0; i < n; i += 256, x += 256, out += 292) {
    float amax = 0.f, max = 0.f;
    for (int j = 0; j < 256; ++j)
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    auto* q = reinterpret_cast<int8_t*>(out + 4);
    int16_t sums[16] = {};
    float d = 0.f;
    if (amax == 0.f) {
      std::memset(q, 0, 256);
    } else {
      const float iscale = -127.f / max;
      for (int j = 0; j < 256; ++j) {
        q[j] = int8_t(std::min(127.f, std::nearbyint(iscale * x[j])));
        sums[j / 16] = int16_t(sums[j / 16] + q[j]);
      }
      d = 1.f / iscale;
    }
    std::memcpy(out, &d, 4);
    std::memcpy(out + 260, sums, sizeof sums);
  }
}

} // namespace

void quantize_activation(act_format f, const float* x, uint8_t* out, int64_t n) {
  switch (f) {
  case act_format::f32: std::memcpy(out, x, size_t(n) * 4); return;
  case act_format::f16: rounded<gguf::f32_to_fp16, gguf::fp16_to_f32>(x, out, n); return;
  case act_format::bf16: rounded<gguf::f32_to_bf16, gguf::bf16_to_f32>(x, out, n); return;
  case act_format::q8_0: q8_32<false>(x, out, n); return;
  case act_format::q8_1: q8_32<true>(x, out, n); return;
  case act_format::q8_k: q8_k(x, out, n); return;
  }
}

const char* isa_name(isa i) { return i == isa::avx2 ? "avx2" : "scalar"; }

bool cpu_runs(isa i) {
#if defined(__x86_64__) && defined(__GNUC__)
  if (i == isa::avx2)
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
           __builtin_cpu_supports("f16c");
#else
  if (i == isa::avx2)
    return false;
#endif
  return true;
}

isa active_isa() {
  static const isa chosen = [] {
    const char* forced = std::getenv("LLAMPS_KERNELS");
    if (forced && std::string(forced) == "scalar")
      return isa::scalar;
    return cpu_runs(isa::avx2) ? isa::avx2 : isa::scalar;
  }();
  return chosen;
}

dot_fn find_dot(tensor_type t, isa i) {
  if (i == isa::avx2)
    if (dot_fn f = avx2_dot(t))
      return f;
  if (dot_fn f = scalar_dot(t))
    return f;
  throw model_error(std::string("no kernel for tensor type ") + gguf::type_name(t));
}

weighted_sum_fn find_weighted_sum(isa i) {
  if (i == isa::avx2)
    if (weighted_sum_fn f = avx2_weighted_sum())
      return f;
  return scalar_weighted_sum();
}

weighted_sum_f16_fn find_weighted_sum_f16(isa i) {
  if (i == isa::avx2)
    if (weighted_sum_f16_fn f = avx2_weighted_sum_f16())
      return f;
  return scalar_weighted_sum_f16();
}

dot_rows_fn find_dot_rows(tensor_type t, isa i) {
  return i == isa::avx2 ? avx2_dot_rows(t) : nullptr;
}

std::string cpu_description() {
  std::string model = "unknown CPU", flags;
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    auto value = [&] { return line.substr(line.find(':') + 2); };
    if (line.rfind("model name", 0) == 0 && model == "unknown CPU")
      model = value();
    if ((line.rfind("flags", 0) == 0 || line.rfind("Features", 0) == 0) && flags.empty()) {
      const std::string all = " " + value() + " ";
      for (const char* f : {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
                            "avx512_vnni", "avx_vnni", "amx_int8", "neon", "asimd"})
        if (all.find(std::string(" ") + f + " ") != std::string::npos)
          flags += std::string(flags.empty() ? "" : " ") + f;
    }
  }
  return model + " | flags: " + (flags.empty() ? "none" : flags) +
         " | kernels: " + isa_name(active_isa());
}

} // namespace llamps::quant
