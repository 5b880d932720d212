// Transformer blocks [first, last) with per-session KV caches: the forward pass of llama2.c's
// run.c. The matrix products run on the weights in their file types (kernels::linear, the
// kernels of model/quant/ for every type, F32 included); the per-row work (norms, RoPE,
// softmax, SwiGLU) is plain loops over row_matrix buffers.
#include "model/decoder/block_stack.hpp"

#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "model/decoder/kernels.hpp"
#include "model/quant/dot.hpp"
#include "model/quant/thread_team.hpp"

namespace llamps {

namespace {

// One block's weights in their file types ([out, in] row-major, mapped from the file) and its
// norms and biases in F32. Q, K, V write side by side into one row of qkv, gate and up into
// one row of gate_up: a fused file (Phi-3) has one matrix for each row, a split one (Llama,
// Qwen2) several whose types may differ (llama-quantize's mixes give attn_v more bits).
struct block_weights {
  std::vector<float> attn_norm;          // [n_embd]
  std::vector<quant::weight_matrix> qkv; // attn_qkv, or attn_q, attn_k, attn_v
  std::vector<float> qkv_bias;           // [n_embd + 2 kv_dim], or empty
  quant::weight_matrix wo;
  std::vector<float> ffn_norm;               // [n_embd]
  std::vector<quant::weight_matrix> gate_up; // ffn_up (gate and up), or ffn_gate, ffn_up
  quant::weight_matrix wdown;
};

// A session's K and V for all local blocks in one allocation: [blocks, 2, n_head_kv, capacity,
// head_dim]. Each head's keys are contiguous, so attention reads them as one matrix.
struct session_cache {
  std::unique_ptr<uint8_t[]> kv; // values of the cache's type (F16 as raw half-precision bits)
  int32_t capacity = 0;          // tokens it has room for
  int32_t length = 0;            // tokens cached
};

// Rows [row, row + n) of the batch belong to one session at positions pos..pos+n-1.
struct segment {
  session_cache* cache;
  int32_t pos;
  int64_t row;
  int32_t n;
};

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

} // namespace

struct block_stack::impl {
  llama_config cfg;
  kv_type kv = kv_type::f16;
  int first = 0, last = 0;
  uint64_t budget = 0;
  uint64_t kv_in_use = 0;
  uint64_t weight_bytes = 0;
  std::vector<block_weights> blocks;
  std::vector<float> rope_cos, rope_sin;  // [n_ctx, n_rot / 2]
  float query_scale = 1, score_scale = 1; // 1/sqrt(head_dim) on one of them (cfg.scale_queries)
  std::unordered_map<session_id, session_cache> sessions;
  bool profiling = false;
  forward_profile prof;

  // Adds the seconds since `start` to one phase of the profile (when profiling).
  void charge(double forward_profile::*phase, double start) {
    if (profiling)
      prof.*phase += now() - start;
  }
  double tick() const { return profiling ? now() : 0; }

  void load(const gguf::file& f) {
    for (int b = first; b < last; ++b) {
      // The tensors come in block_tensors' order, each kind where this configuration has it.
      std::map<std::string, tensor_spec> spec;
      const std::string blk = "blk." + std::to_string(b) + ".";
      for (tensor_spec& t : block_tensors(cfg, b))
        spec[t.name.substr(blk.size())] = std::move(t);
      auto has = [&](const char* kind) { return spec.count(kind) > 0; };
      auto matrix = [&](const char* kind) {
        quant::weight_matrix m = quant::map_matrix(f, spec.at(kind).name, spec.at(kind).dims);
        weight_bytes += m.bytes();
        return m;
      };
      auto vector = [&](const char* kind) {
        std::vector<float> v = kernels::load_vector(f, spec.at(kind).name, spec.at(kind).dims);
        weight_bytes += uint64_t(v.size()) * sizeof(float);
        return v;
      };
      block_weights w;
      w.attn_norm = vector("attn_norm.weight");
      if (has("attn_qkv.weight"))
        w.qkv.push_back(matrix("attn_qkv.weight"));
      else
        for (const char* kind : {"attn_q.weight", "attn_k.weight", "attn_v.weight"})
          w.qkv.push_back(matrix(kind));
      if (has("attn_q.bias"))
        for (const char* kind : {"attn_q.bias", "attn_k.bias", "attn_v.bias"}) {
          std::vector<float> bias = vector(kind);
          w.qkv_bias.insert(w.qkv_bias.end(), bias.begin(), bias.end());
        }
      w.wo = matrix("attn_output.weight");
      w.ffn_norm = vector("ffn_norm.weight");
      if (has("ffn_gate.weight"))
        w.gate_up.push_back(matrix("ffn_gate.weight"));
      w.gate_up.push_back(matrix("ffn_up.weight"));
      w.wdown = matrix("ffn_down.weight");
      blocks.push_back(std::move(w));
    }
    const float scale = 1.f / std::sqrt(float(cfg.head_dim()));
    (cfg.scale_queries ? query_scale : score_scale) = scale;
    load_rope(f);
  }

  // RoPE angles as llama.cpp computes them: theta_i = pos * base^(-2i / n_rot), the powers by
  // repeated multiplication in float (its rope cache), so the angles agree to the bit; with
  // rope_freqs.weight (Llama 3.1) pair i turns at theta_i / factor_i.
  void load_rope(const gguf::file& f) {
    const int half = cfg.n_rot / 2;
    std::vector<float> factor(size_t(half), 1.f);
    for (const tensor_spec& t : shared_block_tensors(cfg)) {
      factor = kernels::load_vector(f, t.name, t.dims);
      weight_bytes += uint64_t(half) * sizeof(float);
    }
    rope_cos.resize(size_t(cfg.n_ctx) * half);
    rope_sin.resize(size_t(cfg.n_ctx) * half);
    float* c = rope_cos.data();
    float* s = rope_sin.data();
    const float theta_scale = std::pow(cfg.rope_base, -2.0f / float(cfg.n_rot));
    for (int p = 0; p < cfg.n_ctx; ++p) {
      float theta = float(p);
      for (int i = 0; i < half; ++i, theta *= theta_scale) {
        c[p * half + i] = std::cos(theta / factor[size_t(i)]);
        s[p * half + i] = std::sin(theta / factor[size_t(i)]);
      }
    }
  }

  // Checks one request and returns the session's cache, creating it for a session that starts
  // at position 0. Nothing is changed when it throws.
  session_cache& admit(session_id s, int32_t pos, int64_t n, int64_t width) {
    const std::string who = "session " + std::to_string(s);
    if (width != cfg.n_embd)
      throw model_error(who + ": hidden states are " + std::to_string(width) +
                        " wide, the model's embedding is " + std::to_string(cfg.n_embd));
    if (n < 1)
      throw model_error(who + ": no tokens to run");
    if (pos < 0 || pos + n > cfg.n_ctx)
      throw model_error(who + ": positions " + std::to_string(pos) + ".." + std::to_string(pos + n - 1) +
                        " are outside the context of " + std::to_string(cfg.n_ctx));
    auto it = sessions.find(s);
    int32_t cached = it == sessions.end() ? 0 : it->second.length;
    if (it == sessions.end() && pos > 0)
      throw model_error(who + " has no cache on blocks [" + std::to_string(first) + ", " +
                        std::to_string(last) + "): it must start at position 0, not " + std::to_string(pos));
    if (pos > cached)
      throw model_error(who + " has " + std::to_string(cached) + " tokens cached: cannot run from position " +
                        std::to_string(pos));
    reserve(s, it == sessions.end() ? nullptr : &it->second, int32_t(pos + n));
    return sessions[s];
  }

  // Makes room for `needed` tokens, growing the capacity geometrically so a decode step
  // rarely copies the cache, and within the budget.
  void reserve(session_id s, session_cache* c, int32_t needed) {
    int32_t cap = c ? c->capacity : 0;
    if (needed <= cap)
      return;
    const uint64_t old_bytes = c ? cache_bytes(*c) : 0;
    const uint64_t per_token = kv_bytes_per_token();
    auto fits = [&](int32_t tokens) {
      return budget == 0 || kv_in_use - old_bytes + per_token * tokens <= budget;
    };
    int32_t want = std::min(cfg.n_ctx, std::max({needed, 2 * cap, 16}));
    if (!fits(want))
      want = needed; // no headroom left: take exactly what this step needs
    if (!fits(want))
      throw model_error("KV budget exhausted: session " + std::to_string(s) + " needs " +
                        std::to_string(per_token * needed - old_bytes) + " more bytes for " +
                        std::to_string(needed) + " tokens; " + std::to_string(kv_in_use) + " of " +
                        std::to_string(budget) + " bytes in use");
    // [blocks, 2, n_head_kv, capacity, head_dim]: the cached tokens of each (block, K or V,
    // head) move to the start of the same head's part of the larger cache.
    const size_t heads = blocks.size() * 2 * size_t(cfg.n_head_kv);
    auto grown = std::make_unique<uint8_t[]>(size_t(per_token) * size_t(want));
    if (c && c->length > 0)
      for (size_t i = 0; i < heads; ++i)
        std::memcpy(grown.get() + i * head_bytes(want), c->kv.get() + i * head_bytes(cap),
                    head_bytes(c->length));
    session_cache& dst = sessions[s];
    dst.kv = std::move(grown);
    dst.capacity = want;
    kv_in_use += cache_bytes(dst) - old_bytes;
  }

  // K and V of one token in every local block: the one formula of kv_type.hpp.
  uint64_t kv_bytes_per_token() const {
    return uint64_t(blocks.size()) * kv_bytes_per_token_per_block(cfg.kv_dim(), kv);
  }
  uint64_t cache_bytes(const session_cache& c) const { return kv_bytes_per_token() * uint64_t(c.capacity); }
  // One head's keys (or values) in one block, for `tokens` tokens.
  size_t head_bytes(int32_t tokens) const {
    return size_t(tokens) * size_t(cfg.head_dim()) * kv_value_bytes(kv);
  }

  // The cache's [n_head_kv, capacity, head_dim] keys (which = 0) or values (1) of local block blk.
  uint8_t* cache_plane(const session_cache& c, int blk, int which) const {
    return c.kv.get() + (size_t(blk) * 2 + size_t(which)) * size_t(cfg.n_head_kv) * head_bytes(c.capacity);
  }

  // Applies RoPE to the Q and K heads of the segment's rows of qkv and stores K and V in the
  // cache at their positions; the rotated queries go to q as [n_head_kv, n, group, head_dim]
  // so that all query heads sharing a KV head form one matrix for the score product.
  void rope_and_store(const segment& sg, int blk, const kernels::row_matrix& qkv, kernels::row_matrix& q) {
    const int H = cfg.n_head_kv, D = cfg.head_dim(), G = cfg.n_head / H, R = cfg.n_rot / 2;
    const int64_t cap = sg.cache->capacity;
    const float* in = qkv.row(sg.row);
    float* qo = q.data();
    // Pair i is (2i, 2i+1) or (i, i + R), as cfg.rope says.
    const int stride = cfg.rope == rope_pairs::adjacent ? 2 : 1,
              other = cfg.rope == rope_pairs::adjacent ? 1 : R;
    auto rotate = [&](const float* x, float* out, int32_t p, float scale) {
      const float* c = rope_cos.data() + int64_t(p) * R;
      const float* s = rope_sin.data() + int64_t(p) * R;
      for (int i = 0; i < R; ++i) {
        const int a = i * stride, b = a + other;
        float x0 = x[a], x1 = x[b];
        out[a] = x0 * c[i] - x1 * s[i];
        out[b] = x0 * s[i] + x1 * c[i];
      }
      std::copy(x + 2 * R, x + D, out + 2 * R); // dims past n_rot are not rotated
      if (scale != 1.f)
        for (int d = 0; d < D; ++d)
          out[d] *= scale;
    };
    // K and V go to the cache in its type (F16: rounded to nearest even, as llama.cpp's copy).
    std::vector<float> key(static_cast<size_t>(D));
    auto store = [&](int which, int64_t at, const float* x) {
      uint8_t* plane = cache_plane(*sg.cache, blk, which);
      if (kv == kv_type::f32) {
        std::copy(x, x + D, reinterpret_cast<float*>(plane) + at);
        return;
      }
      auto* out = reinterpret_cast<uint16_t*>(plane) + at;
      for (int d = 0; d < D; ++d)
        out[d] = gguf::f32_to_fp16(x[d]);
    };
    for (int32_t t = 0; t < sg.n; ++t, in += qkv.cols) {
      const int32_t p = sg.pos + t;
      for (int h = 0; h < H; ++h) {
        for (int g = 0; g < G; ++g)
          rotate(in + (h * G + g) * D, qo + ((int64_t(h) * sg.n + t) * G + g) * D, p, query_scale);
        rotate(in + cfg.n_embd + h * D, key.data(), p, 1.f);
        store(0, (h * cap + p) * D, key.data());
        store(1, (h * cap + p) * D, in + cfg.n_embd + cfg.kv_dim() + h * D);
      }
    }
  }

  // Attention of one segment against its session's cache (as llama2.c): for every query row,
  // scores over the visible keys 0..pos+t, softmax, weighted sum of the values, written to the
  // segment's rows of attn. The sums are taken in llama.cpp's order (quant::find_dot,
  // find_weighted_sum; the softmax's eights in float, their total in double), so that a
  // quantised model's activations round as llama.cpp's do. Plain loops otherwise: a decode
  // row's attention is a few thousand multiply-adds, far less than the dispatch of batched
  // matrix products costs; long prompts spread the rows over the threads.
  void attention(const segment& sg, int blk, const kernels::row_matrix& qkv, kernels::row_matrix& attn) {
    const int64_t H = cfg.n_head_kv, D = cfg.head_dim(), G = cfg.n_head / H, T = sg.pos + sg.n;
    const int64_t cap = sg.cache->capacity, rows = H * sg.n * G;
    kernels::row_matrix q(rows, D); // [H, n * G, D]
    rope_and_store(sg, blk, qkv, q);
    const float* qp = q.data();
    const bool half = kv == kv_type::f16;
    const size_t value_bytes = kv_value_bytes(kv);
    const uint8_t* keys = cache_plane(*sg.cache, blk, 0);   // [H, cap, D]
    const uint8_t* values = cache_plane(*sg.cache, blk, 1); // [H, cap, D]
    float* out = attn.data();
    const float scale = score_scale;
    // Keys more than n_swa positions back are masked out (sliding-window attention); they
    // still take their place in the sums, as llama.cpp's -inf mask does.
    const int64_t window = cfg.n_swa > 0 ? cfg.n_swa : std::numeric_limits<int64_t>::max();
    // An F16 cache takes the queries and the attention weights in half precision too, as
    // llama.cpp's products with an F16 cache do.
    const quant::isa isa = quant::active_isa();
    const quant::dot_fn dot = quant::find_dot(half ? gguf::tensor_type::f16 : gguf::tensor_type::f32, isa);
    const quant::weighted_sum_fn weighted_sum = quant::find_weighted_sum(isa);
    const quant::weighted_sum_f16_fn weighted_sum_f16 = quant::find_weighted_sum_f16(isa);
    // A team is forked only for rows worth ~256K multiply-adds: a decode step's 32 rows (a few
    // thousand each) cost less than waking the other thread.
    const int64_t grain = std::max<int64_t>(1, 262144 / (T * D));
    quant::parallel_for(rows, grain, [&](int64_t begin, int64_t end) {
      std::vector<float> score(static_cast<size_t>(T) + 8);
      std::vector<uint8_t> rounded(half ? size_t(D) * 4 : 0);
      for (int64_t r = begin; r < end; ++r) {
        const int64_t h = r / (sg.n * G), t = (r % (sg.n * G)) / G, g = r % G;
        const int64_t visible = sg.pos + t + 1;
        // The query as the cache's dot product takes it: rounded to half precision for F16.
        const auto* query = reinterpret_cast<const uint8_t*>(qp + r * D);
        if (half) {
          quant::quantize_activation(quant::act_format::f16, qp + r * D, rounded.data(), D);
          query = rounded.data();
        }
        const uint8_t* k = keys + size_t(h * cap * D) * value_bytes;
        float mx = -INFINITY;
        const int64_t oldest = std::max<int64_t>(0, visible - window);
        std::fill(score.begin(), score.begin() + oldest, -INFINITY);
        for (int64_t j = oldest; j < visible; ++j) {
          score[size_t(j)] = dot(k + size_t(j * D) * value_bytes, query, D) * scale;
          mx = std::max(mx, score[size_t(j)]);
        }
        std::fill(score.begin() + visible, score.begin() + ((visible + 7) & ~7), 0.f);
        double sum = 0.;
        for (int64_t j = 0; j < visible; j += 8) {
          float* e = score.data() + j;
          for (int64_t i = j; i < std::min(visible, j + 8); ++i)
            score[size_t(i)] = std::exp(score[size_t(i)] - mx);
          sum += double(((e[0] + e[4]) + (e[2] + e[6])) + ((e[1] + e[5]) + (e[3] + e[7])));
        }
        const float inverse = float(1.0 / sum);
        for (int64_t j = 0; j < visible; ++j)
          score[size_t(j)] *= inverse;
        float* o = out + (sg.row + t) * cfg.n_embd + (h * G + g) * D;
        const uint8_t* v = values + size_t(h * cap * D) * value_bytes;
        if (half)
          weighted_sum_f16(score.data(), reinterpret_cast<const uint16_t*>(v), visible, D, D, o);
        else
          weighted_sum(score.data(), reinterpret_cast<const float*>(v), visible, D, D, o);
      }
    });
  }

  // The blocks over a batch of rows x [rows, n_embd] (updated in place), each segment of rows
  // attending within its own session.
  void run(kernels::row_matrix& x, const std::vector<segment>& segs) {
    const int64_t rows = x.rows;
    const quant::row_kind kind = segs.size() == 1 ? quant::row_kind::positions : quant::row_kind::sessions;
    kernels::row_matrix xb(rows, x.cols), attn(rows, x.cols);
    kernels::row_matrix qkv(rows, cfg.n_embd + 2 * cfg.kv_dim());
    kernels::row_matrix gate_up(rows, 2 * cfg.n_ff), h(rows, cfg.n_ff);
    for (size_t b = 0; b < blocks.size(); ++b) {
      const block_weights& w = blocks[b];
      double t0 = tick();
      kernels::rmsnorm(xb, x, w.attn_norm, cfg.rms_eps);
      charge(&forward_profile::other_seconds, t0);
      t0 = tick();
      linear_side_by_side(qkv, xb, w.qkv, kind);
      if (!w.qkv_bias.empty())
        add_row_vector(qkv, w.qkv_bias);
      charge(&forward_profile::matmul_seconds, t0);
      t0 = tick();
      for (const segment& sg : segs)
        attention(sg, int(b), qkv, attn);
      charge(&forward_profile::attention_seconds, t0);
      t0 = tick();
      kernels::linear(x, 0, attn, w.wo, /*accumulate=*/true, kind); // residual
      charge(&forward_profile::matmul_seconds, t0);
      t0 = tick();
      kernels::rmsnorm(xb, x, w.ffn_norm, cfg.rms_eps);
      charge(&forward_profile::other_seconds, t0);
      t0 = tick();
      linear_side_by_side(gate_up, xb, w.gate_up, kind);
      charge(&forward_profile::matmul_seconds, t0);
      t0 = tick();
      swiglu(h, gate_up);
      charge(&forward_profile::other_seconds, t0);
      t0 = tick();
      kernels::linear(x, 0, h, w.wdown, /*accumulate=*/true, kind); // residual
      charge(&forward_profile::matmul_seconds, t0);
    }
    for (const segment& sg : segs)
      sg.cache->length = sg.pos + sg.n;
  }

  // y = x·Wᵀ for matrices whose outputs lie side by side in each row of y.
  static void linear_side_by_side(kernels::row_matrix& y, const kernels::row_matrix& x,
                                  const std::vector<quant::weight_matrix>& ms, quant::row_kind kind) {
    int64_t col = 0;
    for (const quant::weight_matrix& m : ms) {
      kernels::linear(y, col, x, m, false, kind);
      col += m.rows;
    }
  }

  // Adds bias to every row of y.
  static void add_row_vector(kernels::row_matrix& y, const std::vector<float>& bias) {
    for (int64_t r = 0; r < y.rows; ++r) {
      float* out = y.row(r);
      for (int64_t i = 0; i < y.cols; ++i)
        out[i] += bias[size_t(i)];
    }
  }

  // h = silu(gate) * up, with gate and up side by side in each row of gate_up.
  void swiglu(kernels::row_matrix& h, const kernels::row_matrix& gate_up) {
    const int64_t rows = h.rows, ff = h.cols;
    const float* gu = gate_up.data();
    float* out = h.data();
    quant::parallel_for(rows, std::max<int64_t>(1, 16384 / ff), [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r)
        for (int64_t i = 0; i < ff; ++i) {
          float g = gu[r * 2 * ff + i];
          out[r * ff + i] = g / (1.f + std::exp(-g)) * gu[r * 2 * ff + ff + i];
        }
    });
  }
};

block_stack::block_stack(const gguf::file& f, const llama_config& cfg, int first, int last,
                         uint64_t kv_budget_bytes, kv_type kv)
    : impl_(std::make_unique<impl>()) {
  if (first < 0 || last > cfg.n_blocks || first >= last)
    throw model_error(f.path() + ": blocks [" + std::to_string(first) + ", " + std::to_string(last) +
                      ") are not within the model's " + std::to_string(cfg.n_blocks) + " blocks");
  impl_->cfg = cfg;
  impl_->first = first;
  impl_->last = last;
  impl_->budget = kv_budget_bytes;
  impl_->kv = kv;
  impl_->load(f);
}

block_stack::block_stack(block_stack&&) noexcept = default;
block_stack& block_stack::operator=(block_stack&&) noexcept = default;
block_stack::~block_stack() = default;

int block_stack::first() const { return impl_->first; }
int block_stack::last() const { return impl_->last; }
const llama_config& block_stack::config() const { return impl_->cfg; }
kv_type block_stack::kv() const { return impl_->kv; }

tensor_data block_stack::forward(session_id s, int32_t pos, const tensor_data& hidden) {
  const int64_t n = hidden.shape.size() == 2 ? hidden.rows() : 0;
  const int64_t width = hidden.shape.size() == 2 ? hidden.cols() : int64_t(hidden.values.size());
  if (uint64_t(n * width) != hidden.values.size())
    throw model_error("session " + std::to_string(s) + ": hidden states of shape {" + std::to_string(n) +
                      ", " + std::to_string(width) + "} but " + std::to_string(hidden.values.size()) +
                      " values");
  session_cache& c = impl_->admit(s, pos, n, width);
  // x is our own copy: the residual stream is updated in place.
  kernels::row_matrix x(n, width);
  std::copy(hidden.values.begin(), hidden.values.end(), x.data());
  impl_->run(x, {segment{&c, pos, 0, int32_t(n)}});
  tensor_data out;
  out.shape = {n, width};
  out.values.assign(x.data(), x.data() + x.size());
  return out;
}

std::vector<std::vector<float>> block_stack::forward_batch(const std::vector<decode_step>& steps) {
  if (steps.empty())
    return {};
  const int64_t width = impl_->cfg.n_embd;
  std::unordered_set<session_id> seen;
  for (const decode_step& st : steps)
    if (!seen.insert(st.session).second)
      throw model_error("session " + std::to_string(st.session) + " appears twice in one batch");
  // Admit every step first (creating caches may rehash the map), then take the pointers.
  for (const decode_step& st : steps)
    impl_->admit(st.session, st.pos, 1, int64_t(st.hidden.size()));
  kernels::row_matrix x(int64_t(steps.size()), width);
  std::vector<segment> segs;
  for (size_t i = 0; i < steps.size(); ++i) {
    std::copy(steps[i].hidden.begin(), steps[i].hidden.end(), x.row(int64_t(i)));
    segs.push_back(segment{&impl_->sessions.at(steps[i].session), steps[i].pos, int64_t(i), 1});
  }
  impl_->run(x, segs);
  std::vector<std::vector<float>> out(steps.size());
  for (size_t i = 0; i < steps.size(); ++i)
    out[i].assign(x.row(int64_t(i)), x.row(int64_t(i)) + width);
  return out;
}

void block_stack::drop(session_id s) {
  auto it = impl_->sessions.find(s);
  if (it == impl_->sessions.end())
    return;
  impl_->kv_in_use -= impl_->cache_bytes(it->second);
  impl_->sessions.erase(it);
}

bool block_stack::has(session_id s) const { return impl_->sessions.count(s) > 0; }

int32_t block_stack::cached_tokens(session_id s) const {
  auto it = impl_->sessions.find(s);
  return it == impl_->sessions.end() ? 0 : it->second.length;
}

std::vector<session_id> block_stack::sessions() const {
  std::vector<session_id> out;
  for (const auto& [id, c] : impl_->sessions)
    out.push_back(id);
  return out;
}

uint64_t block_stack::kv_bytes() const { return impl_->kv_in_use; }
uint64_t block_stack::kv_budget_bytes() const { return impl_->budget; }
uint64_t block_stack::weight_bytes() const { return impl_->weight_bytes; }

void block_stack::set_profiling(bool on) {
  impl_->profiling = on;
  impl_->prof = {};
}
forward_profile block_stack::profile() const { return impl_->prof; }

void set_compute_threads(int n) {
  if (n <= 0)
    n = int(std::max(1u, std::thread::hardware_concurrency()));
  quant::set_threads(n);
}

} // namespace llamps
