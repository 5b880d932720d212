#pragma once
// The model files a contributor has on its own machine: a deployed model whose identity
// matches one of them is loaded from it instead of pulled from the deployer.
#include <cstdint>
#include <map>
#include <string>

#include "actors/protocol/protocol.hpp"

namespace llamps {

class local_copies {
public:
  // A local copy of `model` with the same identity: the deployer's path if this machine has
  // the same file there, else any *.gguf of model_dir (unless it is also the cache of pulled
  // blocks, whose files carry the identity but only some blocks). "" = none.
  std::string find(const model_profile& model, bool use_local_copies, const std::string& model_dir,
                   const std::string& cache_dir);

  // The identity of a GGUF file ("" = not a readable GGUF), remembered while its size and
  // mtime stay the same: hashing a large header on every order would be slow.
  std::string identity_of(const std::string& path);

private:
  struct scanned_file {
    int64_t mtime_ns = -1;
    uint64_t size = 0;
    std::string identity;
  };
  std::map<std::string, scanned_file> scanned_; // by path
};

} // namespace llamps
