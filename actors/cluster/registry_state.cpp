#include "actors/cluster/registry_state.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace llamps {

namespace {
constexpr uint32_t state_version = 1; // bump when deployment's fields change
}

std::string save_deployments(const std::string& path, const std::vector<deployment>& deployments) {
  std::vector<deployment> bare = deployments;
  for (auto& d : bare)
    d.hosts.clear();
  std::vector<char> buf;
  caf::binary_serializer sink{nullptr, buf};
  if (auto err = sink(state_version, bare))
    return "cannot serialise the deployments";
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (!out)
      return "cannot write " + tmp;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  return ec ? "cannot rename " + tmp + " to " + path + ": " + ec.message() : "";
}

std::vector<deployment> load_deployments(const std::string& path) {
  std::vector<deployment> out;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (std::filesystem::exists(path))
      throw std::runtime_error("cannot read state file " + path);
    return out;
  }
  std::vector<char> buf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  uint32_t version = 0;
  caf::binary_deserializer source{nullptr, buf};
  if (source(version) || version != state_version || source(out) || source.remaining() != 0)
    throw std::runtime_error("state file " + path + " is corrupt or from another version");
  for (auto& d : out)
    d.hosts.clear();
  return out;
}

} // namespace llamps
