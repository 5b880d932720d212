#pragma once
// Helpers shared by the GGUF tests: the real model, temporary files, and a writer that copies
// a GGUF file (optionally changing it) so malformed-but-parseable models are easy to make.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include "model/gguf/gguf.hpp"
#include "model/gguf/gguf_writer.hpp"

namespace gguf_test {

inline std::string real_model() { return std::string(LLAMPS_SHARED_MODELS) + "/stories260K.gguf"; }

inline std::string tmp_path(const std::string& name) {
  std::filesystem::create_directories(LLAMPS_TEST_TMP);
  return std::string(LLAMPS_TEST_TMP) + "/" + name;
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

template <class T>
void poke(std::vector<uint8_t>& bytes, size_t at, T v) {
  std::memcpy(bytes.data() + at, &v, sizeof v);
}

// Byte position of the first occurrence of a length-prefixed string (a key or tensor name)
// in the header: the position of its first character.
inline size_t find_string(const std::vector<uint8_t>& bytes, const std::string& s) {
  const uint64_t n = s.size();
  std::vector<uint8_t> needle(reinterpret_cast<const uint8_t*>(&n), reinterpret_cast<const uint8_t*>(&n) + 8);
  needle.insert(needle.end(), s.begin(), s.end());
  auto it = std::search(bytes.begin(), bytes.end(), needle.begin(), needle.end());
  return it == bytes.end() ? std::string::npos : size_t(it - bytes.begin()) + 8;
}

// Field positions of one tensor's entry in the table.
struct tensor_entry {
  size_t n_dims, dims, type, offset;
};
inline tensor_entry locate_tensor(const std::vector<uint8_t>& bytes, const std::string& name) {
  const size_t at = find_string(bytes, name) + name.size();
  uint32_t n_dims;
  std::memcpy(&n_dims, bytes.data() + at, 4);
  const size_t type = at + 4 + 8 * n_dims;
  return {at, at + 4, type, type + 4};
}

// Copies `src` into a writer: every metadata value and every tensor (bytes copied as they
// are). `edit` may change a tensor's name/dims/type or return false to drop it.
using tensor_edit = std::function<bool(llamps::gguf::tensor_info&)>;
inline void copy_into(const llamps::gguf::file& src, llamps::gguf::writer& w,
                      const tensor_edit& edit = nullptr) {
  for (const auto& [key, v] : src.metadata())
    w.set_value(key, v);
  for (const auto& t : src.tensors()) {
    llamps::gguf::tensor_info out = t;
    if (edit && !edit(out))
      continue;
    const uint8_t* from = src.tensor_bytes(t);
    const uint64_t n = t.n_bytes();
    w.add_tensor(out.name, out.dims, out.type, [from, n](uint8_t* dst, uint64_t n_bytes) {
      std::memcpy(dst, from, std::min(n, n_bytes));
      if (n_bytes > n)
        std::memset(dst + n, 0, n_bytes - n);
    });
  }
}

} // namespace gguf_test
