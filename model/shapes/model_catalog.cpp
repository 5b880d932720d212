#include "model/shapes/model_catalog.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace llamps::catalog {

namespace {

entry published(const char* name, double params, int blocks, int embd, int ff, int heads, int kv_heads,
                int vocab, int ctx, const char* architecture = "llama", bool tied = false) {
  entry e;
  e.name = name;
  e.params = params;
  e.n_blocks = blocks;
  e.n_embd = embd;
  e.n_ff = ff;
  e.n_head = heads;
  e.n_head_kv = kv_heads;
  e.n_vocab = vocab;
  e.n_ctx = ctx;
  e.architecture = architecture;
  e.tied = tied;
  return e;
}

// Published hyper-parameters (config.json / GGUF metadata of the released checkpoints).
const std::vector<entry> shapes = {
    //        name               params   blocks embd   ff     head kv  vocab   ctx
    published("tinyllama-1.1b", 1.10e9, 22, 2048, 5632, 32, 4, 32000, 2048),
    published("llama-3.2-1b", 1.24e9, 16, 2048, 8192, 32, 8, 128256, 131072),
    published("llama-3.2-3b", 3.21e9, 28, 3072, 8192, 24, 8, 128256, 131072),
    published("llama-7b", 6.74e9, 32, 4096, 11008, 32, 32, 32000, 2048),
    published("llama-13b", 13.0e9, 40, 5120, 13824, 40, 40, 32000, 2048),
    published("llama-30b", 32.5e9, 60, 6656, 17920, 52, 52, 32000, 2048),
    published("llama-65b", 65.2e9, 80, 8192, 22016, 64, 64, 32000, 2048),
    published("llama-2-7b", 6.74e9, 32, 4096, 11008, 32, 32, 32000, 4096),
    published("llama-2-13b", 13.0e9, 40, 5120, 13824, 40, 40, 32000, 4096),
    published("llama-2-70b", 69.0e9, 80, 8192, 28672, 64, 8, 32000, 4096),
    published("llama-3-8b", 8.03e9, 32, 4096, 14336, 32, 8, 128256, 8192),
    published("llama-3-70b", 70.6e9, 80, 8192, 28672, 64, 8, 128256, 8192),
    published("llama-3.1-8b", 8.03e9, 32, 4096, 14336, 32, 8, 128256, 131072),
    published("llama-3.1-70b", 70.6e9, 80, 8192, 28672, 64, 8, 128256, 131072),
    published("llama-3.1-405b", 405.9e9, 126, 16384, 53248, 128, 8, 128256, 131072),
    published("codellama-7b", 6.74e9, 32, 4096, 11008, 32, 32, 32016, 16384),
    published("codellama-13b", 13.0e9, 40, 5120, 13824, 40, 40, 32016, 16384),
    published("codellama-34b", 33.7e9, 48, 8192, 22016, 64, 8, 32000, 16384),
    published("codellama-70b", 69.0e9, 80, 8192, 28672, 64, 8, 32016, 16384),
    published("mistral-7b", 7.24e9, 32, 4096, 14336, 32, 8, 32000, 32768),
    published("mistral-7b-v0.3", 7.25e9, 32, 4096, 14336, 32, 8, 32768, 32768),
    published("mistral-nemo-12b", 12.2e9, 40, 5120, 14336, 32, 8, 131072, 1024000),
    published("qwen2.5-0.5b", 0.49e9, 24, 896, 4864, 14, 2, 151936, 32768, "qwen2", true),
    published("qwen2.5-1.5b", 1.54e9, 28, 1536, 8960, 12, 2, 151936, 32768, "qwen2", true),
    published("qwen2.5-3b", 3.09e9, 36, 2048, 11008, 16, 2, 151936, 32768, "qwen2", true),
    published("qwen2.5-7b", 7.62e9, 28, 3584, 18944, 28, 4, 152064, 32768, "qwen2"),
    published("qwen2.5-14b", 14.7e9, 48, 5120, 13824, 40, 8, 152064, 32768, "qwen2"),
    published("qwen2.5-32b", 32.8e9, 64, 5120, 27648, 40, 8, 152064, 32768, "qwen2"),
    published("qwen2.5-72b", 72.7e9, 80, 8192, 29568, 64, 8, 152064, 32768, "qwen2"),
    published("phi-3-mini-4k", 3.82e9, 32, 3072, 8192, 32, 32, 32064, 4096, "phi3"),
    published("phi-3-medium-4k", 14.0e9, 40, 5120, 17920, 40, 10, 32064, 4096, "phi3"),
};

// Lower case, letters, digits and dots only: "LLaMA 2 70B" and "llama-2-70b" meet.
std::string normalise(const std::string& name) {
  std::string out;
  for (unsigned char ch : name)
    if (std::isalnum(ch) || ch == '.')
      out += static_cast<char>(std::tolower(ch));
  return out;
}

// Smallest multiple of 256 at least 8/3 of the width: LLaMA's SwiGLU feed-forward rule.
int llama_ff(int n_embd) { return (8 * n_embd / 3 + 255) / 256 * 256; }

} // namespace

const char* dtype_name(dtype t) {
  switch (t) {
  case dtype::f32: return "f32";
  case dtype::f16: return "f16";
  case dtype::q8_0: return "q8_0";
  default: return "q4_0";
  }
}

std::optional<dtype> parse_dtype(const std::string& name) {
  for (dtype t : {dtype::f32, dtype::f16, dtype::q8_0, dtype::q4_0})
    if (name == dtype_name(t))
      return t;
  return std::nullopt;
}

uint64_t weight_bytes(dtype t, uint64_t n) {
  switch (t) {
  case dtype::f32: return 4 * n;
  case dtype::f16: return 2 * n;
  case dtype::q8_0: return (n + 31) / 32 * 34;
  default: return (n + 31) / 32 * 18;
  }
}

uint64_t entry::weights_per_block() const {
  uint64_t d = n_embd, kv = kv_dim(), ff = n_ff;
  return 2 * d * d + 2 * d * kv + 3 * d * ff; // q, o; k, v; gate, up, down
}

uint64_t entry::block_bytes_at(dtype t) const {
  const uint64_t biases = architecture == "qwen2" ? uint64_t(n_embd) + 2 * kv_dim() : 0;
  return weight_bytes(t, weights_per_block()) + 4 * (2 * static_cast<uint64_t>(n_embd) + biases);
}

uint64_t entry::head_bytes_at(dtype t) const {
  uint64_t matrices = (tied ? 1 : 2) * static_cast<uint64_t>(n_vocab) * n_embd;
  return weight_bytes(t, matrices) + 4 * static_cast<uint64_t>(n_embd);
}

double entry::total_params() const {
  return static_cast<double>(weights_per_block()) * n_blocks + (tied ? 1.0 : 2.0) * n_vocab * n_embd;
}

model_shape entry::sized(dtype t, kv_type kv) const {
  model_shape s = *this;
  s.block_bytes = block_bytes_at(t);
  s.head_bytes = head_bytes_at(t);
  s.kv_bytes_per_token_per_block = llamps::kv_bytes_per_token_per_block(kv_dim(), kv);
  return s;
}

const std::vector<entry>& all() { return shapes; }

std::optional<entry> find(const std::string& name) {
  std::string key = normalise(name);
  for (const entry& s : shapes)
    if (normalise(s.name) == key)
      return s;
  return std::nullopt;
}

entry scaled(double params) {
  // LLaMA-2 7B and 13B keep width = 128 * depth; grow the width until the model reaches the
  // size, then set the depth so the total matches.
  entry s;
  s.n_vocab = 32000;
  s.n_ctx = 4096;
  s.params = params;
  s.scaled = true;
  for (s.n_embd = 256;; s.n_embd += 256) {
    s.n_head = s.n_embd / 128;
    s.n_head_kv = params >= 30e9 ? std::max(1, s.n_head / 8) : s.n_head;
    s.n_ff = llama_ff(s.n_embd);
    s.n_blocks = s.n_embd / 128;
    if (s.total_params() >= params || s.n_embd >= 32768)
      break;
  }
  double head = 2.0 * s.n_vocab * s.n_embd;
  s.n_blocks = std::max(1, static_cast<int>(std::lround((params - head) / s.weights_per_block())));
  char size[32];
  std::snprintf(size, sizeof size, "llama-%.3gb", params / 1e9);
  s.name = size;
  return s;
}

std::optional<double> parse_params(const std::string& text) {
  std::string t = normalise(text);
  if (t.empty())
    return std::nullopt;
  double scale = 1;
  switch (t.back()) {
  case 'b': scale = 1e9, t.pop_back(); break;
  case 'm': scale = 1e6, t.pop_back(); break;
  case 't': scale = 1e12, t.pop_back(); break;
  default: break;
  }
  char* end = nullptr;
  double v = std::strtod(t.c_str(), &end);
  if (end == t.c_str() || *end != '\0' || !(v > 0))
    return std::nullopt;
  return v * scale;
}

std::optional<entry> lookup(const std::string& name, std::optional<double> params) {
  if (!name.empty())
    if (auto known = find(name))
      return known;
  if (!params && !name.empty()) { // "my-model-13b": the size after the last separator
    size_t cut = name.find_last_of("-_ ");
    params = parse_params(cut == std::string::npos ? name : name.substr(cut + 1));
  }
  if (!params)
    return std::nullopt;
  entry s = scaled(*params);
  if (!name.empty())
    s.name = name;
  return s;
}

} // namespace llamps::catalog
