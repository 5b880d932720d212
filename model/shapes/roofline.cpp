#include "model/shapes/roofline.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include "model/errors.hpp"
#include "model/quant/matrix.hpp"

namespace llamps {

namespace {

struct torch_probes {
  double (*matvec_seconds)(int64_t rows, int64_t cols, int runs, int threads) = nullptr;
  double (*matmul_seconds)(int64_t n, int runs, int threads) = nullptr;
};

// The directory of the program (or library) this code was linked into.
std::string own_directory() {
  Dl_info info{};
  if (!dladdr(reinterpret_cast<void*>(&own_directory), &info) || !info.dli_fname)
    return ".";
  std::string path = info.dli_fname;
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// Opens the plugin once per process; throws model_error naming every place it looked.
const torch_probes& probes() {
  static torch_probes loaded;
  static std::string failure;
  static std::once_flag once;
  std::call_once(once, [] {
    std::vector<std::string> candidates;
    if (const char* explicit_path = std::getenv("LLAMPS_TORCH_PROBES"))
      candidates.push_back(explicit_path);
    const std::string dir = own_directory();
    candidates.push_back(dir + "/" + torch_probes_file_name());
    candidates.push_back(dir + "/../lib/llamps/" + torch_probes_file_name());
    std::string tried;
    for (const std::string& path : candidates) {
      void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!handle) {
        tried += "\n  " + std::string(dlerror());
        continue;
      }
      loaded.matvec_seconds =
          reinterpret_cast<decltype(loaded.matvec_seconds)>(dlsym(handle, "llamps_probe_matvec_seconds"));
      loaded.matmul_seconds =
          reinterpret_cast<decltype(loaded.matmul_seconds)>(dlsym(handle, "llamps_probe_matmul_seconds"));
      if (loaded.matvec_seconds && loaded.matmul_seconds)
        return;
      tried += "\n  " + path + ": not the probes plugin (its functions are missing)";
      loaded = {};
    }
    failure = std::string("the roofline probes need ") + torch_probes_file_name() +
              " (libtorch), which could not be opened:" + tried;
  });
  if (!failure.empty())
    throw model_error(failure);
  return loaded;
}

} // namespace

const char* torch_probes_file_name() { return "libllamps_torch_probes.so"; }

matvec_probe measure_matvec(int64_t rows, int64_t cols, int runs) {
  matvec_probe p;
  p.rows = rows;
  p.cols = cols;
  p.bytes = uint64_t(rows * cols) * sizeof(float);
  p.best_seconds = probes().matvec_seconds(rows, cols, runs, quant::threads());
  return p;
}

matmul_probe measure_matmul(int64_t n, int runs) {
  matmul_probe p;
  p.n = n;
  p.best_seconds = probes().matmul_seconds(n, runs, quant::threads());
  return p;
}

} // namespace llamps
