// Writes LLaMA presets as GGUF files with deterministic pseudo-random weights. Each tensor's
// values come from a generator seeded by (seed, tensor name), so a tensor is the same whatever
// the block count or order, and is produced chunk by chunk straight into the output file.
#include <algorithm>
#include <cmath>
#include <optional>

#include "model/gguf/gguf_writer.hpp"
#include "model/decoder/llama_config.hpp"
#include "model/shapes/model_catalog.hpp"
#include "model/shapes/presets.hpp"

#include "model/quant/quantize.hpp"

namespace llamps {

namespace {

// splitmix64: tiny, fast, and good enough for weights that only need to look random.
struct splitmix64 {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [-a, a).
  float uniform(float a) { return (float(next() >> 40) / float(1 << 24) * 2.f - 1.f) * a; }
};

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xCBF29CE484222325ull;
  for (unsigned char c : s)
    h = (h ^ c) * 0x100000001B3ull;
  return h;
}

// Uniform with standard deviation 0.02 (a = 0.02 * sqrt(3)): the usual LLaMA init scale,
// small enough that the residual stream stays finite through many random blocks.
constexpr float weight_range = 0.0346410f;
constexpr uint64_t chunk_elements = 32 * 1024; // a multiple of every block size

// fill function for one tensor: norms are 1.0, everything else pseudo-random; quantised
// types are produced through a small float buffer, one chunk at a time.
gguf::writer::fill_fn make_fill(const std::string& name, bool is_norm, gguf::tensor_type type, uint64_t seed,
                                const make_model_options& o, uint64_t& done, uint64_t total) {
  return [=, &o, &done](uint8_t* dst, uint64_t n_bytes) {
    splitmix64 rng{seed ^ fnv1a(name)};
    const uint64_t n = n_bytes / gguf::row_bytes(type, gguf::block_size(type)) * gguf::block_size(type);
    std::vector<float> buf(std::min(n, chunk_elements));
    for (uint64_t at = 0; at < n; at += buf.size()) {
      const uint64_t k = std::min<uint64_t>(buf.size(), n - at);
      for (uint64_t i = 0; i < k; ++i)
        buf[i] = is_norm ? 1.f : rng.uniform(weight_range);
      uint8_t* out = dst + gguf::row_bytes(type, at);
      quant::quantize_row(type, buf.data(), out, int64_t(k));
    }
    done += n_bytes;
    if (o.progress)
      o.progress(done, total);
  };
}

// llama_ftype: ALL_F32 0, MOSTLY_Q4_0 2, MOSTLY_Q8_0 7, MOSTLY_Q4_K_S 14, _Q4_K_M 15, _Q6_K 18.
uint32_t file_type(const make_model_options& o) {
  switch (o.type) {
  case gguf::tensor_type::q8_0: return 7;
  case gguf::tensor_type::q4_0: return 2;
  case gguf::tensor_type::q4_k: return o.q4_k_m ? 15 : 14;
  case gguf::tensor_type::q6_k: return 18;
  default: return 0;
  }
}

// The type of one matrix: options' type, or Q4_K_M's choice for it. Q4_K_M gives attn_v and
// ffn_down six bits in the first and last eighth of the blocks and every third block between.
gguf::tensor_type matrix_type(const make_model_options& o, const std::string& name, int block, int n_blocks) {
  if (!o.q4_k_m)
    return o.type;
  if (name == "output.weight")
    return gguf::tensor_type::q6_k;
  const bool more_bits =
      block >= 0 && (block < n_blocks / 8 || block >= 7 * n_blocks / 8 || (block - n_blocks / 8) % 3 == 2);
  const bool wide = name.find("attn_v") != std::string::npos || name.find("ffn_down") != std::string::npos;
  return wide && more_bits ? gguf::tensor_type::q6_k : gguf::tensor_type::q4_k;
}

void set_metadata(gguf::writer& w, const model_shape& p, const llama_config& c, const make_model_options& o,
                  const gguf::file* vocab_file) {
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", p.name + " (random weights, seed " + std::to_string(o.seed) + ")");
  w.set_uint32("general.file_type", file_type(o));
  w.set_uint32("llama.context_length", uint32_t(c.n_ctx));
  w.set_uint32("llama.embedding_length", uint32_t(c.n_embd));
  w.set_uint32("llama.feed_forward_length", uint32_t(c.n_ff));
  w.set_uint32("llama.block_count", uint32_t(c.n_blocks));
  w.set_uint32("llama.attention.head_count", uint32_t(c.n_head));
  w.set_uint32("llama.attention.head_count_kv", uint32_t(c.n_head_kv));
  w.set_uint32("llama.rope.dimension_count", uint32_t(c.n_rot));
  w.set_float32("llama.attention.layer_norm_rms_epsilon", c.rms_eps);
  w.set_float32("llama.rope.freq_base", c.rope_base);
  if (vocab_file) {
    for (auto& [key, value] : vocab_file->metadata())
      if (key.rfind("tokenizer.", 0) == 0 && !(key == "tokenizer.chat_template" && !o.chat_template.empty()))
        w.set_value(key, value);
  } else {
    const vocab v = make_vocab(c.n_vocab);
    w.set_string("tokenizer.ggml.model", "llama");
    w.set_string_array("tokenizer.ggml.tokens", v.tokens);
    w.set_float32_array("tokenizer.ggml.scores", v.scores);
    w.set_int32_array("tokenizer.ggml.token_type", v.types);
    w.set_uint32("tokenizer.ggml.unknown_token_id", 0);
    w.set_uint32("tokenizer.ggml.bos_token_id", 1);
    w.set_uint32("tokenizer.ggml.eos_token_id", 2);
  }
  if (!o.chat_template.empty())
    w.set_string("tokenizer.chat_template", o.chat_template);
}

llama_config config_of(const model_shape& p, const make_model_options& o) {
  llama_config c;
  static_cast<model_shape&>(c) = p;
  c.architecture = "llama";
  c.n_blocks = o.blocks > 0 ? o.blocks : p.n_blocks;
  c.n_rot = c.head_dim();
  return c;
}

// Shapes of make-model's own, for tests and benchmarks: (name, llama, vocab, ctx, embd, ff,
// heads, kv heads, blocks).
const std::vector<model_shape>& own_presets() {
  static const std::vector<model_shape> presets = {
      {"tiny", "llama", 512, 512, 64, 172, 8, 4, 5},
      // Llama-2-7B's hidden size (4096) with a small vocabulary and FFN: the per-hop cost of
      // `llamps bench-cluster` (hidden states of 7B width) without 7B's memory.
      {"hop-4096", "llama", 512, 512, 4096, 1024, 32, 32, 3},
  };
  return presets;
}

} // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const model_shape& p : own_presets())
    names.push_back(p.name);
  for (const catalog::entry& e : catalog::all())
    if (e.architecture == "llama")
      names.push_back(e.name);
  return names;
}

model_shape find_preset(const std::string& name) {
  for (const model_shape& p : own_presets())
    if (p.name == name)
      return p;
  if (auto e = catalog::find(name); e && e->architecture == "llama")
    return *e;
  std::string names;
  for (const std::string& n : preset_names())
    names += (names.empty() ? "" : ", ") + n;
  throw model_error("unknown preset '" + name + "' (available: " + names + ")");
}

void set_weight_type(make_model_options& o, const std::string& name) {
  static const std::pair<const char*, gguf::tensor_type> names[] = {
      {"f32", gguf::tensor_type::f32},   {"q8_0", gguf::tensor_type::q8_0},
      {"q4_0", gguf::tensor_type::q4_0}, {"q4_k", gguf::tensor_type::q4_k},
      {"q6_k", gguf::tensor_type::q6_k}, {"q4_k_m", gguf::tensor_type::q4_k}};
  for (const auto& [n, t] : names)
    if (name == n) {
      o.type = t;
      o.q4_k_m = name == "q4_k_m";
      return;
    }
  throw model_error("unknown weight type '" + name + "' (f32, q8_0, q4_0, q4_k, q6_k or q4_k_m)");
}

uint64_t write_preset_model(const model_shape& p, const std::string& path, const make_model_options& o) {
  if (!quant::can_quantize(o.type))
    throw model_error(std::string("cannot make a model of type ") + gguf::type_name(o.type));
  llama_config c = config_of(p, o);
  std::optional<gguf::file> vocab_file;
  if (!o.vocab_from.empty()) {
    vocab_file = gguf::file::open(o.vocab_from);
    auto tokens = vocab_file->get_string_array("tokenizer.ggml.tokens");
    if (!tokens)
      throw model_error(o.vocab_from + ": no tokenizer.ggml.tokens to take the vocabulary from");
    c.n_vocab = static_cast<int>(tokens->size());
  }
  gguf::writer w;
  set_metadata(w, p, c, o, vocab_file ? &*vocab_file : nullptr);

  struct planned {
    std::string name;
    std::vector<uint64_t> dims;
    bool norm;
    int block;
  };
  std::vector<planned> plan;
  for (const char* head : {"token_embd", "output_norm", "output"})
    if (!(o.tied && head == std::string("output")))
      plan.push_back(
          {std::string(head) + ".weight", head_tensor_dims(c, head), head == std::string("output_norm"), -1});
  for (int b = 0; b < c.n_blocks; ++b)
    for (const tensor_spec& t : block_tensors(c, b))
      plan.push_back({t.name, t.dims, !t.matrix, b});

  // Norms stay F32 (as llama.cpp quantises), and so do tensors whose rows do not fill
  // whole quantisation blocks (tiny's ffn_down has rows of 172; K-quants need 256).
  uint64_t total = 0, done = 0;
  std::vector<gguf::tensor_type> types;
  for (const auto& t : plan) {
    const gguf::tensor_type type = matrix_type(o, t.name, t.block, c.n_blocks);
    const bool quantisable = !t.norm && t.dims[0] % gguf::block_size(type) == 0;
    types.push_back(quantisable ? type : gguf::tensor_type::f32);
    gguf::tensor_info info{t.name, t.dims, types.back(), 0};
    total += info.n_bytes();
  }
  for (size_t i = 0; i < plan.size(); ++i)
    w.add_tensor(plan[i].name, plan[i].dims, types[i],
                 make_fill(plan[i].name, plan[i].norm, types[i], o.seed, o, done, total));
  w.write(path);
  return gguf::file::open(path).file_size();
}

} // namespace llamps
