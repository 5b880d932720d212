// Encoding of activation rows before the dot products, and the choice of kernels by CPU.
//
// Activation blocks (ggml's, with the half-precision scales kept widened to float):
//   q8_0  32 values  36 B: float d; int8 q[32]
//   q8_1  32 values  40 B: float d; float s = d * sum(q); int8 q[32]
//   q8_k 256 values 292 B: float d; int8 q[256]; int16 sums of each 16 q
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#if defined(__x86_64__) && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "model/errors.hpp"
#include "model/quant/dot.hpp"
#include "model/quant/formats.hpp"

namespace llamps::quant {

act_format activation_format(tensor_type t) {
  switch (t) {
  case tensor_type::f32: return act_format::f32;
  case tensor_type::f16: return act_format::f16;
  case tensor_type::bf16: return act_format::bf16;
  case tensor_type::q4_0:
  case tensor_type::q5_0:
  case tensor_type::q8_0:
  case tensor_type::iq4_nl: return act_format::q8_0;
  case tensor_type::q4_1:
  case tensor_type::q5_1: return act_format::q8_1;
  case tensor_type::q2_k:
  case tensor_type::q3_k:
  case tensor_type::q4_k:
  case tensor_type::q5_k:
  case tensor_type::q6_k: return act_format::q8_k;
  default: throw model_error(std::string("no kernels for tensor type ") + gguf::type_name(t));
  }
}

size_t activation_row_bytes(act_format f, int64_t n) {
  switch (f) {
  case act_format::f32:
  case act_format::f16:
  case act_format::bf16: return size_t(n) * 4;
  case act_format::q8_0: return size_t(n / 32) * q8_32_bytes(false);
  case act_format::q8_1: return size_t(n / 32) * q8_32_bytes(true);
  case act_format::q8_k: return size_t(n / 256) * 292;
  }
  return 0;
}

namespace {

// A scale as llama.cpp's block stores it: rounded to half precision.
void store_half_as_float(uint8_t* p, float v) {
  const float h = gguf::fp16_to_f32(gguf::f32_to_fp16(v));
  std::memcpy(p, &h, 4);
}

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
  constexpr int bytes = q8_32_bytes(with_sum);
  for (int64_t i = 0; i < n; i += 32, x += 32, out += bytes) {
    float amax = 0.f;
    for (int j = 0; j < 32; ++j)
      amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.f;
    const float id = amax != 0.f ? 127.f / amax : 0.f;
    auto* q = reinterpret_cast<int8_t*>(out + q8_32_values(with_sum));
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      q[j] = int8_t(std::nearbyint(x[j] * id));
      sum += q[j];
    }
    store_half_as_float(out, d);
    if (with_sum)
      store_half_as_float(out + 4, d * float(sum));
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

void quantize_activation(act_format f, const float* x, uint8_t* out, int64_t n, isa kernels) {
  if (const encode_fn vector = find_encode(f, kernels)) {
    vector(x, out, n);
    return;
  }
  switch (f) {
  case act_format::f32: std::memcpy(out, x, size_t(n) * 4); return;
  case act_format::f16: rounded<gguf::f32_to_fp16, gguf::fp16_to_f32>(x, out, n); return;
  case act_format::bf16: rounded<gguf::f32_to_bf16, gguf::bf16_to_f32>(x, out, n); return;
  case act_format::q8_0: q8_32<false>(x, out, n); return;
  case act_format::q8_1: q8_32<true>(x, out, n); return;
  case act_format::q8_k: q8_k(x, out, n); return;
  }
}

void decode_activation(act_format f, const uint8_t* encoded, float* out, int64_t n) {
  if (f == act_format::f32 || f == act_format::f16 || f == act_format::bf16) {
    std::memcpy(out, encoded, size_t(n) * 4); // already the (rounded) values
    return;
  }
  const int block = f == act_format::q8_k ? 256 : 32;
  const size_t bytes = f == act_format::q8_k ? 292 : q8_32_bytes(f == act_format::q8_1);
  const int values = f == act_format::q8_k ? 4 : q8_32_values(f == act_format::q8_1);
  for (int64_t i = 0; i < n; i += block, encoded += bytes, out += block) {
    const float d = load_f32(encoded);
    const auto* q = reinterpret_cast<const int8_t*>(encoded + values);
    for (int j = 0; j < block; ++j)
      out[j] = d * float(q[j]);
  }
}

const char* isa_name(isa i) {
  switch (i) {
  case isa::avx2: return "avx2";
  case isa::avx512vnni: return "avx512vnni";
  case isa::amx: return "amx";
  default: return "scalar";
  }
}

namespace {

// Linux keeps the AMX tile registers out of a thread's saved state until the process asks
// for them (arch_prctl ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA); a tile instruction before
// that faults. The leave holds for every thread of the process.
bool amx_allowed() {
#if defined(__x86_64__) && defined(__linux__)
  constexpr int req_xcomp_perm = 0x1023, xtiledata = 18;
  static const bool allowed = syscall(SYS_arch_prctl, req_xcomp_perm, xtiledata) == 0;
  return allowed;
#else
  return false;
#endif
}

} // namespace

bool cpu_runs(isa i) {
#if defined(__x86_64__) && defined(__GNUC__)
  const bool avx2 =
      __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
  switch (i) {
  case isa::avx2: return avx2;
  case isa::avx512vnni:
    return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  case isa::amx:
    return cpu_runs(isa::avx512vnni) && __builtin_cpu_supports("amx-tile") &&
           __builtin_cpu_supports("amx-int8") && amx_allowed();
  default: return true;
  }
#else
  return i == isa::scalar;
#endif
}

isa active_isa() {
  static const isa chosen = [] {
    isa best = isa::scalar;
    for (isa i : every_isa)
      if (cpu_runs(i))
        best = i;
    // LLAMPS_KERNELS lowers the choice (never raises it past what the CPU runs).
    if (const char* forced = std::getenv("LLAMPS_KERNELS"))
      for (isa i : every_isa)
        if (forced == std::string(isa_name(i)) && i < best)
          best = i;
    return best;
  }();
  return chosen;
}

namespace {

// The kernel of the best set at or below i that has one (or nullptr).
template <class F, class... A>
F best_kernel(isa i, F (*vnni_set)(A...), F (*avx2_set)(A...), F (*scalar_set)(A...), A... a) {
  F f = nullptr;
  if (i >= isa::avx512vnni)
    f = vnni_set(a...);
  if (!f && i >= isa::avx2)
    f = avx2_set(a...);
  return f ? f : scalar_set(a...);
}

dot_rows_fn no_rows_kernel(tensor_type) { return nullptr; }
dequantize_fn no_vector_dequantize(tensor_type) { return nullptr; }

} // namespace

dot_fn find_dot(tensor_type t, isa i) {
  if (dot_fn f = best_kernel(i, vnni::dot, avx2::dot, scalar_dot, t))
    return f;
  throw model_error(std::string("no kernel for tensor type ") + gguf::type_name(t));
}

dot_rows_fn find_dot_rows(tensor_type t, isa i) {
  return best_kernel(i, vnni::dot_rows, avx2::dot_rows, no_rows_kernel, t);
}

session_tile_kernel find_session_tile(tensor_type t, isa i) {
  if (i >= isa::avx512vnni)
    return t == tensor_type::q8_0 ? vnni::q8_0_session_tile() : vnni::session_tile(t);
  if (i >= isa::avx2)
    return avx2::session_tile(t);
  return {};
}

q4_0_x8_fn find_q4_0_x8(isa i) { return best_kernel(i, vnni::q4_0_x8, avx2::q4_0_x8, scalar_q4_0_x8); }

tile_kernel find_tile_kernel(isa i) {
  if (i >= isa::avx512vnni)
    return vnni::tile();
  if (i >= isa::avx2)
    return avx2::tile();
  return {};
}

// Asks cpu_runs too: a caller may name the set without active_isa having asked for the
// process's leave to use the tiles (without it their first instruction faults).
int8_tile_kernel find_int8_tile(tensor_type t, isa i) {
  static const bool runs = cpu_runs(isa::amx); // asked once: every prompt's products call this
  return i >= isa::amx && runs ? vnni::int8_tile(t) : int8_tile_kernel{};
}

namespace {
encode_fn no_vector_encode(act_format) { return nullptr; }
} // namespace

encode_fn find_encode(act_format f, isa i) {
  return best_kernel(i, vnni::encode, avx2::encode, no_vector_encode, f);
}

dequantize_fn find_dequantize(tensor_type t, isa i) {
  return best_kernel(i, vnni::dequantize, avx2::dequantize, no_vector_dequantize, t);
}

weighted_sum_fn find_weighted_sum(isa i) {
  return best_kernel(i, vnni::weighted_sum, avx2::weighted_sum, scalar_weighted_sum);
}

weighted_sum_f16_fn find_weighted_sum_f16(isa i) {
  return best_kernel(i, vnni::weighted_sum_f16, avx2::weighted_sum_f16, scalar_weighted_sum_f16);
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
      for (const char* f : {"avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                            "avx_vnni", "amx_int8", "neon", "asimd"})
        if (all.find(std::string(" ") + f + " ") != std::string::npos)
          flags += std::string(flags.empty() ? "" : " ") + f;
    }
  }
  return model + " | flags: " + (flags.empty() ? "none" : flags) + " | kernels: " + isa_name(active_isa());
}

} // namespace llamps::quant
