#include "model/decoder/kernels.hpp"

#include <cmath>

#include "model/gguf/gguf.hpp"
#include "model/quant/thread_team.hpp"

namespace llamps::kernels {

void rmsnorm(row_matrix& out, const row_matrix& x, const std::vector<float>& weight, float eps) {
  const int64_t n = x.cols;
  const float* wp = weight.data();
  // Rows are independent: long prompts spread over the threads, a decode row stays inline.
  quant::parallel_for(x.rows, std::max<int64_t>(1, 16384 / n), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = x.row(r);
      float* o = out.row(r);
      // The sum of squares in double and the rest in float, as llama.cpp's rms_norm: on a
      // quantised model a last-bit difference here can flip the rounding of an activation.
      double ss = 0.;
      for (int64_t i = 0; i < n; ++i)
        ss += double(xr[i] * xr[i]);
      const float mean = float(ss / double(n));
      const float scale = 1.f / std::sqrt(mean + eps);
      for (int64_t i = 0; i < n; ++i)
        o[i] = wp[i] * (scale * xr[i]);
    }
  });
}

void linear(row_matrix& y, int64_t col, const row_matrix& x, const quant::weight_matrix& w, bool accumulate,
            quant::row_kind rows) {
  quant::matmul(w, x.data(), x.rows, y.data() + col, y.cols, accumulate, quant::active_isa(), rows);
}

std::vector<float> load_vector(const gguf::file& f, const std::string& name,
                               const std::vector<uint64_t>& dims) {
  return f.read_f32(f.require_tensor(name, dims));
}

} // namespace llamps::kernels
