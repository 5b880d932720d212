#include "actors/server/model_files.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include "actors/support/blocking_ask.hpp"
#include "model/gguf/gguf.hpp"
#include "model/decoder/llama_config.hpp"

namespace llamps {

namespace fs = std::filesystem;

model_profile profile_of(const std::string& path, kv_type kv) {
  model_profile p = read_block_profile(gguf::file::open(path), kv);
  p.name = fs::path(path).stem().string(); // the model's id, whatever general.name says
  p.path = fs::absolute(path).string();
  return p;
}

namespace {

constexpr uint64_t chunk_bytes = 4u << 20;

struct byte_range {
  uint64_t offset, length;
};

// The header, then each tensor the blocks [first, last) use, in file order.
std::vector<byte_range> ranges_to_fetch(const gguf::file& header, int first, int last) {
  std::vector<byte_range> out{{0, header.data_offset()}};
  for (const auto& t : header.tensors())
    if (host_needs_tensor(t.name, first, last))
      out.push_back({header.data_offset() + t.offset, t.n_bytes()});
  return out;
}

void write_at(int fd, const std::vector<char>& bytes, uint64_t offset, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    auto n = ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n <= 0)
      throw model_error(path + ": cannot write fetched block bytes");
    done += static_cast<size_t>(n);
  }
}

} // namespace

std::string fetch_blocks(caf::actor_system& sys, const deployer_actor& deployer, const load_order& order,
                         const std::string& node_id, const std::string& cache_dir,
                         const progress_fn& progress) {
  fs::create_directories(cache_dir);
  auto path =
      (fs::path(cache_dir) / (order.model.name + "-" + order.model.identity.substr(0, 16) + "-" +
                              std::to_string(order.first) + "-" + std::to_string(order.last) + ".gguf"))
          .string();
  auto partial = path + ".part";
  int fd = ::open(partial.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (fd < 0)
    throw model_error(partial + ": cannot create");
  if (::ftruncate(fd, static_cast<off_t>(order.model.file_size)) != 0) {
    ::close(fd);
    throw model_error(partial + ": cannot size the file");
  }
  caf::scoped_actor self{sys};
  auto pull = [&](uint64_t offset, uint64_t length) {
    std::vector<char> bytes;
    std::string failure;
    try {
      bytes = blocking_ask<std::vector<char>>(self, deployer, std::chrono::seconds(60), fetch_atom::value,
                                              order.deployment_id, node_id, offset, length);
    } catch (const std::runtime_error& e) {
      failure = e.what();
    }
    if (!failure.empty() || bytes.size() != length)
      throw model_error("fetching blocks " + std::to_string(order.first) + "-" +
                        std::to_string(order.last - 1) + " of " + order.model.name +
                        " failed: " + (failure.empty() ? "short chunk" : failure));
    write_at(fd, bytes, offset, partial);
  };
  try {
    // The header first: it tells where each tensor lies.
    pull(0, order.model.data_offset);
    ::fsync(fd);
    auto header = gguf::file::open(partial);
    auto ranges = ranges_to_fetch(header, order.first, order.last);
    uint64_t total = 0, done = 0;
    for (auto& r : ranges)
      total += r.length;
    done = ranges.front().length;
    progress(done, total);
    for (size_t i = 1; i < ranges.size(); ++i) {
      for (uint64_t off = 0; off < ranges[i].length; off += chunk_bytes) {
        auto len = std::min(chunk_bytes, ranges[i].length - off);
        pull(ranges[i].offset + off, len);
        done += len;
        progress(done, total);
      }
    }
  } catch (...) {
    ::close(fd);
    fs::remove(partial);
    throw;
  }
  ::close(fd);
  fs::rename(partial, path);
  return path;
}

} // namespace llamps
