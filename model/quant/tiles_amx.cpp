// Prompts on AMX's integer tiles (dot.hpp's int8_tile_kernel). Built into the AVX-512 set
// with AMX-INT8 besides (CMakeLists.txt); dot.cpp calls it only where the CPU has the tile
// unit and the kernel lets this process use it.
//
// One tile instruction (TDPBSSD) takes 16 weight rows x 32 int8 values (tile 1, one block of
// each row) and 16 activation rows' 32 values (tile 2, laid out as the instruction reads its
// second operand: row k holds values 4k..4k+3 of each activation row in turn) into the 16 x 16
// integer products of those blocks (tile 0). Each block's scales are then applied in vector
// registers, 16 activation rows to a vector, one vector per weight row.
#include "model/quant/dot.hpp"
#include "model/quant/kernel_set.hpp"

#if defined(__x86_64__) && defined(__AMX_INT8__) && defined(__AVX512F__)
// GCC 12 warns about the undefined vectors inside its own AVX-512 intrinsics (its bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "model/quant/formats.hpp"

namespace llamps::quant {

namespace {

constexpr int tile = 16; // weight rows per tile, activation rows per group

// One block of a group of 16 activation rows.
struct packed_block {
  int8_t q[8 * 64]; // row k: for activation row t, its values 4k..4k+3 at bytes 4t..4t+3
  float d[tile];    // each row's scale
  float s[tile];    // d * the sum of its 32 values (for the K-quants' mins)
};
static_assert(sizeof(packed_block) == 640, "dot.hpp's packed_bytes counts 640 bytes a block");

// One block of 16 weight rows, unpacked to int8 (the rows past a matrix's last are never
// written nor read).
struct alignas(64) weight_block {
  int8_t q[tile * 32];  // row r's 32 values at 32r
  float d[tile];        // each row's scale
  float d_second[tile]; // q6_k's: the scale of the block's second 16 values (d: the first's)
  float m[tile];        // the min of q4_k and q5_k (value = d * q - m)
};

// q6_k's blocks are two sub-blocks of 16 values with scales of their own: a tile step takes
// 16 values.
template <tensor_type T>
constexpr bool halves = T == tensor_type::q6_k;

void pack(const uint8_t* x, size_t stride, int nx, int64_t n, uint8_t* packed) {
  const int64_t blocks = n / 32, xbytes = q8_32_bytes(false), xq = q8_32_values(false);
  auto* out = reinterpret_cast<packed_block*>(packed);
  if (nx % tile != 0) // the last group's padding rows
    std::memset(out + (nx / tile) * blocks, 0, size_t(blocks) * sizeof(packed_block));
  for (int t = 0; t < nx; ++t) {
    const uint8_t* row = x + size_t(t) * stride;
    packed_block* group = out + (t / tile) * blocks;
    const int lane = t % tile;
    for (int64_t b = 0; b < blocks; ++b) {
      const uint8_t* xb = row + b * xbytes;
      packed_block& p = group[b];
      for (int k = 0; k < 8; ++k)
        std::memcpy(p.q + 64 * k + 4 * lane, xb + xq + 4 * k, 4);
      const __m256i pairs = _mm256_maddubs_epi16(_mm256_set1_epi8(1), load32(xb + xq));
      p.d[lane] = load_f32(xb);
      p.s[lane] = p.d[lane] * float(hsum_epi32(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1))));
    }
  }
}

// Block b of weight row r (at row) into u: its int8 values, scale(s) and min.
template <tensor_type T>
void unpack_block(const uint8_t* row, int64_t b, weight_block& u, int r) {
  __m256i v;
  u.m[r] = 0.f;
  if constexpr (T == tensor_type::q4_k || T == tensor_type::q5_k) {
    constexpr bool five = T == tensor_type::q5_k;
    const uint8_t* sb = row + (b / 8) * (five ? 176 : 144);
    const int s = int(b % 8);
    int sc, mn;
    k4_scale_min(sb + 4, s, sc, mn);
    v = k45_sub_block<five>(sb, s);
    u.d[r] = half(sb) * float(sc);
    u.m[r] = half(sb + 2) * float(mn);
  } else if constexpr (halves<T>) {
    const uint8_t* sb = row + (b / 8) * 210;
    const int s = int(b % 8);
    const auto* sc = reinterpret_cast<const int8_t*>(sb + 192 + 2 * s);
    v = q6_k_sub_block(sb, s);
    u.d[r] = half(sb + 208) * float(sc[0]);
    u.d_second[r] = half(sb + 208) * float(sc[1]);
  } else {
    const uint8_t* wb = row + b * block32_bytes(T);
    u.d[r] = half(wb);
    if constexpr (T == tensor_type::q8_0) {
      v = load32(wb + 2);
    } else if constexpr (T == tensor_type::iq4_nl) {
      const __m256i table =
          _mm256_broadcastsi128_si256(load16(reinterpret_cast<const uint8_t*>(iq4_nl_values)));
      v = _mm256_shuffle_epi8(table, unpack_nibbles(wb + 2));
    } else {
      v = unpack_nibbles(wb + block32_bytes(T) - 16);
      if constexpr (block32_has_high(T))
        v = _mm256_or_si256(v, high_bits(wb + 2));
      v = _mm256_sub_epi8(v, _mm256_set1_epi8(char(block32_offset(T))));
    }
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(u.q + 32 * r), v);
}

// q8_0's values are int8 in the file already: the tiles load them in place (16 rows,
// row_bytes apart), and only the scales are unpacked.
template <tensor_type T>
constexpr bool in_place = T == tensor_type::q8_0;

// Tiles 0 and 3: products (weight rows x 16 int32); 1 and 4: weight rows x 32 int8 (16 for
// q6_k's halves); 2 and 5: 8 rows (4) of 16 activation rows x 4 int8. Two steps are in flight
// at a time. Loaded at every call (the configuration is the thread's, and nothing else here
// may be assumed to leave it alone), with the tile's own count of weight rows: no row past the
// matrix is read.
void configure_tiles(int rows, int values) {
  const auto r = uint8_t(rows), k = uint8_t(values / 4);
  struct alignas(64) {
    uint8_t palette = 1, start_row = 0, reserved[14] = {};
    uint16_t bytes_per_row[16] = {};
    uint8_t rows[16] = {};
  } config;
  const uint16_t widths[6] = {64, uint16_t(values), 64, 64, uint16_t(values), 64};
  const uint8_t counts[6] = {r, r, k, r, r, k};
  std::memcpy(config.bytes_per_row, widths, sizeof widths);
  std::memcpy(config.rows, counts, sizeof counts);
  _tile_loadconfig(&config);
}

// The products of the weight rows at a (a_stride apart) with activation values at x (B's
// layout, rows of 64 bytes), into products[16 * r + t], on tiles 0-2 or 3-5 (the intrinsics
// name their tiles by literals).
template <bool second>
inline void step_products(const void* a, size_t a_stride, const int8_t* x, int32_t* products) {
  if constexpr (second) {
    _tile_zero(3);
    _tile_loadd(4, a, a_stride);
    _tile_loadd(5, x, 64);
    _tile_dpbssd(3, 4, 5);
    _tile_stored(3, products, 64);
  } else {
    _tile_zero(0);
    _tile_loadd(1, a, a_stride);
    _tile_loadd(2, x, 64);
    _tile_dpbssd(0, 1, 2);
    _tile_stored(0, products, 64);
  }
}

// acc[r] += products(r) * d_w[r] * d_x (- m_w[r] * s_x): one step's sums, 16 activation rows
// to a vector.
template <bool with_min>
inline void add_step(__m512* acc, const int32_t* products, const float* dw, const float* mw,
                     const packed_block& x) {
  const __m512 dx = _mm512_loadu_ps(x.d);
  const __m512 sx = with_min ? _mm512_loadu_ps(x.s) : dx;
#pragma GCC unroll 16
  for (int r = 0; r < tile; ++r) {
    const __m512 isum = _mm512_cvtepi32_ps(_mm512_load_si512(products + tile * r));
    acc[r] = _mm512_fmadd_ps(isum, _mm512_mul_ps(_mm512_set1_ps(dw[r]), dx), acc[r]);
    if constexpr (with_min)
      acc[r] = _mm512_fnmadd_ps(_mm512_set1_ps(mw[r]), sx, acc[r]);
  }
}

template <tensor_type T>
void multiply(const uint8_t* w, size_t row_bytes, int rows, const uint8_t* packed, int nx, int64_t n,
              float* out, const uint8_t* next, int next_rows) {
  constexpr bool with_min = T == tensor_type::q4_k || T == tensor_type::q5_k;
  const int64_t blocks = n / 32;
  thread_local std::vector<weight_block> unpacked;
  unpacked.resize(size_t(blocks));
  weight_block* u = unpacked.data();
  for (int r = 0; r < rows; ++r)
    for (int64_t b = 0; b < blocks; ++b) {
      if constexpr (in_place<T>)
        u[b].d[r] = half(w + size_t(r) * row_bytes + size_t(b) * 34);
      else
        unpack_block<T>(w + size_t(r) * row_bytes, b, u[b], r);
    }
  // Block b's weight tile and the distance between its rows.
  auto weights = [&](int64_t b) -> const void* {
    if constexpr (in_place<T>)
      return w + b * 34 + 2;
    else
      return u[b].q;
  };
  const size_t stride = in_place<T> ? row_bytes : 32;
  configure_tiles(rows, halves<T> ? 16 : 32);
  alignas(64) int32_t products[2][tile * tile];
  const auto* groups = reinterpret_cast<const packed_block*>(packed);
  const int group_count = (nx + tile - 1) / tile;
  // The next tile's lines, spread over this one's steps (group by pair of steps).
  const int64_t steps = group_count * (halves<T> ? blocks : (blocks + 1) / 2);
  const int64_t next_lines = (int64_t(next_rows) * int64_t(row_bytes) + 63) / 64;
  const int64_t lines_per_step = (next_lines + steps - 1) / steps;
  int64_t line = 0;
  auto prefetch_next = [&] {
    for (int64_t i = 0; i < lines_per_step && line < next_lines; ++i, ++line)
      _mm_prefetch(reinterpret_cast<const char*>(next + 64 * line), _MM_HINT_T1);
  };
  for (int g = 0; g < group_count; ++g) {
    const packed_block* x = groups + g * blocks;
    __m512 acc[tile];
    for (__m512& a : acc)
      a = _mm512_setzero_ps();
    if constexpr (halves<T>) {
      // A block's two halves: values 0..15 meet rows 0..3 of the activations' layout, 16..31
      // rows 4..7.
      for (int64_t b = 0; b < blocks; ++b) {
        prefetch_next();
        step_products<false>(u[b].q, 32, x[b].q, products[0]);
        step_products<true>(u[b].q + 16, 32, x[b].q + 4 * 64, products[1]);
        add_step<false>(acc, products[0], u[b].d, u[b].m, x[b]);
        add_step<false>(acc, products[1], u[b].d_second, u[b].m, x[b]);
      }
    } else {
      int64_t b = 0;
      for (; b + 2 <= blocks; b += 2) {
        prefetch_next();
        step_products<false>(weights(b), stride, x[b].q, products[0]);
        step_products<true>(weights(b + 1), stride, x[b + 1].q, products[1]);
        add_step<with_min>(acc, products[0], u[b].d, u[b].m, x[b]);
        add_step<with_min>(acc, products[1], u[b + 1].d, u[b + 1].m, x[b + 1]);
      }
      if (b < blocks) {
        step_products<false>(weights(b), stride, x[b].q, products[0]);
        add_step<with_min>(acc, products[0], u[b].d, u[b].m, x[b]);
      }
    }
    for (int r = 0; r < tile; ++r)
      _mm512_storeu_ps(out + g * tile * tile + tile * r, acc[r]);
  }
}

} // namespace

int8_tile_kernel vnni::int8_tile(tensor_type t) {
  switch (t) {
  case tensor_type::q8_0: return {pack, multiply<tensor_type::q8_0>};
  case tensor_type::q4_0: return {pack, multiply<tensor_type::q4_0>};
  case tensor_type::q5_0: return {pack, multiply<tensor_type::q5_0>};
  case tensor_type::iq4_nl: return {pack, multiply<tensor_type::iq4_nl>};
  case tensor_type::q4_k: return {pack, multiply<tensor_type::q4_k>};
  case tensor_type::q5_k: return {pack, multiply<tensor_type::q5_k>};
  case tensor_type::q6_k: return {pack, multiply<tensor_type::q6_k>};
  default: return {};
  }
}

} // namespace llamps::quant

#else // a compiler or target without AMX-INT8: no tile kernels

namespace llamps::quant {
int8_tile_kernel vnni::int8_tile(tensor_type) { return {}; }
} // namespace llamps::quant

#endif
