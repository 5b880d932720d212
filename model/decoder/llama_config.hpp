#pragma once
// LLaMA hyper-parameters from GGUF metadata, and the model's block profile: the sizes the
// planner needs, computed from the header alone.
#include <cstdint>
#include <string>
#include <vector>

#include "model/gguf/gguf.hpp"

namespace llamps {

struct llama_config {
  std::string architecture;   // "llama"
  std::string name;           // general.name, or the file's stem
  int n_vocab = 0;
  int n_ctx = 0;              // llama.context_length
  int n_embd = 0;             // llama.embedding_length
  int n_ff = 0;               // llama.feed_forward_length
  int n_head = 0;             // llama.attention.head_count
  int n_head_kv = 0;          // llama.attention.head_count_kv (default n_head)
  int n_blocks = 0;           // llama.block_count
  int n_rot = 0;              // llama.rope.dimension_count (default n_embd / n_head)
  float rms_eps = 1e-5f;      // llama.attention.layer_norm_rms_epsilon
  float rope_base = 10000.f;  // llama.rope.freq_base
  int head_dim() const { return n_embd / n_head; }
  int kv_dim() const { return head_dim() * n_head_kv; }
};

// Reads and validates the hyper-parameters; throws model_error naming the key at fault, or
// naming the architecture when it is not "llama".
llama_config read_llama_config(const gguf::file& f);

// How the KV cache stores keys and values. F16 by default: half the memory of F32, and what
// llama.cpp uses by default; F32 to compare with references made with an F32 cache.
enum class kv_type : uint8_t { f16, f32 };
inline unsigned kv_value_bytes(kv_type t) { return t == kv_type::f16 ? 2 : 4; }
kv_type parse_kv_type(const std::string& name); // "f16" or "f32"; throws model_error

// Sizes from the header alone (no tensor data is read).
struct block_profile {
  std::string model_name;
  std::string identity;                 // gguf::file::identity()
  int n_blocks = 0;
  int n_embd = 0;
  int n_ctx = 0;
  std::vector<uint64_t> block_file_bytes;   // bytes of each block's tensors in the file
  std::vector<uint64_t> block_memory_bytes; // bytes a host holds for each block once loaded
  uint64_t head_file_bytes = 0;             // embedding + final norm + output
  uint64_t head_memory_bytes = 0;
  uint64_t kv_bytes_per_token_per_block = 0; // K and V in the cache's type: 2 * kv_dim values
  uint64_t max_block_memory_bytes() const;
};
block_profile read_block_profile(const gguf::file& f, kv_type kv = kv_type::f16);
// The cache type a profile's kv_bytes_per_token_per_block counts for the model of cfg (how
// a block host learns its deployment's type); throws model_error if it is neither.
kv_type kv_type_of(uint64_t kv_bytes_per_token_per_block, const llama_config& cfg);

// Tensor names in llama.cpp's convention.
std::string block_tensor_name(int block, const char* what); // "blk.<block>.<what>.weight"
// The nine weight tensors of one block, by suffix: attn_norm, attn_q, attn_k, attn_v,
// attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down.
const std::vector<const char*>& block_tensor_kinds();
// Expected dims (ggml order) of a block tensor by kind, and of a head tensor by kind
// ("token_embd", "output_norm", "output"); used both to validate and to write models.
std::vector<uint64_t> block_tensor_dims(const llama_config& c, const std::string& kind);
std::vector<uint64_t> head_tensor_dims(const llama_config& c, const std::string& kind);

} // namespace llamps
