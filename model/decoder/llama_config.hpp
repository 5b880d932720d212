#pragma once
// LLaMA hyper-parameters from GGUF metadata, and the model's block profile: the sizes the
// planner needs, computed from the header alone.
#include <cstdint>
#include <string>
#include <vector>

#include "model/decoder/kv_type.hpp"
#include "model/gguf/gguf.hpp"
#include "model/shapes/model_shape.hpp"

namespace llamps {

// How RoPE pairs the dimensions of a head: llama.cpp's "normal" rotation turns (2i, 2i+1),
// its NEOX rotation (Qwen2, Phi-3) turns (i, i + n_rot/2).
enum class rope_pairs : uint8_t { adjacent, halves };

// The decoder-only transformers LLaMPS runs: Llama 2/3 (and Mistral, stored as "llama"),
// Qwen2 and Phi-3 differ only in the flags below; the forward pass reads them. The shape's
// fields come from general.architecture, general.name (or the file's stem), and
// <arch>.context_length, .embedding_length, .feed_forward_length, .attention.head_count,
// .attention.head_count_kv (default head_count) and .block_count; tied = no output.weight.
// Its sizes (block_bytes, ...) are not set here: read_block_profile gives them.
struct llama_config : model_shape {
  int n_rot = 0;             // <arch>.rope.dimension_count (default n_embd / n_head)
  float rms_eps = 1e-5f;     // <arch>.attention.layer_norm_rms_epsilon
  float rope_base = 10000.f; // <arch>.rope.freq_base
  rope_pairs rope = rope_pairs::adjacent;
  bool rope_freqs = false;    // rope_freqs.weight divides each pair's frequency (Llama 3.1 scaling)
  int n_swa = 0;              // <arch>.attention.sliding_window: a query sees only the last n_swa
                              // positions (0 = all)
  bool qkv_bias = false;      // blk.N.attn_{q,k,v}.bias, added before RoPE (Qwen2)
  bool fused_qkv = false;     // blk.N.attn_qkv.weight: the Q, K and V rows in one matrix (Phi-3)
  bool fused_gate_up = false; // blk.N.ffn_up.weight holds the gate rows, then the up rows (Phi-3)
  bool scale_queries = false; // queries are scaled by 1/sqrt(head_dim) before the scores, not
                              // the scores after (Phi-3, as llama.cpp rounds it)
};

// The architectures read_llama_config accepts, for error messages and --help.
const std::vector<std::string>& supported_architectures();

// Reads and validates the hyper-parameters and the tensors' names and shapes; throws
// model_error naming the key or tensor at fault, or the architecture when it is unsupported.
llama_config read_llama_config(const gguf::file& f);

kv_type parse_kv_type(const std::string& name); // "f16" or "f32"; throws model_error

// A model's profile from its header alone (no tensor data is read), with the bytes of each
// block's tensors. A host computes on the weights in their file types, so a block takes in
// memory what it takes in the file; block_bytes is the largest, head_bytes the embedding,
// final norm and output; the KV bytes count the cache's type.
struct block_profile : model_profile {
  std::vector<uint64_t> bytes_per_block;
};
block_profile read_block_profile(const gguf::file& f, kv_type kv = kv_type::f16);
// The cache type a profile's kv_bytes_per_token_per_block counts for the model of cfg (how
// a block host learns its deployment's type); throws model_error if it is neither.
kv_type kv_type_of(uint64_t kv_bytes_per_token_per_block, const llama_config& cfg);

// Tensors in llama.cpp's names and dims (ggml order: the row length first); used to
// validate files, to load them and to write models.
struct tensor_spec {
  std::string name; // e.g. "blk.3.attn_q.weight"
  std::vector<uint64_t> dims;
  bool matrix = true; // false: a norm, a bias or rope factors, kept in F32
};
// What the forward pass reads for one block of a model of this configuration.
std::vector<tensor_spec> block_tensors(const llama_config& c, int block);
// Tensors outside the blocks that every block uses (rope_freqs.weight): each host holds them.
std::vector<tensor_spec> shared_block_tensors(const llama_config& c);
// "token_embd", "output_norm" or "output".
std::vector<uint64_t> head_tensor_dims(const llama_config& c, const std::string& kind);
// The block number of a tensor named "blk.<n>.<...>", or -1.
int block_of_tensor(const std::string& name);
// Whether a block range's host needs this tensor: it is in blocks [first, last), or shared.
bool host_needs_tensor(const std::string& name, int first, int last);

} // namespace llamps
