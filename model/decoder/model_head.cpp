// Token embedding, final RMS norm and output projection.
#include "model/decoder/block_stack.hpp"
#include "model/decoder/kernels.hpp"

namespace llamps {

struct model_head::impl {
  llama_config cfg;
  quant::weight_matrix embd;   // [n_vocab, n_embd] in its file type
  std::vector<float> norm;     // [n_embd]
  quant::weight_matrix output; // [n_vocab, n_embd]; the embedding itself when tied
  bool tied = false;
};

model_head::model_head(const gguf::file& f, const llama_config& cfg) : impl_(std::make_unique<impl>()) {
  impl_->cfg = cfg;
  impl_->embd = quant::map_matrix(f, "token_embd.weight", head_tensor_dims(cfg, "token_embd"));
  impl_->norm = kernels::load_vector(f, "output_norm.weight", head_tensor_dims(cfg, "output_norm"));
  impl_->tied = cfg.tied;
  impl_->output =
      impl_->tied ? impl_->embd : quant::map_matrix(f, "output.weight", head_tensor_dims(cfg, "output"));
}

model_head::model_head(model_head&&) noexcept = default;
model_head& model_head::operator=(model_head&&) noexcept = default;
model_head::~model_head() = default;

tensor_data model_head::embed(const std::vector<int32_t>& tokens) const {
  const int64_t n = int64_t(tokens.size()), width = impl_->cfg.n_embd;
  tensor_data out;
  out.shape = {n, width};
  out.values.resize(size_t(n * width));
  for (int64_t i = 0; i < n; ++i) {
    if (tokens[i] < 0 || tokens[i] >= impl_->cfg.n_vocab)
      throw model_error("token " + std::to_string(tokens[i]) + " is outside the vocabulary of " +
                        std::to_string(impl_->cfg.n_vocab));
    impl_->embd.row_f32(tokens[i], out.values.data() + i * width);
  }
  return out;
}

std::vector<float> model_head::logits(const float* hidden_row) const {
  return std::move(logits(std::vector<const float*>{hidden_row}).front());
}

std::vector<std::vector<float>> model_head::logits(const std::vector<const float*>& hidden_rows) const {
  const int64_t width = impl_->cfg.n_embd, rows = int64_t(hidden_rows.size());
  kernels::row_matrix x(rows, width);
  for (int64_t i = 0; i < rows; ++i)
    std::copy(hidden_rows[size_t(i)], hidden_rows[size_t(i)] + width, x.row(i));
  kernels::row_matrix xn(rows, width);
  kernels::rmsnorm(xn, x, impl_->norm, impl_->cfg.rms_eps);
  kernels::row_matrix y(rows, impl_->cfg.n_vocab);
  // The rows are different sessions' (the head batcher's): each row's logits are its own,
  // whatever it is batched with.
  kernels::linear(y, 0, xn, impl_->output, false, quant::row_kind::sessions);
  std::vector<std::vector<float>> out(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i)
    out[size_t(i)].assign(y.row(i), y.row(i) + impl_->cfg.n_vocab);
  return out;
}

uint64_t model_head::weight_bytes() const {
  uint64_t bytes = impl_->embd.bytes() + uint64_t(impl_->norm.size()) * sizeof(float);
  if (!impl_->tied)
    bytes += impl_->output.bytes();
  return bytes;
}

uint64_t model_head::logits_bytes() const {
  return impl_->output.bytes() + uint64_t(impl_->norm.size()) * sizeof(float);
}

} // namespace llamps
