// Products of quantised weight matrices with activation rows.
#include "model/quant/matrix.hpp"

#include <algorithm>
#include <atomic>
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
constexpr int64_t tile_rows = 16;

} // namespace

void weight_matrix::row_f32(int64_t r, float* out) const { dequantize_row(type, row(r), out, cols); }

weight_matrix map_matrix(const gguf::file& f, const std::string& name,
                         const std::vector<uint64_t>& dims) {
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

void set_threads(int n) {
  set_team_size(n > 0 ? n : int(std::max(1u, std::thread::hardware_concurrency())));
}

int threads() { return team_size(); }

void matmul(const weight_matrix& w, const float* x, int64_t n, float* y, int64_t ldy,
            bool accumulate, isa kernels) {
  const act_format format = activation_format(w.type);
  const dot_fn dot = find_dot(w.type, kernels);
  const size_t xbytes = activation_row_bytes(format, w.cols);
  // Encoded activations: kept per thread, so a steady decode allocates nothing.
  thread_local std::vector<uint8_t> encoded;
  const uint8_t* xe = reinterpret_cast<const uint8_t*>(x);
  if (format != act_format::f32) {
    encoded.resize(size_t(n) * xbytes);
    for (int64_t b = 0; b < n; ++b)
      quantize_activation(format, x + b * w.cols, encoded.data() + b * xbytes, w.cols);
    xe = encoded.data();
  }
  const dot_rows_fn dot_rows = n > 1 ? find_dot_rows(w.type, kernels) : nullptr;
  auto rows = [&](int64_t r0, int64_t r1) {
    for (int64_t t0 = r0; t0 < r1; t0 += tile_rows) {
      const int64_t t1 = std::min(r1, t0 + tile_rows);
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
          for (int i = 0; i < nx; ++i) {
            float& out = y[(b + i) * ldy + r];
            out = accumulate ? out + v[i] : v[i];
          }
        }
      }
    }
  };
  const int team = int(std::min<int64_t>(threads(), (w.rows + tile_rows - 1) / tile_rows));
  if (team <= 1 || w.rows * w.cols * n < parallel_work) {
    rows(0, w.rows);
    return;
  }
  // One contiguous range of whole tiles per thread: each streams its own part of the weights.
  const int64_t tiles = (w.rows + tile_rows - 1) / tile_rows;
  run_parts(team, [&](int part, int parts) {
    const int64_t first = tiles * part / parts, last = tiles * (part + 1) / parts;
    rows(first * tile_rows, std::min(w.rows, last * tile_rows));
  });
}

} // namespace llamps::quant
