#pragma once
// Internal to the GGUF reader: parsing and validation of the bytes before the data section.
#include "model/gguf/gguf.hpp"

namespace llamps::gguf {

struct parsed_header {
  uint32_t version = 0;
  uint32_t alignment = 32;
  uint64_t data_offset = 0; // absolute, aligned
  std::map<std::string, value> metadata;
  std::vector<tensor_info> tensors; // file order
};

// Parses the header, metadata and tensor table of a GGUF image of `size` bytes and checks
// every tensor against the file. Throws model_error "<path>: <problem>".
parsed_header parse_header(const uint8_t* data, uint64_t size, const std::string& path);

} // namespace llamps::gguf
