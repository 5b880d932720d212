#pragma once
// The deployer's side of weight streaming: one deployment's model file, open for reading, and
// which of its bytes each node of the plan may pull (the header, and the tensors of that
// node's own blocks). Plain code, no actors: the deployer asks it before serving a chunk.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "actors/protocol/protocol.hpp"
#include "model/decoder/llama_config.hpp"
#include "model/gguf/gguf.hpp"

namespace llamps {

class weight_source {
public:
  // Opens f's file for reading; throws model_error when it cannot. Nobody may read yet.
  explicit weight_source(const gguf::file& f);
  // Lets `node` pull the header and the tensors of blocks [first, last) (a plan entry, or a
  // replacement host after a failure).
  void allow(const std::string& node, int first, int last);
  ~weight_source();
  weight_source(const weight_source&) = delete;
  weight_source& operator=(const weight_source&) = delete;

  bool in_plan(const std::string& node) const;
  // Whether [offset, offset + length) lies inside the header or inside the tensors of the
  // node's blocks (a chunk may run across adjacent tensors of its blocks).
  bool may_read(const std::string& node, uint64_t offset, uint64_t length) const;
  // Fills `out` from `offset`; false on a read error or past the end of the file.
  bool read(uint64_t offset, std::vector<char>& out) const;

private:
  struct span {
    uint64_t begin, end;
  };
  struct tensor_span {
    std::string name;
    span bytes;
  };
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t header_end_ = 0;
  uint32_t alignment_ = 32;
  std::vector<tensor_span> tensors_;
  std::map<std::string, std::vector<span>> allowed_; // by node id, sorted and merged
};

} // namespace llamps
