#pragma once
// Dot products on quantised weight rows, with the activation row encoded first as llama.cpp's
// CPU back end encodes it (its vec_dot_type), so that a quantised file gives llama.cpp's
// numbers: q8_0 activations for q4_0, q5_0, q8_0 and iq4_nl weights; q8_1 for q4_1 and q5_1;
// q8_k for the K-quants; f16 for f16; bf16 for bf16. Kernels exist per instruction set and
// are chosen at run time from what the CPU has. Torch-free.
#include <cstdint>
#include <string>

#include "model/gguf/gguf.hpp"

namespace llamps::quant {

using gguf::tensor_type;

// Instruction sets, each a superset of the one before: avx2 is AVX2 + FMA + F16C; avx512vnni
// adds AVX-512 (F, BW, VL) and its VNNI integer dot products (the dot products use them 256
// bits at a time, the prefill tiles 512); amx adds the AMX-INT8 tile unit (Sapphire Rapids
// and later, with the kernel's leave to use its registers) for prompts.
enum class isa : uint8_t { scalar, avx2, avx512vnni, amx };
constexpr isa every_isa[] = {isa::scalar, isa::avx2, isa::avx512vnni, isa::amx};
const char* isa_name(isa i);
// The best instruction set this CPU runs, lowered by LLAMPS_KERNELS=scalar (or avx2, ...).
isa active_isa();
bool cpu_runs(isa i);

// How an activation row is encoded for the products with one weight type. f16 and bf16 rows
// hold the values rounded to that precision, stored as F32.
enum class act_format : uint8_t { f32, f16, bf16, q8_0, q8_1, q8_k };
act_format activation_format(tensor_type weights);
// Bytes of one encoded row of n values (n a multiple of the format's block).
size_t activation_row_bytes(act_format f, int64_t n);
// The 32-value activation blocks: q8_0 is {float d; int8 q[32]}, q8_1 {float d; float s;
// int8 q[32]}, where d and s hold the half-precision values llama.cpp's blocks store (widened
// once here, so no kernel converts them). q8_k is ggml's block.
constexpr int q8_32_bytes(bool with_sum) { return with_sum ? 40 : 36; }
constexpr int q8_32_values(bool with_sum) { return with_sum ? 8 : 4; } // offset of q
// Encodes n values of x; the rounding is llama.cpp's on x86: q8_0/q8_1 scale by 127/amax and
// round half to even, q8_k by -127/max (the signed value of largest magnitude). By the active
// set's vector encoder where it has one (the same bytes: a test holds them to the portable
// loop's), else by that loop.
void quantize_activation(act_format f, const float* x, uint8_t* out, int64_t n, isa kernels = active_isa());
using encode_fn = void (*)(const float* x, uint8_t* out, int64_t n);
// The encoder of set i for format f, or nullptr (then the portable loop).
encode_fn find_encode(act_format f, isa i);

// The dot product of one weight row (n values of its type) with one encoded activation row.
using dot_fn = float (*)(const uint8_t* w, const uint8_t* x, int64_t n);

// The same for nx <= 4 activation rows at once (x, x + stride, ...), out[i] for row i: the
// weight row is unpacked once for all of them, and each sum is taken as dot_fn takes it.
using dot_rows_fn = void (*)(const uint8_t* w, const uint8_t* x, size_t stride, int nx, int64_t n,
                             float* out);
constexpr int max_dot_rows = 4;

// A decode batch (or a short prompt) as a GEMM's register tile: F32, F16 and BF16 weights on
// both vector sets, q8_0 on the AVX-512 one. Each sum is taken as dot_fn takes it (so a batch
// never changes a session's numbers), while each weight is unpacked once for several
// activation rows and each activation loaded once for several weight rows.
struct session_tile_kernel {
  // Copies the nx activation rows (x, x + stride, ...) of n values, encoded, into the layout
  // multiply reads: packed_values(nx, n) floats' room, written once per product.
  void (*pack)(const uint8_t* x, size_t stride, int nx, int64_t n, float* packed) = nullptr;
  int64_t (*packed_values)(int nx, int64_t n) = nullptr;
  // out[i * ldo + j] for activation row i and weight row j < rows <= session_tile_rows (w, w +
  // row_bytes, ...); x and stride as packed (the values past the last step of 32 come from x).
  // Meanwhile it asks for the `next_rows` weight rows from `next` (the next tile: their fetch
  // overlaps this tile's arithmetic).
  void (*multiply)(const uint8_t* w, size_t row_bytes, int rows, const float* packed, const uint8_t* x,
                   size_t stride, int nx, int64_t n, float* out, int64_t ldo, const uint8_t* next,
                   int next_rows) = nullptr;
};
constexpr int session_tile_rows = 16;

// The kernel for weights of type t on instruction set i: i's own, or the next lower set's
// where i has none (the scalar set has every supported type).
dot_fn find_dot(tensor_type t, isa i);
// The multi-row kernel for t on instruction set i, or nullptr (then find_dot row by row).
dot_rows_fn find_dot_rows(tensor_type t, isa i);
// The session tile kernel for t on set i; its functions are nullptr where there is none (the
// scalar set, the other types: then dot_rows).
session_tile_kernel find_session_tile(tensor_type t, isa i);

// Q4_0 matrices whose rows come in eights, summed as llama.cpp's x86 build sums them (it
// repacks such matrices into interleaved blocks of eight rows at load, and multiplies those in
// every phase): per weight row, each block's integer product whole, then
// acc = fma(float(isum), d_w * d_x, acc), block after block. The file's layout is kept; the
// kernel takes eight weight rows at a time (w, w + row_bytes, ...) with nx <= 8 activation
// rows (x, x + stride, ...) encoded as q8_0, and writes out[i * 8 + j] for activation row i
// and weight row j. Each sum is the same at any nx and on every set.
using q4_0_x8_fn = void (*)(const uint8_t* w, size_t row_bytes, const uint8_t* x, size_t stride, int nx,
                            int64_t n, float* out);
constexpr int q4_0_x8_rows = 8, max_x8_activations = 8;
q4_0_x8_fn find_q4_0_x8(isa i);

// Many activation rows at once (prefill), at the speed of a GEMM: the weights are dequantised
// a tile of `rows` rows at a time into F32 (exactly: every format's value is one a float
// holds) and multiplied with the activation rows, as their encoding decodes them, `tokens`
// rows at a time; the kernel keeps the whole rows x tokens tile of sums in registers. Each sum
// is one chain of fmas over the columns in order, so every set gives the same floats; they
// differ from the dot products' (whose integer sums are llama.cpp's decode order) in the last
// bits, as llama.cpp's own prefill and decode do.
struct tile_kernel {
  int rows = 0, tokens = 0;
  // out[r * tokens + t] = sum over k < n of w[r * ldw + k] * x[k * tokens + t] (x: the
  // activation rows interleaved by column). Meanwhile it asks for `prefetch_lines` cache lines
  // from `prefetch` on (the next tile's weights: their fetch overlaps this tile's arithmetic).
  void (*multiply)(const float* w, int64_t ldw, const float* x, int64_t n, float* out,
                   const uint8_t* prefetch, int64_t prefetch_lines) = nullptr;
};
// The tile kernel of set i (multiply is nullptr for the scalar set: it takes the dot products).
tile_kernel find_tile_kernel(isa i);
// Prompts on AMX's integer tiles: each 32-value block's integer product of 16 weight rows
// with 16 activation rows (encoded as q8_0) comes whole from one tile instruction, and each
// sum is acc = fma(float(isum), d_w * d_x, acc) (- m_w * s_x for the K-quants' mins) block
// after block: q4_0_x8's order, so for q4_0 both give the same floats. The weights are
// unpacked to int8 a tile of 16 rows at a time, in each thread's cache.
struct int8_tile_kernel {
  // Lays the nx q8_0 activation rows (x, x + stride, ...) of n values out as multiply reads
  // them, in groups of 16 (the last padded with zeros): packed_bytes(nx, n) bytes.
  void (*pack)(const uint8_t* x, size_t stride, int nx, int64_t n, uint8_t* packed) = nullptr;
  // out[g * 256 + r * 16 + t] for activation row 16g + t and weight row r < rows <= 16 (w, w +
  // row_bytes, ...). Meanwhile it asks for the `next_rows` weight rows from `next` (the next
  // tile: their fetch overlaps this tile's arithmetic instead of stalling its unpacking).
  void (*multiply)(const uint8_t* w, size_t row_bytes, int rows, const uint8_t* packed, int nx, int64_t n,
                   float* out, const uint8_t* next, int next_rows) = nullptr;
  static size_t packed_bytes(int nx, int64_t n) { return size_t((nx + 15) / 16) * size_t(n / 32) * 640; }
};
constexpr int int8_tile_rows = 16;
// The int8 tile kernel for t on set i: functions nullptr below amx and for types it lacks
// (q4_1 and q5_1, whose mins llama.cpp takes per block in half precision; q2_k and q3_k).
int8_tile_kernel find_int8_tile(tensor_type t, isa i);

// Writes the values of an encoded activation row of n values as floats: what the dot
// products multiply (d * q for the integer formats).
void decode_activation(act_format f, const uint8_t* encoded, float* out, int64_t n);
// Dequantises n values of a weight row of type t by set i's vector instructions: the values
// of formats.hpp's dequantize_row. nullptr where the set has none for t (then that one).
using dequantize_fn = void (*)(const uint8_t* w, float* out, int64_t n);
dequantize_fn find_dequantize(tensor_type t, isa i);

// The two F32 reductions of attention, in the order of llama.cpp's x86 build (its AVX2
// vec_dot_f32: four 8-lane accumulators over steps of 32 values, reduced pairwise, then the
// rest one by one), so that attention on a quantised model agrees with llama.cpp's to the bit
// wherever exp does, and no activation rounds the other way. The F32 dot is find_dot(f32);
// this one is the product of the values with the attention weights:
// out[d] = sum_j w[j] * v[j * stride + d] for d < width, the positions j < n taken as
// llama.cpp's transposed V cache takes them (in steps of 32, padded with zeros).
using weighted_sum_fn = void (*)(const float* w, const float* v, int64_t n, int64_t stride, int64_t width,
                                 float* out);
weighted_sum_fn find_weighted_sum(isa i);
// The same over an F16 cache (v in half precision): the weights are rounded to half precision
// first, as llama.cpp's product of an F16 V with the attention weights does.
using weighted_sum_f16_fn = void (*)(const float* w, const uint16_t* v, int64_t n, int64_t stride,
                                     int64_t width, float* out);
weighted_sum_f16_fn find_weighted_sum_f16(isa i);

// "<CPU model> | flags: avx2 fma f16c avx512f ... | kernels: avx2" for benchmark reports.
std::string cpu_description();

// Per instruction set (dot_scalar.cpp; dot_avx2.cpp and float_weights_avx.cpp, built once per
// vector set): the kernel for t, or nullptr.
dot_fn scalar_dot(tensor_type t);
weighted_sum_fn scalar_weighted_sum();
weighted_sum_f16_fn scalar_weighted_sum_f16();
q4_0_x8_fn scalar_q4_0_x8();
// tiles_avx.cpp is built the same way; its AVX-512 build uses 512-bit vectors. Both builds
// define the same entry points, each in its own namespace.
#define LLAMPS_VECTOR_KERNEL_ENTRY_POINTS                                                                    \
  dot_fn dot(tensor_type t);                                                                                 \
  dot_rows_fn dot_rows(tensor_type t);                                                                       \
  weighted_sum_fn weighted_sum();                                                                            \
  weighted_sum_f16_fn weighted_sum_f16();                                                                    \
  tile_kernel tile();                                                                                        \
  dequantize_fn dequantize(tensor_type t);                                                                   \
  q4_0_x8_fn q4_0_x8();                                                                                      \
  session_tile_kernel session_tile(tensor_type t);                                                           \
  encode_fn encode(act_format f);
namespace avx2 {
LLAMPS_VECTOR_KERNEL_ENTRY_POINTS
} // namespace avx2
namespace vnni {
LLAMPS_VECTOR_KERNEL_ENTRY_POINTS
// tiles_amx.cpp, built into this set with AMX-INT8 besides.
int8_tile_kernel int8_tile(tensor_type t);
// sessions_avx512.cpp: q8_0's session tile, on 512-bit vectors.
session_tile_kernel q8_0_session_tile();
} // namespace vnni
#undef LLAMPS_VECTOR_KERNEL_ENTRY_POINTS

} // namespace llamps::quant
