// The model families against llama.cpp: random-weight Llama 3 (rope base 500000 and the
// rope_freqs factors), Qwen2 (Q/K/V biases, NEOX rotation; untied and tied) and Phi-3 (fused
// QKV and gate/up, queries scaled before the scores) from ../shared/models/families/models,
// each with llama.cpp's greedy ids and its logits at every position (README there).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "model/text/generator.hpp"

using namespace llamps;

namespace {

const std::string families = std::string(LLAMPS_SHARED_MODELS) + "/families/models/";

struct reference {
  std::vector<int32_t> ids;  // BOS, prompt, generated: 49 ids for 48 positions
  std::vector<float> logits; // 48 rows of n_vocab: row p after feeding ids[0..p]
};

reference load_reference(const std::string& model) {
  reference r;
  std::ifstream json_in(families + model + ".greedy.json");
  REQUIRE(json_in);
  r.ids = nlohmann::json::parse(json_in).at("ids").get<std::vector<int32_t>>();
  std::ifstream logits_in(families + model + ".logits.f32", std::ios::binary);
  REQUIRE(logits_in);
  std::vector<char> bytes{std::istreambuf_iterator<char>(logits_in), std::istreambuf_iterator<char>()};
  r.logits.resize(bytes.size() / sizeof(float));
  std::memcpy(r.logits.data(), bytes.data(), r.logits.size() * sizeof(float));
  return r;
}

const char* const models[] = {"llama3-rope500k-s5", "llama3-rope500k-sharpqk-s3", "qwen2-bias-s1",
                              "qwen2-bias-tied-s5", "phi3-fused-s2"};

// The worst |ours - llama.cpp's| over every logit of rows [0, n), teacher-forced on the
// reference ids through `stack` (a prefill of all rows at once, or one token per call).
float worst_logit_error(const gguf::file& file, const llama_config& cfg, block_stack& stack,
                        const reference& ref, bool prefill) {
  model_head head(file, cfg);
  const int64_t n = int64_t(ref.logits.size()) / cfg.n_vocab;
  std::vector<int32_t> tokens(ref.ids.begin(), ref.ids.begin() + n);
  std::vector<std::vector<float>> hidden;
  if (prefill) {
    tensor_data h = stack.forward(1, 0, head.embed(tokens));
    for (int64_t p = 0; p < n; ++p)
      hidden.emplace_back(h.values.begin() + p * cfg.n_embd, h.values.begin() + (p + 1) * cfg.n_embd);
  } else {
    for (int64_t p = 0; p < n; ++p)
      hidden.push_back(stack.forward(2, int32_t(p), head.embed({tokens[size_t(p)]})).values);
  }
  float worst = 0;
  for (int64_t p = 0; p < n; ++p) {
    const std::vector<float> ours = head.logits(hidden[size_t(p)].data());
    for (int v = 0; v < cfg.n_vocab; ++v)
      worst = std::max(worst, std::abs(ours[size_t(v)] - ref.logits[size_t(p * cfg.n_vocab + v)]));
  }
  return worst;
}

} // namespace

TEST_CASE("each family's greedy ids are llama.cpp's", "[arch]") {
  for (const char* model : models) {
    INFO(model);
    const reference ref = load_reference(model);
    generator gen(families + model + ".gguf", kv_type::f32); // llama.cpp's references use an F32 cache
    generation_request req;
    req.prompt = "One day, Tom";
    req.steps = int(ref.ids.size()) - 1;
    req.sampling.temperature = 0;
    req.stop_at_eos = false;
    CHECK(gen.generate(req).ids == ref.ids);
  }
}

TEST_CASE("each family's logits at every position are llama.cpp's", "[arch]") {
  // llama.cpp and an independent float64 forward pass agree to 1.6e-6 on these files; the
  // features each file tests move the logits by 4.6e-4 or more (README, "Sensitivity").
  for (const char* model : models) {
    INFO(model);
    const reference ref = load_reference(model);
    const auto file = gguf::file::open(families + model + ".gguf");
    const llama_config cfg = read_llama_config(file);
    block_stack stack(file, cfg, 0, cfg.n_blocks, 0, kv_type::f32);
    CHECK(worst_logit_error(file, cfg, stack, ref, /*prefill=*/true) < 2e-5f);
    CHECK(worst_logit_error(file, cfg, stack, ref, /*prefill=*/false) < 2e-5f);
  }
}

TEST_CASE("the families' configurations are read from their own keys", "[arch]") {
  auto config = [](const char* model) {
    return read_llama_config(gguf::file::open(families + model + ".gguf"));
  };
  const llama_config llama3 = config("llama3-rope500k-s5");
  CHECK(llama3.architecture == "llama");
  CHECK(llama3.rope_base == 500000.f);
  CHECK(llama3.rope_freqs);
  CHECK(llama3.rope == rope_pairs::adjacent);
  const llama_config qwen2 = config("qwen2-bias-tied-s5");
  CHECK(qwen2.architecture == "qwen2");
  CHECK(qwen2.qkv_bias);
  CHECK(qwen2.rope == rope_pairs::halves);
  CHECK(qwen2.rms_eps == 1e-6f);
  const llama_config phi3 = config("phi3-fused-s2");
  CHECK(phi3.architecture == "phi3");
  CHECK(phi3.fused_qkv);
  CHECK(phi3.fused_gate_up);
  CHECK(phi3.n_swa == 2047);
  CHECK((phi3.n_head == 4 && phi3.n_head_kv == 2 && phi3.n_blocks == 2));
}

TEST_CASE("split block ranges chain to the whole model for each family", "[arch]") {
  for (const char* model : models) {
    INFO(model);
    const auto file = gguf::file::open(families + model + ".gguf");
    const llama_config cfg = read_llama_config(file);
    model_head head(file, cfg);
    block_stack whole(file, cfg, 0, 2), first(file, cfg, 0, 1), second(file, cfg, 1, 2);
    const tensor_data x = head.embed({1, 385, 328, 432, 274, 287});
    const tensor_data a = whole.forward(7, 0, x);
    const tensor_data b = second.forward(7, 0, first.forward(7, 0, x));
    CHECK(a.values == b.values);
  }
}

TEST_CASE("a sliding window hides keys more than n_swa positions back", "[arch]") {
  // RoPE makes a score depend only on how far apart a query and a key are. So with a window
  // of w, one block's output at position p depends only on the last w tokens: the same tokens
  // shifted to earlier positions give the same output (up to the rounding of the angles),
  // while without the window the earlier tokens change it.
  const auto file = gguf::file::open(families + "phi3-fused-s2.gguf");
  llama_config cfg = read_llama_config(file);
  model_head head(file, cfg);
  const std::vector<int32_t> tokens = {1, 385, 328, 432, 274, 287, 300, 301, 302, 303, 304, 305};
  const std::vector<int32_t> last_four(tokens.end() - 4, tokens.end());
  auto last_row = [&](block_stack& s, session_id id, const std::vector<int32_t>& t) {
    tensor_data h = s.forward(id, 0, head.embed(t));
    return std::vector<float>(h.values.end() - cfg.n_embd, h.values.end());
  };
  auto worst = [](const std::vector<float>& a, const std::vector<float>& b) {
    float d = 0;
    for (size_t i = 0; i < a.size(); ++i)
      d = std::max(d, std::abs(a[i] - b[i]));
    return d;
  };
  block_stack full(file, cfg, 0, 1, 0, kv_type::f32);
  cfg.n_swa = 4;
  block_stack windowed(file, cfg, 0, 1, 0, kv_type::f32);
  CHECK(worst(last_row(windowed, 1, tokens), last_row(windowed, 2, last_four)) < 1e-5f);
  CHECK(worst(last_row(full, 1, tokens), last_row(full, 2, last_four)) > 1e-3f);
}
