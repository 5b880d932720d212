#include "model/kernels.hpp"

#include <cmath>
#include <dlfcn.h>
#include <optional>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "model/gguf.hpp"
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

namespace {

// Products of up to this many weights take microseconds on one core, yet OpenBLAS forks its
// OpenMP team for anything above ~9k elements: the fork/join costs more than the product, and
// far more (milliseconds) when other processes share the cores. They run on one thread.
constexpr int64_t one_thread_weights = int64_t(1) << 18;

// Batches of up to this many rows take the register-blocked kernel below; more rows
// (prefill) go to sgemm, which is compute-efficient there.
constexpr int64_t batch_kernel_rows = 16;

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

#if defined(__x86_64__) && defined(__GNUC__)
// Several rows (batched decode) x a big [out, in] row-major weight: OpenBLAS 0.3.21's sgemm
// with M = 2..16 streams the weights 2-4x slower than its sgemv (docs/benchmarks.md), so a
// small batch goes through this register-blocked loop instead: 4 weight rows x 4 batch rows
// per tile, 16 AVX-512 accumulators, each weight read from memory once for the whole batch.
// Compiled for AVX-512 with a target attribute and chosen at run time (no -march needed).


#define LLAMPS_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,fma")))

// R weight rows x NB batch rows, 16 floats per step; 4x4 uses 16 accumulators + 4 x + 1 w regs.
template <int R, int NB>
LLAMPS_AVX512 inline void tile512(const float* w, int64_t in, const float* x, float* y, int64_t out,
                              bool acc) {
  __m512 a[R][NB];
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < NB; ++b)
      a[r][b] = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= in; i += 16) {
    __m512 xv[NB];
    for (int b = 0; b < NB; ++b)
      xv[b] = _mm512_loadu_ps(x + b * in + i);
    for (int r = 0; r < R; ++r) {
      __m512 wv = _mm512_loadu_ps(w + r * in + i);
      for (int b = 0; b < NB; ++b)
        a[r][b] = _mm512_fmadd_ps(wv, xv[b], a[r][b]);
    }
  }
  if (i < in) { // tail: masked loads
    __mmask16 m = __mmask16((1u << (in - i)) - 1);
    __m512 xv[NB];
    for (int b = 0; b < NB; ++b)
      xv[b] = _mm512_maskz_loadu_ps(m, x + b * in + i);
    for (int r = 0; r < R; ++r) {
      __m512 wv = _mm512_maskz_loadu_ps(m, w + r * in + i);
      for (int b = 0; b < NB; ++b)
        a[r][b] = _mm512_fmadd_ps(wv, xv[b], a[r][b]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int b = 0; b < NB; ++b) {
      float s = _mm512_reduce_add_ps(a[r][b]);
      float& d = y[b * out + r];
      d = acc ? d + s : s;
    }
}

// Rows [r0, r1) of the output, all batch rows.
template <int R>
LLAMPS_AVX512 void rows512(const float* w, int64_t in, const float* x, int64_t B, float* y, int64_t out,
                       int64_t r0, int64_t r1, bool acc) {
  int64_t r = r0;
  for (; r + R <= r1; r += R) {
    int64_t b = 0;
    for (; b + 4 <= B; b += 4)
      tile512<R, 4>(w + r * in, in, x + b * in, y + b * out + r, out, acc);
    switch (B - b) {
    case 3: tile512<R, 3>(w + r * in, in, x + b * in, y + b * out + r, out, acc); break;
    case 2: tile512<R, 2>(w + r * in, in, x + b * in, y + b * out + r, out, acc); break;
    case 1: tile512<R, 1>(w + r * in, in, x + b * in, y + b * out + r, out, acc); break;
    default: break;
    }
  }
  for (; r < r1; ++r) {
    int64_t b = 0;
    for (; b + 4 <= B; b += 4)
      tile512<1, 4>(w + r * in, in, x + b * in, y + b * out + r, out, acc);
    for (; b < B; ++b)
      tile512<1, 1>(w + r * in, in, x + b * in, y + b * out + r, out, acc);
  }
}

inline bool have_avx512() {
  static const bool ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
                         __builtin_cpu_supports("avx512vl");
  return ok;
}

#define LLAMPS_HAVE_BATCH_KERNEL 1
#endif

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
  }
#if defined(LLAMPS_HAVE_BATCH_KERNEL)
  else if (x.size(0) <= batch_kernel_rows && have_avx512() && x.is_contiguous() && y.is_contiguous() &&
           w.is_contiguous()) {
    const int64_t B = x.size(0), out = w.size(0), in = w.size(1);
    const float* wp = w.data_ptr<float>();
    const float* xp = x.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    const int64_t tiles = (out + 3) / 4;
    auto run = [&](int64_t t0, int64_t t1) {
      rows512<4>(wp, in, xp, B, yp, out, t0 * 4, std::min(out, t1 * 4), accumulate);
    };
    if (small.has_value())
      run(0, tiles);
    else // 64 rows (>= 128 KiB of weights) per chunk at least: the fork/join stays small
      at::parallel_for(0, tiles, 16, run);
  }
#endif
  else if (accumulate) {
    y.addmm_(x, w.t());
  } else {
    at::mm_out(y, x, w.t());
  }
}

void linear(at::Tensor& y, int64_t col, const at::Tensor& x, const quant::weight_matrix& w,
             bool accumulate) {
  const int64_t n = x.size(0);
  if (w.type != gguf::tensor_type::f32) {
    quant::matmul(w, x.data_ptr<float>(), n, y.data_ptr<float>() + col, y.size(1), accumulate);
    return;
  }
  const at::Tensor wt = at::from_blob(const_cast<uint8_t*>(w.data.get()), {w.rows, w.cols},
                                      at::TensorOptions().dtype(at::kFloat));
  // The whole of y, or one row's columns (a contiguous view): written in place. Several rows'
  // columns are strided, which the batch kernel does not take: through a copy.
  at::Tensor part = y.narrow(1, col, w.rows);
  if (part.is_contiguous()) {
    linear(part, x, wt, accumulate);
    return;
  }
  part = accumulate ? part.contiguous() : at::empty({n, w.rows});
  linear(part, x, wt, accumulate);
  y.narrow(1, col, w.rows).copy_(part);
}

void load_tensor(const gguf::file& f, const std::string& name, const std::vector<uint64_t>& dims,
                 at::Tensor dst) {
  const gguf::tensor_info& t = f.require_tensor(name, dims);
  if (!dst.is_contiguous() || static_cast<uint64_t>(dst.numel()) != t.n_elements())
    throw model_error("internal: destination of " + name + " does not fit");
  f.read_f32(t, dst.data_ptr<float>());
}

} // namespace llamps::kernels
