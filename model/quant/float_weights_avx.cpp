// The kernels for F32, F16 and BF16 weights: their dot products with one or a few activation
// rows (decode), and the register tile that takes a batch of sessions as a GEMM takes it with
// the same sums. Built twice with dot_avx2.cpp (CMakeLists.txt), into the same namespaces.
#include "model/quant/dot.hpp"
#include "model/quant/kernel_set.hpp"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "model/quant/formats.hpp"

namespace llamps::quant {

namespace {

// llama.cpp's order (dot.hpp); the one-by-one rest is fused as its build compiles it.
float reduce_accumulators(__m256 acc[4]) {
  const __m256 s = _mm256_add_ps(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[1], acc[3]));
  const __m128 t = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  const __m128 h = _mm_hadd_ps(t, t);
  return _mm_cvtss_f32(_mm_hadd_ps(h, h));
}

// Rows of F32, F16 or BF16 weights with activation rows of floats (for f16 and bf16 already
// rounded to that precision): four accumulators over steps of 32 as llama.cpp's vec_dot_f32,
// f16 and bf16, their reductions as its AVX2 build's, and the rest added one by one (in double
// for f16 and bf16, as it does). Eight weights are widened once for all NX activation rows.
template <tensor_type T>
constexpr int value_bytes = T == tensor_type::f32 ? 4 : 2; // of one weight

template <tensor_type T>
__m256 weights8(const uint8_t* w, int64_t i) {
  if constexpr (T == tensor_type::f32)
    return _mm256_loadu_ps(reinterpret_cast<const float*>(w) + i);
  else if constexpr (T == tensor_type::f16)
    return _mm256_cvtph_ps(load16(w + 2 * i));
  else
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load16(w + 2 * i)), 16));
}
template <tensor_type T>
float weight1(const uint8_t* w, int64_t i) {
  if constexpr (T == tensor_type::f32)
    return reinterpret_cast<const float*>(w)[i];
  else if constexpr (T == tensor_type::f16)
    return gguf::fp16_to_f32(load_u16(w + 2 * i));
  else
    return gguf::bf16_to_f32(load_u16(w + 2 * i));
}
float reduce_bf16(__m256* acc) {
  return hsum(_mm256_add_ps(_mm256_add_ps(acc[0], acc[2]), _mm256_add_ps(acc[1], acc[3])));
}

// One sum of a float row from its four accumulators: reduced in llama.cpp's order, then the
// values past the last step of 32 added one by one (in double for f16 and bf16, as it does).
template <tensor_type T>
float finish_float_dot(__m256 acc[4], const uint8_t* w, const float* x, int64_t i, int64_t n) {
  if constexpr (T == tensor_type::f32) {
    float s = reduce_accumulators(acc);
    for (int64_t j = i; j < n; ++j)
      s = std::fma(weight1<T>(w, j), x[j], s);
    return s;
  } else {
    double s = T == tensor_type::f16 ? reduce_accumulators(acc) : reduce_bf16(acc);
    for (int64_t j = i; j < n; ++j)
      s += double(weight1<T>(w, j) * x[j]);
    return float(s);
  }
}

// NX <= 3: its 4 * NX accumulators and the widened weights fill the 16 vector registers.
template <tensor_type T, int NX>
void float_dot(const uint8_t* w, const uint8_t* xp, size_t stride, int64_t n, float* out) {
  const float* x[NX];
  __m256 acc[NX][4];
  for (int r = 0; r < NX; ++r) {
    x[r] = reinterpret_cast<const float*>(xp + r * stride);
    for (__m256& a : acc[r])
      a = _mm256_setzero_ps();
  }
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    prefetch_block<32 * value_bytes<T>>(w + i * value_bytes<T>);
    for (int k = 0; k < 4; ++k) {
      const __m256 wv = weights8<T>(w, i + 8 * k);
      for (int r = 0; r < NX; ++r)
        acc[r][k] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x[r] + i + 8 * k), acc[r][k]);
    }
  }
  for (int r = 0; r < NX; ++r)
    out[r] = finish_float_dot<T>(acc[r], w, x[r], i, n);
}
template <tensor_type T>
void float_dot_4(const uint8_t* w, const uint8_t* x, size_t stride, int64_t n, float* out) {
  float_dot<T, 2>(w, x, stride, n, out);
  float_dot<T, 2>(w, x + 2 * stride, stride, n, out + 2);
}

// float_dot's sums for a tile of weight rows and many activation rows (dot.hpp's
// session_tile_kernel), as a GEMM would take them. A pair's four accumulators are independent
// chains (lanes 8k..8k+7 of each step of 32), so they are run one after the other: each
// (weight row, activation row) pair then needs one register, and a register tile of 2 weight
// rows by 6 activation rows holds its twelve beside the two widened weights and one
// activation. Each weight is widened once for six activation rows, each activation loaded once
// for two weight rows.
//
// The activations are packed once per product, in groups of six rows and chunks of columns,
// each chunk in the order its chains read it ([k][step][row][8]). Read in place, rows of
// power-of-two widths (a multiple of 4 KB apart) would fall into the same few sets of L1 and
// evict each other. A chunk (12 KB) stays in L1 while every weight row of the tile passes it;
// between chunks a pair's four chains wait in `parts`.
constexpr int tile_weight_rows = 2, tile_activations = 6;
constexpr int64_t tile_chunk = 512; // columns

// The activation rows go in groups of at most six, of sizes as even as can be (16 rows: 6, 5
// and 5): group g starts at row group_start(nx, groups, g).
inline int activation_groups(int nx) { return (nx + tile_activations - 1) / tile_activations; }
inline int group_start(int nx, int groups, int g) { return g * nx / groups; }
// Where group `b` (its first row) and the chunk from column c0 begin in the packed rows.
inline int64_t packed_offset(int b, int group, int64_t whole, int64_t c0) { return b * whole + c0 * group; }

int64_t float_packed_values(int nx, int64_t n) { return nx * (n / 32 * 32); }

void pack_float_rows(const uint8_t* xp, size_t stride, int nx, int64_t n, float* packed) {
  const int64_t whole = n / 32 * 32;
  const int groups = activation_groups(nx);
  for (int g = 0; g < groups; ++g) {
    const int b = group_start(nx, groups, g), group = group_start(nx, groups, g + 1) - b;
    for (int64_t c0 = 0; c0 < whole; c0 += tile_chunk) {
      const int64_t steps = (std::min(whole, c0 + tile_chunk) - c0) / 32;
      float* to = packed + packed_offset(b, group, whole, c0);
      for (int k = 0; k < 4; ++k)
        for (int64_t s = 0; s < steps; ++s)
          for (int r = 0; r < group; ++r, to += 8) {
            const float* x = reinterpret_cast<const float*>(xp + size_t(b + r) * stride);
            _mm256_storeu_ps(to, _mm256_loadu_ps(x + c0 + 32 * s + 8 * k));
          }
    }
  }
}

template <tensor_type T, int NX>
void float_pairs(const uint8_t* w, size_t row_bytes, const float* packed, int64_t c0, int64_t steps,
                 __m256 (*parts)[tile_activations][4], bool first) {
  constexpr int NW = tile_weight_rows;
  for (int k = 0; k < 4; ++k) {
    __m256 acc[NW][NX];
    for (int j = 0; j < NW; ++j)
      for (int r = 0; r < NX; ++r)
        acc[j][r] = first ? _mm256_setzero_ps() : parts[j][r][k];
    const float* p = packed + k * steps * NX * 8;
    for (int64_t s = 0; s < steps; ++s, p += NX * 8) {
      __m256 wv[NW];
      for (int j = 0; j < NW; ++j) {
        if (k == 0) // the first pass over the chunk's weights reads them from memory
          prefetch_block<32 * value_bytes<T>>(w + j * row_bytes + (c0 + 32 * s) * value_bytes<T>);
        wv[j] = weights8<T>(w + j * row_bytes, c0 + 32 * s + 8 * k);
      }
      for (int r = 0; r < NX; ++r) {
        __m256 xv = _mm256_loadu_ps(p + r * 8);
        // One load for both weight rows: without this the compiler folds a load into each fma.
        asm("" : "+x"(xv));
        for (int j = 0; j < NW; ++j)
          acc[j][r] = _mm256_fmadd_ps(wv[j], xv, acc[j][r]);
      }
    }
    for (int j = 0; j < NW; ++j)
      for (int r = 0; r < NX; ++r)
        parts[j][r][k] = acc[j][r];
  }
}
using float_pairs_fn = void (*)(const uint8_t*, size_t, const float*, int64_t, int64_t,
                                __m256 (*)[tile_activations][4], bool);
template <tensor_type T>
constexpr float_pairs_fn float_pairs_of[tile_activations + 1] = {
    nullptr,           float_pairs<T, 1>, float_pairs<T, 2>, float_pairs<T, 3>,
    float_pairs<T, 4>, float_pairs<T, 5>, float_pairs<T, 6>};

// Asks L2 for the cache lines of `rows` weight rows from `next`, columns [c0, c1), each value
// `bytes` long.
void prefetch_columns(const uint8_t* next, size_t row_bytes, int rows, int64_t c0, int64_t c1, int bytes) {
  for (int r = 0; r < rows; ++r)
    for (int64_t b = c0 * bytes; b < c1 * bytes; b += 64)
      _mm_prefetch(reinterpret_cast<const char*>(next + size_t(r) * row_bytes + b), _MM_HINT_T1);
}

template <tensor_type T>
void float_tile_of(const uint8_t* w, size_t row_bytes, int rows, const float* packed, const uint8_t* xp,
                   size_t stride, int nx, int64_t n, float* out, int64_t ldo, const uint8_t* next,
                   int next_rows) {
  constexpr int tile_pairs = session_tile_rows / tile_weight_rows;
  struct pair_parts {
    __m256 v[tile_weight_rows][tile_activations][4];
  };
  const int64_t whole = n / 32 * 32;
  const int pairs_in_tile = rows / tile_weight_rows, groups = activation_groups(nx);
  thread_local std::vector<pair_parts> parts; // [group][pair]
  parts.resize(size_t(groups * tile_pairs));
  if (whole == 0) // rows shorter than one step: no chunk sets the chains, the tail is all
    std::fill(parts.begin(), parts.end(), pair_parts{});
  // Chunk by chunk, every group passes over the tile's weights while they are in L1.
  for (int64_t c0 = 0; c0 < whole && pairs_in_tile; c0 += tile_chunk) {
    const int64_t c1 = std::min(whole, c0 + tile_chunk), steps = (c1 - c0) / 32;
    // Meanwhile the next tile's weights come in: the first pass over one of its weight lines
    // then finds it in L2, not in memory.
    if (next_rows)
      prefetch_columns(next, row_bytes, next_rows, c0, c1 == whole ? n : c1, value_bytes<T>);
    for (int g = 0; g < groups; ++g) {
      const int b = group_start(nx, groups, g), group = group_start(nx, groups, g + 1) - b;
      const float* chunk = packed + packed_offset(b, group, whole, c0);
      for (int j = 0; j < pairs_in_tile; ++j)
        float_pairs_of<T>[group](w + size_t(j * tile_weight_rows) * row_bytes, row_bytes, chunk, c0, steps,
                                 parts[size_t(g * tile_pairs + j)].v, c0 == 0);
    }
  }
  for (int g = 0; g < groups; ++g) {
    const int b = group_start(nx, groups, g), group = group_start(nx, groups, g + 1) - b;
    for (int r = 0; r < group; ++r) {
      const float* x = reinterpret_cast<const float*>(xp + size_t(b + r) * stride);
      float* o = out + (b + r) * ldo;
      for (int j = 0; j < pairs_in_tile; ++j)
        for (int jj = 0; jj < tile_weight_rows; ++jj) {
          const int row = j * tile_weight_rows + jj;
          o[row] = finish_float_dot<T>(parts[size_t(g * tile_pairs + j)].v[jj][r],
                                       w + size_t(row) * row_bytes, x, whole, n);
        }
      // An odd last weight row, by the single-row kernel.
      if (rows % tile_weight_rows)
        float_dot<T, 1>(w + size_t(rows - 1) * row_bytes, reinterpret_cast<const uint8_t*>(x), 0, n,
                        o + rows - 1);
    }
  }
}

template <tensor_type T>
constexpr dot_rows_fn float_rows =
    up_to_4_rows<float_dot<T, 1>, float_dot<T, 2>, float_dot<T, 3>, float_dot_4<T>>;

} // namespace

dot_fn LLAMPS_KERNEL_SET::float_weights_dot(tensor_type t) {
  switch (t) {
  case tensor_type::f32: return one_row<float_dot<tensor_type::f32, 1>>;
  case tensor_type::f16: return one_row<float_dot<tensor_type::f16, 1>>;
  case tensor_type::bf16: return one_row<float_dot<tensor_type::bf16, 1>>;
  default: return nullptr;
  }
}

dot_rows_fn LLAMPS_KERNEL_SET::float_weights_dot_rows(tensor_type t) {
  switch (t) {
  case tensor_type::f32: return float_rows<tensor_type::f32>;
  case tensor_type::f16: return float_rows<tensor_type::f16>;
  case tensor_type::bf16: return float_rows<tensor_type::bf16>;
  default: return nullptr;
  }
}

session_tile_kernel LLAMPS_KERNEL_SET::session_tile(tensor_type t) {
  switch (t) {
  case tensor_type::f32: return {pack_float_rows, float_packed_values, float_tile_of<tensor_type::f32>};
  case tensor_type::f16: return {pack_float_rows, float_packed_values, float_tile_of<tensor_type::f16>};
  case tensor_type::bf16: return {pack_float_rows, float_packed_values, float_tile_of<tensor_type::bf16>};
  default: return {};
  }
}

} // namespace llamps::quant

#else

namespace llamps::quant {
session_tile_kernel LLAMPS_KERNEL_SET::session_tile(tensor_type) { return {}; }
} // namespace llamps::quant

#endif
