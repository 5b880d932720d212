// Products of quantised weight matrices with activation rows.
#include "model/quant/matrix.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <thread>

#include "model/errors.hpp"
#include "model/quant/formats.hpp"
#include "model/quant/thread_team.hpp"

namespace llamps::quant {

namespace {

// Below this many multiply-adds a product runs on the calling thread: waking the team costs
// more than the arithmetic (a 64-wide model's products take a microsecond or two).
constexpr int64_t parallel_work = int64_t(1) << 18;

// Weight rows per tile: a tile stays in cache while every activation row passes over it.
constexpr int64_t tile_rows = session_tile_rows;

// Runs part(first, last) over [0, items) split into contiguous ranges over the team, or on
// the calling thread when the product is too small to share.
void split_rows(int64_t items, int64_t work, const std::function<void(int64_t, int64_t)>& part) {
  if (work < parallel_work)
    part(0, items);
  else
    parallel_for(items, 1, part);
}

// Tiles a thread takes at a time: few enough that the threads end together, enough that
// each prefetches most of its next tile.
constexpr int64_t chunk_tiles = 4;

// Runs tiles(first, last) over [0, count) in chunks the team's threads take in turn, or on
// the calling thread when the product is too small to share.
void split_tiles(int64_t count, int64_t work, const std::function<void(int64_t, int64_t)>& tiles) {
  if (work < parallel_work)
    tiles(0, count);
  else
    parallel_chunks(count, chunk_tiles, tiles);
}

// Writes a block of sums into y, or adds them to it when accumulate: y[i * ldy + j] takes
// v[i * vi + j * vj] for ni activation rows i and nj weight rows j (y points at the block's
// first element). All three products store through it, so they store alike: each element
// once, at most one addition, no sum reordered (the floats must match llama.cpp's bit for bit).
inline void store_sums(float* y, int64_t ldy, int64_t ni, int64_t nj, const float* v, int64_t vi, int64_t vj,
                       bool accumulate) {
  for (int64_t i = 0; i < ni; ++i)
    for (int64_t j = 0; j < nj; ++j) {
      float& out = y[i * ldy + j];
      out = accumulate ? out + v[i * vi + j * vj] : v[i * vi + j * vj];
    }
}

// The tiled product (dot.hpp's tile_kernel): the activation rows are encoded, decoded and
// interleaved by column, `tokens` rows per group (the last one padded with zeros), in
// parallel over blocks of 16 rows (a cache line of each column: no two threads write one);
// then each thread dequantises weight rows a tile at a time into F32 and passes every group
// over the tile.
void matmul_tiled(const weight_matrix& w, act_format format, const float* x_rows, int64_t n, float* y,
                  int64_t ldy, bool accumulate, const tile_kernel& kernel, dequantize_fn dequantize) {
  const int64_t cols = w.cols, width = kernel.tokens, height = kernel.rows;
  const int64_t groups = (n + width - 1) / width, group_values = cols * width;
  thread_local std::vector<float> interleaved;
  interleaved.resize(size_t(groups * group_values));
  float* xi = interleaved.data(); // this thread's: the lambdas run on others too
  constexpr int64_t line = 16;
  parallel_for((groups * width) / line, 1, [&](int64_t first, int64_t last) {
    thread_local std::vector<uint8_t> encoded;
    thread_local std::vector<float> decoded;
    encoded.resize(activation_row_bytes(format, cols));
    decoded.resize(size_t(cols));
    for (int64_t t = first * line; t < last * line; ++t) {
      if (t < n) {
        quantize_activation(format, x_rows + t * cols, encoded.data(), cols);
        decode_activation(format, encoded.data(), decoded.data(), cols);
      } else {
        std::fill(decoded.begin(), decoded.end(), 0.f); // the padding
      }
      float* column = xi + (t / width) * group_values + t % width;
      for (int64_t k = 0; k < cols; ++k)
        column[k * width] = decoded[size_t(k)];
    }
  });
  auto tiles = [&](int64_t first, int64_t last) {
    thread_local std::vector<float> weights, sums;
    weights.resize(size_t(height * cols));
    sums.resize(size_t(height * width));
    for (int64_t tile = first; tile < last; ++tile) {
      const int64_t r0 = tile * height, nr = std::min(height, w.rows - r0);
      for (int64_t r = 0; r < height; ++r) {
        float* row = weights.data() + r * cols;
        if (r >= nr)
          std::fill(row, row + cols, 0.f);
        else if (dequantize)
          dequantize(w.row(r0 + r), row, cols);
        else
          dequantize_row(w.type, w.row(r0 + r), row, cols);
      }
      // The next tile of this thread's range is fetched while this one is multiplied.
      const int64_t next_rows = tile + 1 < last ? std::min(height, w.rows - r0 - height) : 0;
      const int64_t next_lines = (next_rows * int64_t(w.row_bytes) + 63) / 64;
      for (int64_t g = 0; g < groups; ++g) {
        kernel.multiply(weights.data(), cols, xi + g * group_values, cols, sums.data(),
                        next_rows ? w.row(r0 + height) : nullptr, g == 0 ? next_lines : 0);
        // The kernel leaves weight row r's sum for the group's column c at sums[r * width + c].
        const int64_t t0 = g * width;
        store_sums(y + t0 * ldy + r0, ldy, std::min(n, t0 + width) - t0, nr, sums.data(), 1, width,
                   accumulate);
      }
    }
  };
  split_tiles((w.rows + height - 1) / height, w.rows * cols * n, tiles);
}

// The n activation rows of x encoded for weights of `format`: kept per thread, so a steady
// decode allocates nothing. F32 rows are taken in place.
const uint8_t* encode_rows(act_format format, const float* x, int64_t n, int64_t cols) {
  if (format == act_format::f32)
    return reinterpret_cast<const uint8_t*>(x);
  thread_local std::vector<uint8_t> encoded;
  const size_t xbytes = activation_row_bytes(format, cols);
  encoded.resize(size_t(n) * xbytes);
  for (int64_t b = 0; b < n; ++b)
    quantize_activation(format, x + b * cols, encoded.data() + b * xbytes, cols);
  return encoded.data();
}

// Activation rows a q4_0_x8 product takes at a time over the weights (dot.hpp): enough that
// they stay in the core's cache while every weight row passes them.
constexpr int64_t x8_chunk = 64;

// dot.hpp's q4_0_x8 at every row count: each group of eight weight rows meets the activation
// rows up to eight at a time.
void matmul_q4_0_x8(const weight_matrix& w, const float* x, int64_t n, float* y, int64_t ldy, bool accumulate,
                    isa kernels) {
  const q4_0_x8_fn kernel = find_q4_0_x8(kernels);
  const size_t xbytes = activation_row_bytes(act_format::q8_0, w.cols);
  const uint8_t* xe = encode_rows(act_format::q8_0, x, n, w.cols);
  split_rows(w.rows / q4_0_x8_rows, w.rows * w.cols * n, [&](int64_t first, int64_t last) {
    for (int64_t c = 0; c < n; c += x8_chunk)
      for (int64_t g = first; g < last; ++g)
        for (int64_t b = c; b < std::min(n, c + x8_chunk); b += max_x8_activations) {
          const int nx = int(std::min<int64_t>(max_x8_activations, n - b));
          float v[max_x8_activations * q4_0_x8_rows];
          kernel(w.row(g * q4_0_x8_rows), w.row_bytes, xe + size_t(b) * xbytes, xbytes, nx, w.cols, v);
          store_sums(y + b * ldy + g * q4_0_x8_rows, ldy, nx, q4_0_x8_rows, v, q4_0_x8_rows, 1, accumulate);
        }
  });
}

// dot.hpp's int8_tile_kernel: the activation rows are encoded as q8_0 and laid out once, then
// each thread unpacks its weight rows 16 at a time and passes every group of 16 activation
// rows over them.
void matmul_int8_tiles(const weight_matrix& w, const float* x, int64_t n, float* y, int64_t ldy,
                       bool accumulate, const int8_tile_kernel& kernel) {
  const size_t xbytes = activation_row_bytes(act_format::q8_0, w.cols);
  const uint8_t* xe = encode_rows(act_format::q8_0, x, n, w.cols);
  thread_local std::vector<uint8_t> packed;
  packed.resize(int8_tile_kernel::packed_bytes(int(n), w.cols));
  kernel.pack(xe, xbytes, int(n), w.cols, packed.data());
  const uint8_t* xp = packed.data(); // this thread's: the lambda runs on others too
  constexpr int64_t height = int8_tile_rows;
  const int64_t groups = (n + height - 1) / height;
  auto tiles = [&](int64_t first, int64_t last) {
    thread_local std::vector<float> sums;
    sums.resize(size_t(groups * height * height));
    for (int64_t tile = first; tile < last; ++tile) {
      const int64_t r0 = tile * height, nr = std::min(height, w.rows - r0);
      const int64_t next_rows = tile + 1 < last ? std::min(height, w.rows - r0 - height) : 0;
      kernel.multiply(w.row(r0), w.row_bytes, int(nr), xp, int(n), w.cols, sums.data(),
                      next_rows ? w.row(r0 + height) : nullptr, int(next_rows));
      for (int64_t g = 0; g < groups; ++g) {
        const int64_t t0 = g * height;
        store_sums(y + t0 * ldy + r0, ldy, std::min(n, t0 + height) - t0, nr,
                   sums.data() + g * height * height, 1, height, accumulate);
      }
    }
  };
  split_tiles((w.rows + height - 1) / height, w.rows * w.cols * n, tiles);
}

} // namespace

bool sums_in_eights(const weight_matrix& w) {
  return w.type == tensor_type::q4_0 && w.rows % q4_0_x8_rows == 0;
}

namespace {

// The int8 tile kernel matmul takes for these rows, or none. The tiles sum in q4_0_x8's order:
// for those matrices at every row kind, for the others in prompts only (a decode batch sums as
// one decode step does).
int8_tile_kernel int8_tiles_for(const weight_matrix& w, int64_t n, row_kind rows, isa i) {
  if (n < int8_tile_min_rows || (rows != row_kind::positions && !sums_in_eights(w)))
    return {};
  return find_int8_tile(w.type, i);
}

} // namespace

bool takes_int8_tiles(const weight_matrix& w, int64_t n, row_kind rows, isa i) {
  return int8_tiles_for(w, n, rows, i).multiply != nullptr;
}

void weight_matrix::row_f32(int64_t r, float* out) const { dequantize_row(type, row(r), out, cols); }

weight_matrix map_matrix(const gguf::file& f, const std::string& name, const std::vector<uint64_t>& dims) {
  const gguf::tensor_info& t = f.require_tensor(name, dims);
  weight_matrix w;
  w.name = name;
  w.type = t.type;
  w.cols = int64_t(t.dims[0]);
  w.rows = t.dims.size() > 1 ? int64_t(t.dims[1]) : 1;
  w.row_bytes = size_t(gguf::row_bytes(t.type, t.dims[0]));
  w.data = f.tensor_view(t);
  return w;
}

void set_threads(int n) { set_team_size(n > 0 ? n : int(std::max(1u, std::thread::hardware_concurrency()))); }

int threads() { return team_size(); }

void matmul(const weight_matrix& w, const float* x, int64_t n, float* y, int64_t ldy, bool accumulate,
            isa kernels, row_kind kind) {
  if (const int8_tile_kernel int8_tiles = int8_tiles_for(w, n, kind, kernels); int8_tiles.multiply) {
    matmul_int8_tiles(w, x, n, y, ldy, accumulate, int8_tiles);
    return;
  }
  if (sums_in_eights(w)) {
    matmul_q4_0_x8(w, x, n, y, ldy, accumulate, kernels);
    return;
  }
  const act_format format = activation_format(w.type);
  // A prompt of at least one tile's width takes the tile kernel; shorter ones and decode
  // steps take the dot products, in llama.cpp's decode order (below its width the tile pads
  // with zeros). Not for q8_1 activations: q4_1 and q5_1 take each block's min times the
  // activation's sum as llama.cpp stores it (in half precision), which a product of values
  // cannot reproduce.
  if (kind == row_kind::positions && format != act_format::q8_1) {
    const tile_kernel tiled = find_tile_kernel(kernels);
    if (tiled.multiply && n >= tiled.tokens) {
      matmul_tiled(w, format, x, n, y, ldy, accumulate, tiled, find_dequantize(w.type, kernels));
      return;
    }
  }
  const dot_fn dot = find_dot(w.type, kernels);
  const size_t xbytes = activation_row_bytes(format, w.cols);
  const uint8_t* xe = encode_rows(format, x, n, w.cols);
  const dot_rows_fn dot_rows = n > 1 ? find_dot_rows(w.type, kernels) : nullptr;
  const session_tile_kernel session_tile = n > 1 ? find_session_tile(w.type, kernels) : session_tile_kernel{};
  thread_local std::vector<float> packed;
  if (session_tile.multiply) {
    packed.resize(size_t(session_tile.packed_values(int(n), w.cols)));
    session_tile.pack(xe, xbytes, int(n), w.cols, packed.data());
  }
  const float* xp = packed.data(); // this thread's: the lambda runs on others too
  auto rows = [&](int64_t r0, int64_t r1) {
    thread_local std::vector<float> sums;
    for (int64_t t0 = r0; t0 < r1; t0 += tile_rows) {
      const int64_t t1 = std::min(r1, t0 + tile_rows);
      if (session_tile.multiply) {
        sums.resize(size_t(n * tile_rows));
        const int64_t next_rows = std::min(r1, t1 + tile_rows) - t1;
        session_tile.multiply(w.row(t0), w.row_bytes, int(t1 - t0), xp, xe, xbytes, int(n), w.cols,
                              sums.data(), tile_rows, next_rows ? w.row(t1) : nullptr, int(next_rows));
        store_sums(y + t0, ldy, n, t1 - t0, sums.data(), tile_rows, 1, accumulate);
        continue;
      }
      for (int64_t b = 0; b < n; b += max_dot_rows) {
        const int nx = int(std::min<int64_t>(max_dot_rows, n - b));
        const uint8_t* xb = xe + size_t(b) * xbytes;
        for (int64_t r = t0; r < t1; ++r) {
          float v[max_dot_rows];
          if (dot_rows)
            dot_rows(w.row(r), xb, xbytes, nx, w.cols, v);
          else
            for (int i = 0; i < nx; ++i)
              v[i] = dot(w.row(r), xb + size_t(i) * xbytes, w.cols);
          store_sums(y + b * ldy + r, ldy, nx, 1, v, 1, 0, accumulate);
        }
      }
    }
  };
  // One contiguous range of whole tiles per thread: each streams its own part of the weights.
  split_rows((w.rows + tile_rows - 1) / tile_rows, w.rows * w.cols * n, [&](int64_t first, int64_t last) {
    rows(first * tile_rows, std::min(w.rows, last * tile_rows));
  });
}

} // namespace llamps::quant
