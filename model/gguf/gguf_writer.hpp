#pragma once
// Writes GGUF v3 files byte-exact to the spec (llama.cpp loads them): used by make-model
// (model/shapes/presets.cpp) and by the tests that build small models of their own.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/gguf/gguf.hpp"

namespace llamps::gguf {

class writer {
public:
  void set_uint32(const std::string& key, uint32_t v);
  void set_float32(const std::string& key, float v);
  void set_bool(const std::string& key, bool v);
  void set_string(const std::string& key, const std::string& v);
  void set_string_array(const std::string& key, const std::vector<std::string>& v);
  void set_float32_array(const std::string& key, const std::vector<float>& v);
  void set_int32_array(const std::string& key, const std::vector<int32_t>& v);
  // Copies one metadata value (any type) from a file being read.
  void set_value(const std::string& key, const value& v);

  // Declares a tensor; its bytes are produced by `fill` when the file is written, so a
  // multi-GB model never sits in memory at once. `fill(dst)` writes exactly n_bytes.
  using fill_fn = std::function<void(uint8_t* dst, uint64_t n_bytes)>;
  void add_tensor(const std::string& name, std::vector<uint64_t> dims, tensor_type type, fill_fn fill);

  // Writes the file (atomically: a temporary beside it, then rename). Throws model_error.
  void write(const std::string& path, uint32_t alignment = 32) const;

private:
  struct kv {
    std::string key;
    value v;
    value_type type;
  };
  struct pending_tensor {
    tensor_info info;
    fill_fn fill;
  };
  std::vector<kv> kvs_;
  std::vector<pending_tensor> tensors_;
};

// Quantises n floats (a multiple of 32) to Q8_0 / Q4_0 blocks, as ggml does.
void quantize_q8_0(const float* src, uint8_t* dst, uint64_t n);
void quantize_q4_0(const float* src, uint8_t* dst, uint64_t n);

} // namespace llamps::gguf
