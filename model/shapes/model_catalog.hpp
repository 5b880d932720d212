#pragma once
// Built-in catalog of the shapes of published models of the supported architectures (Llama,
// Mistral, Qwen2, Phi-3), for models known only by name and/or parameter count (the web page shows the block count as soon as a user types "llama-2-70b" or "13b").
// Pure: no GGUF, no torch. Sizes follow llama.cpp's tensor layout.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/decoder/kv_type.hpp"
#include "model/shapes/model_shape.hpp"

namespace llamps::catalog {

enum class dtype { f32, f16, q8_0, q4_0 };
const char* dtype_name(dtype t);
std::optional<dtype> parse_dtype(const std::string& name);
// Bytes of n weights stored as t (q8_0: 34 bytes per 32, q4_0: 18 bytes per 32).
uint64_t weight_bytes(dtype t, uint64_t n);

// A published model's shape (or a LLaMA shape scaled to a parameter count), with what the
// catalog alone knows: the nominal parameter count. Its sizes follow from a weight type.
struct entry : model_shape {
  double params = 0;   // nominal parameter count
  bool scaled = false; // not in the catalog: a LLaMA shape scaled to the parameter count

  uint64_t weights_per_block() const; // the 7 matrices (norms and biases excluded)
  // One block's bytes: matrices at t, the two norm vectors (and Qwen2's biases) in f32.
  uint64_t block_bytes_at(dtype t) const;
  // Token embedding + output matrix (unless tied) at t, final norm in f32 (held by the
  // client session).
  uint64_t head_bytes_at(dtype t) const;
  double total_params() const;
  // The shape with its sizes filled in: weights at t, the KV cache in kv.
  model_shape sized(dtype t, kv_type kv = kv_type::f16) const;
};

const std::vector<entry>& all();

// Finds a model by name, forgiving case and separators ("LLaMA 2 70B" = "llama-2-70b").
std::optional<entry> find(const std::string& name);

// A LLaMA shape with about `params` parameters (width/depth ratio and FFN rule of LLaMA-2,
// grouped-query attention from 30B up).
entry scaled(double params);

// "70b", "1.1B", "350m", "7e9" -> parameter count; nullopt if not a size.
std::optional<double> parse_params(const std::string& text);

// Name and/or parameter count: the catalog entry if the name is known, else a scaled shape
// for `params` (or for the size the name ends in, e.g. "my-model-13b"). nullopt if neither.
std::optional<entry> lookup(const std::string& name, std::optional<double> params);

} // namespace llamps::catalog
