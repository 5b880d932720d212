#pragma once
// A model as everyone who lists, writes, plans or places one sees it: its hyper-parameters
// and, once known, the bytes its parts take in memory. The catalog of published models,
// make-model's presets, the configuration read from a GGUF header (llama_config), the
// planner's requests and the wire's model_profile are this one type or extend it.
#include <cstdint>
#include <string>

namespace llamps {

struct model_shape {
  std::string name;
  std::string architecture = "llama"; // general.architecture: "llama", "qwen2" or "phi3"
  int n_vocab = 0;
  int n_ctx = 0; // the context it was trained for
  int n_embd = 0;
  int n_ff = 0;
  int n_head = 0;
  int n_head_kv = 0;
  int n_blocks = 0;
  bool tied = false; // the output matrix is the token embedding

  // Bytes in memory, as a GGUF header or the catalog at a weight type gives them; 0 = unknown
  // (a plan from block counts alone, or a header-less shape).
  uint64_t block_bytes = 0;                  // the largest block's weights
  uint64_t head_bytes = 0;                   // embedding + final norm + output (client side)
  uint64_t kv_bytes_per_token_per_block = 0; // K and V of one token in one block (kv_type.hpp)

  int head_dim() const { return n_head > 0 ? n_embd / n_head : 0; }
  int kv_dim() const { return head_dim() * n_head_kv; }
};

// A model's shape and the GGUF file it was read from: what a plan or deployment request
// carries (the deployer streams blocks from `path`; hosts check `identity`). `name` is the
// model's id everywhere (the file's stem).
struct model_profile : model_shape {
  std::string path;     // on the deployer's machine
  std::string identity; // gguf::file::identity()
  uint64_t file_size = 0;
  uint64_t data_offset = 0; // bytes of header, metadata and tensor table
};

} // namespace llamps
