// q8_0 weights against a decode batch on 512-bit VNNI (dot.hpp's session_tile_kernel), built
// into the AVX-512 set alone (CMakeLists.txt).
//
// The sums are dot32's (llama.cpp's AVX2 vec_dot order): per (weight row, session) eight
// lanes, lane l of block b adding the integer sum of its values 4l..4l+3 times d_w * d_x, the
// lanes reduced at the end. A 512-bit vector holds the eight lanes of two sessions, so each
// instruction does two sessions' work. AVX-512 has no byte sign instruction (dot32's way to
// multiply signed by signed), so the weights enter unsigned as w + 128 (w xor 0x80) and each
// lane starts from -128 times the sum of its four activation values: the integer is exact.
#include "model/quant/dot.hpp"
#include "model/quant/kernel_set.hpp"

#if defined(__x86_64__) && defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VNNI__)
// GCC 12 warns about the undefined vectors inside its own AVX-512 intrinsics (its bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace llamps::quant {

namespace {

// One block of a pair of sessions (the second all zeros when the batch is odd).
struct pair_block {
  int8_t q[64];       // the two sessions' 32 values
  int32_t offset[16]; // -128 * the sum of each lane's four values
  float d[16];        // each session's scale, eight times
};
constexpr int64_t pair_block_floats = sizeof(pair_block) / 4;

int pairs_of(int nx) { return (nx + 1) / 2; }

int64_t packed_values(int nx, int64_t n) { return pairs_of(nx) * (n / 32) * pair_block_floats; }

// [block][pair]: a weight block meets every pair in turn.
void pack(const uint8_t* x, size_t stride, int nx, int64_t n, float* packed) {
  const int pairs = pairs_of(nx);
  const int64_t blocks = n / 32, xbytes = q8_32_bytes(false), xq = q8_32_values(false);
  auto* out = reinterpret_cast<pair_block*>(packed);
  for (int64_t b = 0; b < blocks; ++b)
    for (int p = 0; p < pairs; ++p) {
      pair_block& o = out[b * pairs + p];
      for (int h = 0; h < 2; ++h) {
        const int s = 2 * p + h;
        if (s >= nx) {
          std::memset(o.q + 32 * h, 0, 32);
          std::fill(o.offset + 8 * h, o.offset + 8 * h + 8, 0);
          std::fill(o.d + 8 * h, o.d + 8 * h + 8, 0.f);
          continue;
        }
        const uint8_t* xb = x + size_t(s) * stride + b * xbytes;
        std::memcpy(o.q + 32 * h, xb + xq, 32);
        for (int l = 0; l < 8; ++l) {
          const auto* q = reinterpret_cast<const int8_t*>(xb + xq + 4 * l);
          o.offset[8 * h + l] = -128 * (q[0] + q[1] + q[2] + q[3]);
        }
        std::fill(o.d + 8 * h, o.d + 8 * h + 8, load_f32(xb));
      }
    }
}

constexpr int max_pairs = session_tile_rows / 2; // 16 sessions
constexpr int64_t chunk_blocks = 16;             // 512 columns: a chunk's pairs (24 KB) stay in L1

// Two weight rows (or one) against NP pairs (x: the first; a block's pairs are `pairs` apart)
// over blocks [b0, b1), resuming from parts.
template <int NW, int NP>
void rows_by_pairs(const uint8_t* w, size_t row_bytes, const pair_block* x, int pairs, int64_t b0, int64_t b1,
                   __m512 (*parts)[max_pairs], bool first) {
  __m512 acc[NW][NP];
  for (int j = 0; j < NW; ++j)
    for (int p = 0; p < NP; ++p)
      acc[j][p] = first ? _mm512_setzero_ps() : parts[j][p];
  const __m512i flip = _mm512_set1_epi8(char(0x80));
  for (int64_t b = b0; b < b1; ++b) {
    __m512i wq[NW];
    __m512 dw[NW];
    for (int j = 0; j < NW; ++j) {
      const uint8_t* wb = w + size_t(j) * row_bytes + b * 34;
      prefetch_block<1>(wb);
      wq[j] = _mm512_xor_si512(_mm512_broadcast_i64x4(load32(wb + 2)), flip);
      dw[j] = _mm512_set1_ps(half(wb));
    }
    const pair_block* xb = x + b * pairs;
    for (int p = 0; p < NP; ++p) {
      const __m512i q = _mm512_loadu_si512(xb[p].q);
      const __m512i offset = _mm512_loadu_si512(xb[p].offset);
      const __m512 dx = _mm512_loadu_ps(xb[p].d);
      for (int j = 0; j < NW; ++j) {
        const __m512i isum = _mm512_dpbusd_epi32(offset, wq[j], q);
        acc[j][p] = _mm512_fmadd_ps(_mm512_mul_ps(dw[j], dx), _mm512_cvtepi32_ps(isum), acc[j][p]);
      }
    }
  }
  for (int j = 0; j < NW; ++j)
    for (int p = 0; p < NP; ++p)
      parts[j][p] = acc[j][p];
}
using rows_by_pairs_fn = void (*)(const uint8_t*, size_t, const pair_block*, int, int64_t, int64_t,
                                  __m512 (*)[max_pairs], bool);
template <int NW>
constexpr rows_by_pairs_fn rows_by_pairs_of[max_pairs + 1] = {nullptr,
                                                              rows_by_pairs<NW, 1>,
                                                              rows_by_pairs<NW, 2>,
                                                              rows_by_pairs<NW, 3>,
                                                              rows_by_pairs<NW, 4>,
                                                              rows_by_pairs<NW, 5>,
                                                              rows_by_pairs<NW, 6>,
                                                              rows_by_pairs<NW, 7>,
                                                              rows_by_pairs<NW, 8>};

// dot32's finish for one session: its eight lanes plus the second accumulator q8_0 leaves at
// zero, reduced as hsum reduces them, plus its (zero) min.
float finish(__m256 lanes) { return hsum(_mm256_add_ps(lanes, _mm256_setzero_ps())) + 0.f; }

void multiply(const uint8_t* w, size_t row_bytes, int rows, const float* packed, const uint8_t*, size_t,
              int nx, int64_t n, float* out, int64_t ldo, const uint8_t* next, int next_rows) {
  const int pairs = pairs_of(nx), groups = (pairs + max_pairs - 1) / max_pairs;
  const int64_t blocks = n / 32;
  const auto* x = reinterpret_cast<const pair_block*>(packed);
  struct group_parts {
    __m512 v[session_tile_rows][max_pairs];
  };
  thread_local std::vector<group_parts> parts; // per group of up to 16 sessions
  parts.resize(size_t(groups));
  for (int64_t b0 = 0; b0 < blocks; b0 += chunk_blocks) {
    const int64_t b1 = std::min(blocks, b0 + chunk_blocks);
    for (int r = 0; r < next_rows; ++r) // the next tile's columns of this chunk, into L2
      for (int64_t at = b0 * 34; at < b1 * 34; at += 64)
        _mm_prefetch(reinterpret_cast<const char*>(next + size_t(r) * row_bytes + at), _MM_HINT_T1);
    for (int g = 0; g < groups; ++g) {
      const int p0 = g * max_pairs, np = std::min(max_pairs, pairs - p0);
      for (int j = 0; j < rows; j += 2) {
        const uint8_t* wj = w + size_t(j) * row_bytes;
        __m512(*pj)[max_pairs] = parts[size_t(g)].v + j;
        if (j + 1 < rows)
          rows_by_pairs_of<2>[np](wj, row_bytes, x + p0, pairs, b0, b1, pj, b0 == 0);
        else
          rows_by_pairs_of<1>[np](wj, row_bytes, x + p0, pairs, b0, b1, pj, b0 == 0);
      }
    }
  }
  for (int j = 0; j < rows; ++j)
    for (int s = 0; s < nx; ++s) {
      const __m512 both = parts[size_t(s / (2 * max_pairs))].v[j][(s / 2) % max_pairs];
      const __m256 lanes = s % 2 ? _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(both), 1))
                                 : _mm512_castps512_ps256(both);
      out[s * ldo + j] = finish(lanes);
    }
}

} // namespace

session_tile_kernel vnni::q8_0_session_tile() { return {pack, packed_values, multiply}; }

} // namespace llamps::quant

#else // a target without AVX-512 VNNI

namespace llamps::quant {
session_tile_kernel vnni::q8_0_session_tile() { return {}; }
} // namespace llamps::quant

#endif
