#pragma once
// Transformer blocks [first, last) of one LLaMA model, with the KV caches of every session
// that passes through them.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/gguf/gguf.hpp"
#include "model/decoder/llama_config.hpp"
#include "model/tensor_data.hpp"

namespace llamps {

using session_id = uint64_t;

// One decode step of one session inside a batched call.
struct decode_step {
  session_id session = 0;
  int32_t pos = 0;           // position of this token
  std::vector<float> hidden; // n_embd values
};

// Where forward time went, summed over calls while profiling is on (llamps bench).
struct forward_profile {
  double matmul_seconds = 0;    // the four weight products per block
  double attention_seconds = 0; // RoPE, cache writes, scores, softmax, weighted values
  double other_seconds = 0;     // norms and SwiGLU
};

class block_stack {
public:
  // Loads only blocks [first, last) from the file (other blocks are never read).
  // kv_budget_bytes bounds the memory all sessions' caches may take (0 = unbounded).
  block_stack(const gguf::file& f, const llama_config& cfg, int first, int last, uint64_t kv_budget_bytes = 0,
              kv_type kv = kv_type::f16);
  block_stack(block_stack&&) noexcept;
  block_stack& operator=(block_stack&&) noexcept;
  ~block_stack();

  int first() const;
  int last() const;
  const llama_config& config() const;
  kv_type kv() const;

  // Runs hidden states of n consecutive tokens of one session (shape {n, n_embd}) at
  // positions pos..pos+n-1. The session's cache is first cut back to pos tokens, so a
  // session can rewind or replay (pos 0 rebuilds it from scratch). Throws model_error when
  // pos is past what is cached, past the context, or the KV budget is exhausted.
  tensor_data forward(session_id s, int32_t pos, const tensor_data& hidden);

  // One token for each of several sessions in one batched forward call (the matrix
  // products run once for the whole batch). Results are in the order of the steps.
  std::vector<std::vector<float>> forward_batch(const std::vector<decode_step>& steps);

  void drop(session_id s); // frees the session's caches (no-op if unknown)
  bool has(session_id s) const;
  int32_t cached_tokens(session_id s) const; // 0 if unknown
  std::vector<session_id> sessions() const;
  uint64_t kv_bytes() const; // bytes held by all caches now
  uint64_t kv_budget_bytes() const;
  uint64_t weight_bytes() const; // bytes of the loaded weights

  // Times the phases of every forward call (resets the profile); off by default.
  void set_profiling(bool on);
  forward_profile profile() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Token embedding, final norm and output projection (tied to the embedding when the file
// has no output.weight).
class model_head {
public:
  model_head(const gguf::file& f, const llama_config& cfg);
  model_head(model_head&&) noexcept;
  model_head& operator=(model_head&&) noexcept;
  ~model_head();

  tensor_data embed(const std::vector<int32_t>& tokens) const; // {n, n_embd}
  std::vector<float> logits(const float* hidden_row) const;    // one row -> n_vocab
  // Several sessions' rows at once: the output matrix is read once for all of them.
  std::vector<std::vector<float>> logits(const std::vector<const float*>& hidden_rows) const;
  uint64_t weight_bytes() const;
  // Bytes read per generated token: the final norm and the output matrix (the embedding
  // lookup reads one row).
  uint64_t logits_bytes() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Sets the threads the matrix products and attention are split over (0 = all cores), for the
// whole process. Called once by each command and by each block host.
void set_compute_threads(int n);

} // namespace llamps
