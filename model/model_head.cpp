// Token embedding, final RMS norm and output projection.
#include "model/block_stack.hpp"
#include "model/kernels.hpp"

namespace llamps {

struct model_head::impl {
  llama_config cfg;
  at::Tensor embd;   // [n_vocab, n_embd]
  at::Tensor norm;   // [n_embd]
  at::Tensor output; // [n_vocab, n_embd]; the same tensor as embd when tied
  bool tied = false;
};

model_head::model_head(const gguf::file& f, const llama_config& cfg)
    : impl_(std::make_unique<impl>()) {
  c10::InferenceMode guard;
  impl_->cfg = cfg;
  impl_->embd = at::empty({cfg.n_vocab, cfg.n_embd});
  impl_->norm = at::empty({cfg.n_embd});
  kernels::load_tensor(f, "token_embd.weight", head_tensor_dims(cfg, "token_embd"), impl_->embd);
  kernels::load_tensor(f, "output_norm.weight", head_tensor_dims(cfg, "output_norm"), impl_->norm);
  impl_->tied = f.find_tensor("output.weight") == nullptr;
  if (impl_->tied) {
    impl_->output = impl_->embd;
  } else {
    impl_->output = at::empty({cfg.n_vocab, cfg.n_embd});
    kernels::load_tensor(f, "output.weight", head_tensor_dims(cfg, "output"), impl_->output);
  }
}

model_head::model_head(model_head&&) noexcept = default;
model_head& model_head::operator=(model_head&&) noexcept = default;
model_head::~model_head() = default;

tensor_data model_head::embed(const std::vector<int32_t>& tokens) const {
  const int64_t n = int64_t(tokens.size()), width = impl_->cfg.n_embd;
  tensor_data out;
  out.shape = {n, width};
  out.values.resize(size_t(n * width));
  const float* table = impl_->embd.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) {
    if (tokens[i] < 0 || tokens[i] >= impl_->cfg.n_vocab)
      throw model_error("token " + std::to_string(tokens[i]) + " is outside the vocabulary of " +
                        std::to_string(impl_->cfg.n_vocab));
    std::copy(table + tokens[i] * width, table + (tokens[i] + 1) * width,
              out.values.begin() + i * width);
  }
  return out;
}

std::vector<float> model_head::logits(const float* hidden_row) const {
  return std::move(logits(std::vector<const float*>{hidden_row}).front());
}

std::vector<std::vector<float>> model_head::logits(const std::vector<const float*>& hidden_rows) const {
  c10::InferenceMode guard;
  const int64_t width = impl_->cfg.n_embd, rows = int64_t(hidden_rows.size());
  at::Tensor x = at::empty({rows, width});
  for (int64_t i = 0; i < rows; ++i)
    std::copy(hidden_rows[size_t(i)], hidden_rows[size_t(i)] + width, x.data_ptr<float>() + i * width);
  at::Tensor xn = at::empty({rows, width});
  kernels::rmsnorm(xn, x, impl_->norm, impl_->cfg.rms_eps);
  at::Tensor y = at::empty({rows, impl_->cfg.n_vocab});
  kernels::linear(y, xn, impl_->output);
  std::vector<std::vector<float>> out(static_cast<size_t>(rows));
  for (int64_t i = 0; i < rows; ++i)
    out[size_t(i)].assign(y.data_ptr<float>() + i * impl_->cfg.n_vocab,
                          y.data_ptr<float>() + (i + 1) * impl_->cfg.n_vocab);
  return out;
}

uint64_t model_head::weight_bytes() const {
  uint64_t bytes = uint64_t(impl_->embd.numel() + impl_->norm.numel()) * sizeof(float);
  if (!impl_->tied)
    bytes += uint64_t(impl_->output.numel()) * sizeof(float);
  return bytes;
}

uint64_t model_head::logits_bytes() const {
  return uint64_t(impl_->output.numel() + impl_->norm.numel()) * sizeof(float);
}

} // namespace llamps
