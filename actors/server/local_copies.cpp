#include "actors/server/local_copies.hpp"

#include <sys/stat.h>

#include <filesystem>

#include "model/gguf/gguf.hpp"
#include "actors/support/logging.hpp"

namespace llamps {

std::string local_copies::identity_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    return "";
  const int64_t mtime = int64_t(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  scanned_file& entry = scanned_[path];
  if (entry.mtime_ns != mtime || entry.size != uint64_t(st.st_size)) {
    entry = scanned_file{mtime, uint64_t(st.st_size), ""};
    try {
      entry.identity = gguf::file::open(path).identity();
    } catch (const std::exception& e) {
      logger("contributor")->debug("{} is not a usable GGUF: {}", path, e.what());
    }
  }
  return entry.identity;
}

std::string local_copies::find(const model_profile& model, bool use_local_copies,
                               const std::string& model_dir, const std::string& cache_dir) {
  if (!use_local_copies)
    return ""; // this node pulls every block from the deployer
  if (!model.path.empty() && identity_of(model.path) == model.identity)
    return model.path;
  if (model_dir.empty())
    return "";
  std::error_code ec;
  if (!cache_dir.empty() && std::filesystem::equivalent(model_dir, cache_dir, ec))
    return "";
  for (const auto& item : std::filesystem::directory_iterator(model_dir, ec))
    if (item.path().extension() == ".gguf" && identity_of(item.path().string()) == model.identity)
      return item.path().string();
  return "";
}

} // namespace llamps
