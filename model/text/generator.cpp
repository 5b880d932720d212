// Single-process generation: the whole model in one block_stack, driven by generation_loop.
#include "model/text/generator.hpp"

#include <chrono>

namespace llamps {

namespace {
double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
} // namespace

generation_result run_generation(const tokenizer& tok, int n_ctx, const generation_request& req,
                                 const step_fn& step, const token_fn& on_token) {
  generation_loop loop(tok, n_ctx, req);
  // The prompt (with BOS) runs as one step; prefill time ends with its logits.
  auto t0 = std::chrono::steady_clock::now();
  generation_loop::feed feed = loop.first();
  std::vector<float> logits = step(feed.pos, feed.tokens);
  generation_result result;
  result.prefill_seconds = seconds_since(t0);
  // Decode time: every sample-and-step after the prefill.
  t0 = std::chrono::steady_clock::now();
  while (auto next = loop.next(logits, on_token))
    logits = step(next->pos, next->tokens);
  result.decode_seconds = seconds_since(t0);
  result.ids = loop.ids();
  result.prompt_tokens = loop.prompt_tokens();
  return result;
}

struct generator::impl {
  gguf::file file;
  llama_config cfg;
  tokenizer tok;
  model_head head;
  block_stack blocks;

  impl(gguf::file f, kv_type kv)
      : file(std::move(f)), cfg(read_llama_config(file)), tok(tokenizer::from_gguf(file)), head(file, cfg),
        blocks(file, cfg, 0, cfg.n_blocks, 0, kv) {}
};

generator::generator(const std::string& model_path, kv_type kv)
    : impl_(std::make_unique<impl>(gguf::file::open(model_path), kv)) {}

generator::~generator() = default;

generation_result generator::generate(const generation_request& req, const token_fn& on_token) {
  const session_id session = 0; // one generation at a time: each starts again at position 0
  auto step = [&](int32_t pos, const std::vector<int32_t>& tokens) {
    tensor_data h = impl_->blocks.forward(session, pos, impl_->head.embed(tokens));
    return impl_->head.logits(h.values.data() + (h.rows() - 1) * h.cols());
  };
  generation_result result = run_generation(impl_->tok, impl_->cfg.n_ctx, req, step, on_token);
  impl_->blocks.drop(session);
  return result;
}

const llama_config& generator::config() const { return impl_->cfg; }
const tokenizer& generator::tok() const { return impl_->tok; }

} // namespace llamps
