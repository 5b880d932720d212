#include "model/decoder/kernels.hpp"

#include <cmath>

#include "model/gguf/gguf.hpp"
#include "model/quant/thread_team.hpp"

namespace llamps::kernels {

void rmsnorm(at::Tensor& out, const at::Tensor& x, const at::Tensor& weight, float eps) {
  const int64_t rows = x.size(0), n = x.size(1);
  const float* xp = x.data_ptr<float>();
  const float* wp = weight.data_ptr<float>();
  float* op = out.data_ptr<float>();
  // Rows are independent: long prompts spread over the threads, a decode row stays inline.
  quant::parallel_for(rows, std::max<int64_t>(1, 16384 / n), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = xp + r * n;
      float* o = op + r * n;
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

void linear(at::Tensor& y, int64_t col, const at::Tensor& x, const quant::weight_matrix& w,
            bool accumulate, quant::row_kind rows) {
  quant::matmul(w, x.data_ptr<float>(), x.size(0), y.data_ptr<float>() + col, y.size(1),
                accumulate, quant::active_isa(), rows);
}

void load_tensor(const gguf::file& f, const std::string& name, const std::vector<uint64_t>& dims,
                 at::Tensor dst) {
  const gguf::tensor_info& t = f.require_tensor(name, dims);
  if (!dst.is_contiguous() || static_cast<uint64_t>(dst.numel()) != t.n_elements())
    throw model_error("internal: destination of " + name + " does not fit");
  f.read_f32(t, dst.data_ptr<float>());
}

} // namespace llamps::kernels
