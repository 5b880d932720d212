// LLaMA hyper-parameters from GGUF metadata (llama.cpp's keys and defaults) and the block
// profile the planner works from. Only the header is consulted: no tensor data is read.
#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "model/decoder/llama_config.hpp"

namespace llamps {

namespace {

[[noreturn]] void fail(const gguf::file& f, const std::string& what) {
  throw model_error(f.path() + ": " + what);
}

// A positive integer hyper-parameter; `fallback` (when > 0) stands in for a missing key.
int read_positive(const gguf::file& f, const std::string& key, int fallback = 0) {
  if (!f.has(key)) {
    if (fallback > 0)
      return fallback;
    fail(f, "required key '" + key + "' is missing");
  }
  const auto v = f.get_int(key);
  if (!v)
    fail(f, "key '" + key + "' is not an integer");
  if (*v <= 0 || *v > std::numeric_limits<int32_t>::max())
    fail(f, "key '" + key + "' has the invalid value " + std::to_string(*v));
  return int(*v);
}

float read_positive_float(const gguf::file& f, const std::string& key, float fallback) {
  if (!f.has(key))
    return fallback;
  const auto v = f.get_float(key);
  if (!v)
    fail(f, "key '" + key + "' is not a number");
  if (!(*v > 0) || !std::isfinite(float(*v)))
    fail(f, "key '" + key + "' has the invalid value " + std::to_string(*v));
  return float(*v);
}

std::string file_stem(const std::string& path) {
  const auto slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  const auto dot = base.find_last_of('.');
  return dot == std::string::npos || dot == 0 ? base : base.substr(0, dot);
}

int read_vocab_size(const gguf::file& f, const std::string& arch) {
  if (const auto* tokens = f.get_string_array("tokenizer.ggml.tokens")) {
    if (tokens->empty() || tokens->size() > size_t(std::numeric_limits<int32_t>::max()))
      fail(f, "tokenizer.ggml.tokens has " + std::to_string(tokens->size()) + " entries");
    return int(tokens->size());
  }
  if (f.has(arch + ".vocab_size"))
    return read_positive(f, arch + ".vocab_size");
  const auto& embd = f.require_tensor("token_embd.weight");
  if (embd.dims.size() < 2 || embd.dims[1] > uint64_t(std::numeric_limits<int32_t>::max()))
    fail(f, "cannot tell the vocabulary size: no tokenizer.ggml.tokens and token_embd.weight is not 2-D");
  return int(embd.dims[1]);
}

std::string dims_string(const std::vector<uint64_t>& dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

// Compares a tensor's shape with the expected one; trailing dimensions of 1 do not count.
void check_shape(const gguf::file& f, const std::string& name, const std::vector<uint64_t>& expected) {
  const auto& t = f.require_tensor(name);
  std::vector<uint64_t> actual = t.dims;
  while (actual.size() > expected.size() && actual.back() == 1)
    actual.pop_back();
  if (actual != expected)
    fail(f, "tensor '" + name + "' has dims " + dims_string(t.dims) + ", expected " + dims_string(expected));
}

// Every tensor the configuration needs has its dims, and no block holds a tensor the forward
// pass would ignore (as llama.cpp refuses a file with tensors it does not use).
void check_tensors(const gguf::file& f, const llama_config& c) {
  for (const char* head : {"token_embd", "output_norm", "output"}) {
    const std::string name = std::string(head) + ".weight";
    if (head != std::string("output") || f.find_tensor(name)) // output is optional (tied)
      check_shape(f, name, head_tensor_dims(c, head));
  }
  std::set<std::string> known;
  for (const tensor_spec& t : shared_block_tensors(c))
    check_shape(f, t.name, t.dims);
  for (int b = 0; b < c.n_blocks; ++b)
    for (const tensor_spec& t : block_tensors(c, b)) {
      check_shape(f, t.name, t.dims);
      known.insert(t.name);
    }
  for (const auto& t : f.tensors())
    if (block_of_tensor(t.name) >= 0 && !known.count(t.name))
      fail(f,
           "tensor '" + t.name + "' is not part of a '" + c.architecture + "' block as LLaMPS computes it");
}

// What sets the architectures apart; everything else is read the same way.
struct architecture_traits {
  const char* name;
  rope_pairs rope;
  bool qkv_bias, fused_qkv, fused_gate_up, scale_queries;
};

const architecture_traits* find_architecture(const std::string& name) {
  static const architecture_traits table[] = {
      {"llama", rope_pairs::adjacent, false, false, false, false},
      {"qwen2", rope_pairs::halves, true, false, false, false},
      {"phi3", rope_pairs::halves, false, true, true, true},
  };
  for (const auto& a : table)
    if (name == a.name)
      return &a;
  return nullptr;
}

} // namespace

const std::vector<std::string>& supported_architectures() {
  static const std::vector<std::string> names = {"llama", "qwen2", "phi3"};
  return names;
}

std::vector<tensor_spec> block_tensors(const llama_config& c, int block) {
  const uint64_t embd = uint64_t(c.n_embd), kv = uint64_t(c.kv_dim()), ff = uint64_t(c.n_ff);
  const std::string blk = "blk." + std::to_string(block) + ".";
  std::vector<tensor_spec> t;
  t.push_back({blk + "attn_norm.weight", {embd}, false});
  if (c.fused_qkv) {
    t.push_back({blk + "attn_qkv.weight", {embd, embd + 2 * kv}});
  } else {
    t.push_back({blk + "attn_q.weight", {embd, embd}});
    t.push_back({blk + "attn_k.weight", {embd, kv}});
    t.push_back({blk + "attn_v.weight", {embd, kv}});
  }
  if (c.qkv_bias) {
    t.push_back({blk + "attn_q.bias", {embd}, false});
    t.push_back({blk + "attn_k.bias", {kv}, false});
    t.push_back({blk + "attn_v.bias", {kv}, false});
  }
  t.push_back({blk + "attn_output.weight", {embd, embd}});
  t.push_back({blk + "ffn_norm.weight", {embd}, false});
  if (c.fused_gate_up) {
    t.push_back({blk + "ffn_up.weight", {embd, 2 * ff}});
  } else {
    t.push_back({blk + "ffn_gate.weight", {embd, ff}});
    t.push_back({blk + "ffn_up.weight", {embd, ff}});
  }
  t.push_back({blk + "ffn_down.weight", {ff, embd}});
  return t;
}

std::vector<tensor_spec> shared_block_tensors(const llama_config& c) {
  if (!c.rope_freqs)
    return {};
  return {{"rope_freqs.weight", {uint64_t(c.n_rot / 2)}, false}};
}

int block_of_tensor(const std::string& name) {
  if (name.rfind("blk.", 0) != 0)
    return -1;
  int64_t n = 0;
  size_t i = 4;
  for (; i < name.size() && name[i] >= '0' && name[i] <= '9' && n < (1 << 24); ++i)
    n = n * 10 + (name[i] - '0');
  return i > 4 && i < name.size() && name[i] == '.' ? int(n) : -1;
}

bool host_needs_tensor(const std::string& name, int first, int last) {
  const int block = block_of_tensor(name);
  return block >= 0 ? block >= first && block < last : name == "rope_freqs.weight";
}

std::vector<uint64_t> head_tensor_dims(const llama_config& c, const std::string& kind) {
  if (kind == "output_norm")
    return {uint64_t(c.n_embd)};
  if (kind == "token_embd" || kind == "output")
    return {uint64_t(c.n_embd), uint64_t(c.n_vocab)};
  throw model_error("unknown head tensor kind '" + kind + "'");
}

llama_config read_llama_config(const gguf::file& f) {
  llama_config c;
  const auto arch = f.get_string("general.architecture");
  if (!arch)
    fail(f, "general.architecture is missing or not a string");
  const architecture_traits* traits = find_architecture(*arch);
  if (!traits) {
    std::string names;
    for (const auto& n : supported_architectures())
      names += (names.empty() ? "" : ", ") + n;
    fail(f, "architecture '" + *arch + "' is not supported (supported: " + names + ")");
  }
  const std::string key = *arch + ".";
  c.architecture = *arch;
  c.name = f.get_string("general.name").value_or(file_stem(f.path()));
  c.n_ctx = read_positive(f, key + "context_length");
  c.n_embd = read_positive(f, key + "embedding_length");
  c.n_ff = read_positive(f, key + "feed_forward_length");
  c.n_blocks = read_positive(f, key + "block_count");
  c.n_head = read_positive(f, key + "attention.head_count");
  c.n_head_kv = read_positive(f, key + "attention.head_count_kv", c.n_head);
  if (c.n_embd % c.n_head != 0)
    fail(f, "embedding length " + std::to_string(c.n_embd) + " is not divisible by head count " +
                std::to_string(c.n_head));
  if (c.n_head % c.n_head_kv != 0)
    fail(f, "head count " + std::to_string(c.n_head) + " is not divisible by KV head count " +
                std::to_string(c.n_head_kv));
  c.n_rot = read_positive(f, key + "rope.dimension_count", c.head_dim());
  if (c.n_rot > c.head_dim() || c.n_rot % 2 != 0)
    fail(f, "rope dimension " + std::to_string(c.n_rot) + " must be even and at most the head size " +
                std::to_string(c.head_dim()));
  c.rms_eps = read_positive_float(f, key + "attention.layer_norm_rms_epsilon", 1e-5f);
  c.rope_base = read_positive_float(f, key + "rope.freq_base", 10000.f);
  c.rope = traits->rope;
  c.qkv_bias = traits->qkv_bias || f.find_tensor("blk.0.attn_q.bias") != nullptr;
  c.fused_qkv = traits->fused_qkv && f.find_tensor("blk.0.attn_qkv.weight") != nullptr;
  c.fused_gate_up = traits->fused_gate_up;
  c.scale_queries = traits->scale_queries;
  c.rope_freqs = f.find_tensor("rope_freqs.weight") != nullptr;
  if (f.find_tensor("rope_factors_long.weight") || f.find_tensor("rope_factors_short.weight"))
    fail(f, "long-context rope factors (rope_factors_long/short.weight) are not supported yet");
  if (f.has(key + "attention.sliding_window"))
    c.n_swa = read_positive(f, key + "attention.sliding_window");
  c.n_vocab = read_vocab_size(f, *arch);
  c.tied = f.find_tensor("output.weight") == nullptr;
  check_tensors(f, c);
  return c;
}

kv_type parse_kv_type(const std::string& name) {
  if (name == "f16")
    return kv_type::f16;
  if (name == "f32")
    return kv_type::f32;
  throw model_error("unknown KV cache type '" + name + "' (f16 or f32)");
}

kv_type kv_type_of(uint64_t kv_bytes_per_token_per_block, const llama_config& cfg) {
  for (kv_type t : {kv_type::f16, kv_type::f32})
    if (kv_bytes_per_token_per_block == llamps::kv_bytes_per_token_per_block(cfg.kv_dim(), t))
      return t;
  throw model_error("a KV cache of " + std::to_string(kv_bytes_per_token_per_block) +
                    " bytes per token per block is neither f16 nor f32 for " + cfg.name);
}

block_profile read_block_profile(const gguf::file& f, kv_type kv) {
  const llama_config c = read_llama_config(f);
  block_profile p;
  static_cast<model_shape&>(p) = c;
  p.path = f.path();
  p.identity = f.identity();
  p.file_size = f.file_size();
  p.data_offset = f.data_offset();
  p.bytes_per_block.assign(size_t(c.n_blocks), 0);
  // Every tensor named blk.<i>.* belongs to block i (so extra per-block tensors count too).
  for (const auto& t : f.tensors()) {
    const int block = block_of_tensor(t.name);
    if (block >= 0 && block < c.n_blocks)
      p.bytes_per_block[size_t(block)] += t.n_bytes();
  }
  p.block_bytes = *std::max_element(p.bytes_per_block.begin(), p.bytes_per_block.end());
  for (const char* head : {"token_embd.weight", "output_norm.weight", "output.weight"})
    if (const auto* t = f.find_tensor(head))
      p.head_bytes += t->n_bytes();
  p.kv_bytes_per_token_per_block = kv_bytes_per_token_per_block(c.kv_dim(), kv);
  return p;
}

} // namespace llamps
