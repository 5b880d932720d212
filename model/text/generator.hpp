#pragma once
// Single-process generation: tokenizer, head, all blocks, sampler. The reference that the
// distributed path must match token for token.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "model/decoder/block_stack.hpp"
#include "model/text/generation_loop.hpp"
#include "model/text/sampler.hpp"
#include "model/text/tokenizer.hpp"

namespace llamps {

struct generation_result {
  std::vector<int32_t> ids; // BOS, prompt ids, generated ids
  int prompt_tokens = 0;    // including BOS
  double prefill_seconds = 0;
  double decode_seconds = 0;
};

// Drives a generation_loop (model/text/generation_loop.hpp: encode, context check, sampling, stop
// rules — shared with the session actor) with a synchronous step function.
// step(pos, tokens) returns the last row's logits after running `tokens` at `pos`.
using step_fn = std::function<std::vector<float>(int32_t pos, const std::vector<int32_t>& tokens)>;
generation_result run_generation(const tokenizer& tok, int n_ctx, const generation_request& req,
                                 const step_fn& step, const token_fn& on_token);

class generator {
public:
  // throws model_error
  explicit generator(const std::string& model_path, kv_type kv = kv_type::f16);
  ~generator();
  generation_result generate(const generation_request& req, const token_fn& on_token = {});
  const llama_config& config() const;
  const tokenizer& tok() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace llamps
