#pragma once
// GGUF reader (versions 2 and 3): metadata, tensor table, memory-mapped tensor data.
// Only the tensors a caller asks for are ever touched: the data section is mmap'ed and
// nothing is read or allocated for tensors that are not requested.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "model/errors.hpp"

namespace llamps::gguf {

enum class value_type : uint32_t {
  uint8 = 0,
  int8 = 1,
  uint16 = 2,
  int16 = 3,
  uint32 = 4,
  int32 = 5,
  float32 = 6,
  boolean = 7,
  string = 8,
  array = 9,
  uint64 = 10,
  int64 = 11,
  float64 = 12,
};

// ggml tensor types (numbering as in ggml.h). Every type is known by its block layout (so a
// file's offsets can be checked); the supported ones (is_supported) are computed on directly
// by model/quant/.
enum class tensor_type : uint32_t {
  f32 = 0,
  f16 = 1,
  q4_0 = 2,
  q4_1 = 3,
  q5_0 = 6,
  q5_1 = 7,
  q8_0 = 8,
  q8_1 = 9,
  q2_k = 10,
  q3_k = 11,
  q4_k = 12,
  q5_k = 13,
  q6_k = 14,
  q8_k = 15,
  iq2_xxs = 16,
  iq2_xs = 17,
  iq3_xxs = 18,
  iq1_s = 19,
  iq4_nl = 20,
  iq3_s = 21,
  iq2_s = 22,
  iq4_xs = 23,
  i8 = 24,
  i16 = 25,
  i32 = 26,
  i64 = 27,
  f64 = 28,
  iq1_m = 29,
  bf16 = 30,
  tq1_0 = 34,
  tq2_0 = 35,
};

const char* type_name(tensor_type t);
bool is_supported(tensor_type t);   // a type LLaMPS computes on
const char* supported_type_names(); // "f32, f16, ..." for error messages
// Bytes taken by n elements of type t (n must be a multiple of the type's block size).
uint64_t row_bytes(tensor_type t, uint64_t n);
bool is_known(tensor_type t);       // a ggml type this code knows the block layout of
uint32_t block_size(tensor_type t); // elements per block (1 for f32/f16/bf16; 0 if unknown)

// Half-precision conversions (round-to-nearest-even, as ggml).
float fp16_to_f32(uint16_t h);
uint16_t f32_to_fp16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

// One metadata value. Integers of every width are kept as int64 (uint64 values above
// INT64_MAX are rejected as corrupt), floats as double; arrays hold their element type.
struct value {
  value_type type = value_type::uint8;
  value_type element_type = value_type::uint8; // for arrays
  std::variant<int64_t, double, bool, std::string, std::vector<int64_t>, std::vector<double>,
               std::vector<std::string>, std::vector<bool>>
      data;
};

struct tensor_info {
  std::string name;
  std::vector<uint64_t> dims; // ggml order: dims[0] is the contiguous (fastest) dimension
  tensor_type type = tensor_type::f32;
  uint64_t offset = 0; // from the start of the data section
  uint64_t n_elements() const;
  uint64_t n_bytes() const; // bytes in the file
};

class file {
public:
  // Opens and validates the header and tensor table. Throws model_error naming the file and
  // the problem (missing file, bad magic, unsupported version, truncated table, offsets past
  // the end, unsupported tensor type, ...).
  static file open(const std::string& path);
  // Same checks on a copy of an in-memory image (tests, fuzzing); `name` stands for the path.
  static file open_memory(const uint8_t* data, size_t size, const std::string& name = "<memory>");

  file(file&&) noexcept;
  file& operator=(file&&) noexcept;
  ~file();

  const std::string& path() const;
  uint32_t version() const;
  uint64_t file_size() const;
  uint64_t data_offset() const; // absolute offset of the data section
  uint32_t alignment() const;

  const std::map<std::string, value>& metadata() const;
  bool has(const std::string& key) const;
  std::optional<int64_t> get_int(const std::string& key) const;
  std::optional<double> get_float(const std::string& key) const; // also accepts integers
  std::optional<std::string> get_string(const std::string& key) const;
  std::optional<bool> get_bool(const std::string& key) const;
  const std::vector<std::string>* get_string_array(const std::string& key) const;
  std::vector<double> get_float_array(const std::string& key) const; // empty if absent
  std::vector<int64_t> get_int_array(const std::string& key) const;  // empty if absent

  const std::vector<tensor_info>& tensors() const;
  const tensor_info* find_tensor(const std::string& name) const;    // nullptr if absent
  const tensor_info& require_tensor(const std::string& name) const; // throws model_error
  // The same, its ggml dims checked against `dims`: a model_error names both.
  const tensor_info& require_tensor(const std::string& name, const std::vector<uint64_t>& dims) const;

  // Raw bytes of one tensor inside the mapping (valid while the file lives).
  const uint8_t* tensor_bytes(const tensor_info& t) const;
  // Dequantises one tensor into out (n_elements floats).
  void read_f32(const tensor_info& t, float* out) const;
  std::vector<float> read_f32(const tensor_info& t) const;
  // The tensor's bytes as they are in the file, kept alive with the mapping (or in-memory
  // image) for as long as the pointer lives, whether or not the file object does: weights are
  // computed on in place, never copied.
  std::shared_ptr<const uint8_t> tensor_view(const tensor_info& t) const;

  // The tensor types of the file and how many tensors have each: "q4_K x155, q6_K x23, f32 x45".
  std::string type_summary() const;

  // Identity of the model: SHA-256 (hex) over the header, metadata and tensor table plus the
  // file size. Cheap (does not read tensor data) and stable across copies of the same file.
  std::string identity() const;

private:
  struct impl;
  explicit file(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace llamps::gguf
