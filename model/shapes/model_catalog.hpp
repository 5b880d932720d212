#pragma once
// Built-in catalog of the shapes of published models of the supported architectures (Llama,
// Mistral, Qwen2, Phi-3), for models known only by name and/or parameter count (the web page shows the block count as soon as a user types "llama-2-70b" or "13b").
// Pure: no GGUF, no torch. Sizes follow llama.cpp's tensor layout.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/decoder/kv_type.hpp"

namespace llamps::catalog {

enum class dtype { f32, f16, q8_0, q4_0 };
const char* dtype_name(dtype t);
std::optional<dtype> parse_dtype(const std::string& name);
// Bytes of n weights stored as t (q8_0: 34 bytes per 32, q4_0: 18 bytes per 32).
uint64_t weight_bytes(dtype t, uint64_t n);

struct llama_shape {
  std::string name;     // canonical, e.g. "llama-2-70b"
  double params = 0;    // nominal parameter count
  int n_blocks = 0;
  int n_embd = 0;
  int n_ff = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int n_vocab = 0;
  int n_ctx = 0;
  const char* architecture = "llama"; // general.architecture of its GGUF files
  bool tied = false;    // the output matrix is the token embedding (one copy in the head)
  bool scaled = false;  // not in the catalog: a LLaMA shape scaled to the parameter count

  int kv_dim() const { return n_embd / n_head * n_head_kv; }
  uint64_t block_params() const; // the 7 matrices (norms and biases excluded)
  // One block's bytes: matrices at t, the two norm vectors (and Qwen2's biases) in f32.
  uint64_t block_bytes(dtype t) const;
  // Token embedding + output matrix (unless tied) at t, final norm in f32 (held by the
  // client session).
  uint64_t head_bytes(dtype t) const;
  // K and V of one token in one block, in the cache's type.
  uint64_t kv_bytes_per_token_per_block(kv_type t = kv_type::f16) const;
  double total_params() const;
};

const std::vector<llama_shape>& all();

// Finds a model by name, forgiving case and separators ("LLaMA 2 70B" = "llama-2-70b").
std::optional<llama_shape> find(const std::string& name);

// A LLaMA shape with about `params` parameters (width/depth ratio and FFN rule of LLaMA-2,
// grouped-query attention from 30B up).
llama_shape scaled(double params);

// "70b", "1.1B", "350m", "7e9" -> parameter count; nullopt if not a size.
std::optional<double> parse_params(const std::string& text);

// Name and/or parameter count: the catalog entry if the name is known, else a scaled shape
// for `params` (or for the size the name ends in, e.g. "my-model-13b"). nullopt if neither.
std::optional<llama_shape> lookup(const std::string& name, std::optional<double> params);

} // namespace llamps::catalog
