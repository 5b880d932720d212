#include "model/kernels.hpp"

#include <cmath>
#include <dlfcn.h>
#include <optional>

#include "model/gguf.hpp"

namespace llamps::kernels {

void rmsnorm(at::Tensor& out, const at::Tensor& x, const at::Tensor& weight, float eps) {
  const int64_t rows = x.size(0), n = x.size(1);
  const float* xp = x.data_ptr<float>();
  const float* wp = weight.data_ptr<float>();
  float* op = out.data_ptr<float>();
  // Rows are independent: long prompts spread over the threads, a decode row stays inline.
  at::parallel_for(0, rows, std::max<int64_t>(1, 16384 / n), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = xp + r * n;
      float* o = op + r * n;
      float ss = 0.f;
      for (int64_t i = 0; i < n; ++i)
        ss += xr[i] * xr[i];
      const float scale = 1.f / std::sqrt(ss / static_cast<float>(n) + eps);
      for (int64_t i = 0; i < n; ++i)
        o[i] = wp[i] * (scale * xr[i]);
    }
  });
}

namespace {

// Products of up to this many weights take microseconds on one core, yet OpenBLAS forks its
// OpenMP team for anything above ~9k elements: the fork/join costs more than the product, and
// far more (milliseconds) when other processes share the cores. They run on one thread.
constexpr int64_t one_thread_weights = int64_t(1) << 18;

// OpenBLAS (OpenMP build) takes its thread count from the calling thread's OpenMP setting at
// every call. libgomp is loaded with libtorch but not linked to us, hence the lookup; with
// another BLAS or runtime the functions are absent and this does nothing.
class one_thread_scope {
public:
  one_thread_scope() {
    static auto get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "omp_get_max_threads"));
    static auto set = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
    if (get && set && (saved_ = get()) > 1) {
      set_ = set;
      set_(1);
    }
  }
  ~one_thread_scope() {
    if (set_)
      set_(saved_);
  }

private:
  void (*set_)(int) = nullptr;
  int saved_ = 1;
};

} // namespace

void linear(at::Tensor& y, const at::Tensor& x, const at::Tensor& w, bool accumulate) {
  std::optional<one_thread_scope> small;
  if (w.numel() <= one_thread_weights)
    small.emplace();
  if (x.size(0) == 1) {
    at::Tensor yv = y.view({y.size(1)});
    if (accumulate)
      yv.addmv_(w, x.view({x.size(1)}));
    else
      at::mv_out(yv, w, x.view({x.size(1)}));
  } else if (accumulate) {
    y.addmm_(x, w.t());
  } else {
    at::mm_out(y, x, w.t());
  }
}

void load_tensor(const gguf::file& f, const std::string& name, const std::vector<uint64_t>& dims,
                 at::Tensor dst) {
  const gguf::tensor_info& t = f.require_tensor(name);
  if (t.dims != dims) {
    auto show = [](const std::vector<uint64_t>& d) {
      std::string s = "[";
      for (size_t i = 0; i < d.size(); ++i)
        s += (i ? ", " : "") + std::to_string(d[i]);
      return s + "]";
    };
    throw model_error(f.path() + ": tensor " + name + " has dims " + show(t.dims) +
                      ", expected " + show(dims));
  }
  if (!dst.is_contiguous() || static_cast<uint64_t>(dst.numel()) != t.n_elements())
    throw model_error("internal: destination of " + name + " does not fit");
  f.read_f32(t, dst.data_ptr<float>());
}

} // namespace llamps::kernels
