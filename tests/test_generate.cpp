// The decoder's compute: the oracle ids through the generator, prefill vs one token at a time,
// batched vs unbatched, rewind, KV budget and accounting, and split stacks chained.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

#include "model/text/generator.hpp"

using namespace llamps;

namespace {

const std::string model_path = std::string(LLAMPS_SHARED_MODELS) + "/stories260K.gguf";

// The oracle's id lines from the shared README, in order (no prompt, then "One day, Tom").
std::vector<std::vector<int32_t>> oracle_ids() {
  std::ifstream in(std::string(LLAMPS_SHARED_MODELS) + "/README.md");
  std::vector<std::vector<int32_t>> out;
  std::string line;
  const std::regex ids_line("^    1( [0-9]+)+$");
  while (std::getline(in, line))
    if (std::regex_match(line, ids_line)) {
      std::istringstream s(line);
      out.emplace_back(std::istream_iterator<int32_t>(s), std::istream_iterator<int32_t>());
    }
  return out;
}

generation_request greedy(const std::string& prompt, int steps) {
  generation_request r;
  r.prompt = prompt;
  r.steps = steps;
  r.sampling.temperature = 0;
  return r;
}

// The model's file, config and head, and the greedy logits step over a stack.
struct fixture {
  gguf::file file = gguf::file::open(model_path);
  llama_config cfg = read_llama_config(file);
  model_head head{file, cfg};
  tokenizer tok = tokenizer::from_gguf(file);
};

int32_t argmax(const std::vector<float>& v) {
  return int32_t(std::max_element(v.begin(), v.end()) - v.begin());
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float d = 0;
  for (size_t i = 0; i < a.size(); ++i)
    d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

std::vector<float> row(const tensor_data& t, int64_t r) {
  return {t.values.begin() + r * t.cols(), t.values.begin() + (r + 1) * t.cols()};
}

// Greedy ids of `n` tokens after `prompt`, feeding one token per forward call.
std::vector<int32_t> one_at_a_time(fixture& fx, block_stack& stack, session_id s, std::vector<int32_t> ids,
                                   int n) {
  std::vector<float> logits;
  for (size_t p = 0; p < ids.size(); ++p) {
    tensor_data h = stack.forward(s, int32_t(p), fx.head.embed({ids[p]}));
    logits = fx.head.logits(h.values.data());
  }
  for (int k = 0; k < n; ++k) {
    ids.push_back(argmax(logits));
    tensor_data h = stack.forward(s, int32_t(ids.size() - 1), fx.head.embed({ids.back()}));
    logits = fx.head.logits(h.values.data());
  }
  return ids;
}

} // namespace

TEST_CASE("generator reproduces the oracle's greedy ids", "[generate]") {
  auto oracle = oracle_ids();
  REQUIRE(oracle.size() == 2);
  set_compute_threads(2);
  generator gen(model_path);
  std::string text;
  auto none = gen.generate(greedy("", 40), [&](int32_t, const std::string& p) { text += p; });
  CHECK(none.ids == oracle[0]);
  CHECK(text.rfind("Once upon a time, there was a little girl named Lily.", 0) == 0);
  auto tom = gen.generate(greedy("One day, Tom", 48));
  CHECK(tom.ids == oracle[1]);
  CHECK(tom.prompt_tokens == 6);
}

TEST_CASE("a prompt longer than the context is refused", "[generate]") {
  generator gen(model_path);
  std::string prompt;
  for (int i = 0; i < 1200; ++i)
    prompt += "Once upon a time ";
  CHECK_THROWS_AS(gen.generate(greedy(prompt, 16)), model_error);
}

TEST_CASE("prefill then decode equals one token at a time", "[generate]") {
  fixture fx;
  block_stack stack(fx.file, fx.cfg, 0, fx.cfg.n_blocks);
  for (std::string prompt : {"The little dog", "Lily saw a bird. It was", "Once"}) {
    auto ids = fx.tok.encode(prompt, true);
    auto ref = one_at_a_time(fx, stack, 1, ids, 20);
    // The whole prompt in one forward call, then decode.
    tensor_data h = stack.forward(2, 0, fx.head.embed(ids));
    auto logits = fx.head.logits(h.values.data() + (h.rows() - 1) * h.cols());
    std::vector<int32_t> got = ids;
    for (int k = 0; k < 20; ++k) {
      got.push_back(argmax(logits));
      tensor_data d = stack.forward(2, int32_t(got.size() - 1), fx.head.embed({got.back()}));
      logits = fx.head.logits(d.values.data());
    }
    CHECK(got == ref);
  }
}

TEST_CASE("forward_batch equals forward per session", "[generate]") {
  fixture fx;
  // A batch of a few sessions takes the multi-row dot products, which give each row's
  // one-row sum bit for bit (test_quant): batching changes nothing.
  block_stack batched(fx.file, fx.cfg, 0, fx.cfg.n_blocks);
  block_stack single(fx.file, fx.cfg, 0, fx.cfg.n_blocks);
  const std::vector<std::string> prompts = {"One day", "The cat sat on the", "Tim",
                                            "Lily and Ben went to the park and"};
  const int total = 40; // positions per session
  std::vector<std::vector<int32_t>> ids, ref_ids;
  std::vector<std::vector<float>> next_hidden; // last hidden row of each session (batched)
  for (size_t s = 0; s < prompts.size(); ++s) {
    ids.push_back(fx.tok.encode(prompts[s], true));
    ref_ids.push_back(ids.back());
    tensor_data h = batched.forward(s, 0, fx.head.embed(ids[s]));
    single.forward(s, 0, fx.head.embed(ids[s]));
    next_hidden.push_back(row(h, h.rows() - 1));
  }
  // Interleaved decode: every step batches the sessions that still have positions left, so
  // the batch holds sessions at different positions and shrinks as the shorter ones finish.
  float worst = 0;
  for (bool any = true; any;) {
    any = false;
    std::vector<decode_step> steps;
    for (size_t s = 0; s < prompts.size(); ++s) {
      if (int(ids[s].size()) >= total + int(s) * 3)
        continue;
      ids[s].push_back(argmax(fx.head.logits(next_hidden[s].data())));
      steps.push_back({s, int32_t(ids[s].size() - 1), fx.head.embed({ids[s].back()}).values});
    }
    if (steps.empty())
      break;
    any = true;
    auto out = batched.forward_batch(steps);
    REQUIRE(out.size() == steps.size());
    for (size_t i = 0; i < steps.size(); ++i) {
      tensor_data one =
          single.forward(steps[i].session, steps[i].pos, tensor_data{{1, fx.cfg.n_embd}, steps[i].hidden});
      worst = std::max(worst, max_abs_diff(out[i], one.values));
      next_hidden[steps[i].session] = out[i];
    }
  }
  CHECK(worst == 0.f);
  for (size_t s = 0; s < prompts.size(); ++s) {
    auto ref = one_at_a_time(fx, single, 100 + s, ref_ids[s], int(ids[s].size() - ref_ids[s].size()));
    CHECK(ids[s] == ref);
    CHECK(batched.cached_tokens(s) == int32_t(ids[s].size()));
  }
}

TEST_CASE("rewind and replay give the same output", "[generate]") {
  fixture fx;
  block_stack stack(fx.file, fx.cfg, 0, fx.cfg.n_blocks);
  auto ids = fx.tok.encode("Tom had a red ball", true);
  tensor_data first = stack.forward(7, 0, fx.head.embed(ids));
  stack.forward(7, int32_t(ids.size()), fx.head.embed({300}));
  CHECK(stack.cached_tokens(7) == int32_t(ids.size() + 1));
  // From position 0 again: the cache is rebuilt, the output is the same.
  tensor_data again = stack.forward(7, 0, fx.head.embed(ids));
  CHECK(max_abs_diff(first.values, again.values) == 0.f);
  CHECK(stack.cached_tokens(7) == int32_t(ids.size()));
  // Rewind to the middle: replaying the tail gives the same rows as the first run.
  const int32_t mid = 3;
  std::vector<int32_t> tail(ids.begin() + mid, ids.end());
  tensor_data replay = stack.forward(7, mid, fx.head.embed(tail));
  CHECK(max_abs_diff(replay.values, std::vector<float>(first.values.begin() + mid * first.cols(),
                                                       first.values.end())) < 1e-5f);
}

TEST_CASE("bad requests are model errors", "[generate]") {
  fixture fx;
  block_stack stack(fx.file, fx.cfg, 0, fx.cfg.n_blocks);
  auto h = fx.head.embed({1, 2, 3});
  CHECK_THROWS_AS(stack.forward(1, 5, h), model_error); // unknown session past 0
  stack.forward(1, 0, h);
  CHECK_THROWS_AS(stack.forward(1, 4, fx.head.embed({5})), model_error); // past cached
  CHECK_THROWS_AS(stack.forward(2, 0, fx.head.embed(std::vector<int32_t>(fx.cfg.n_ctx + 1, 5))),
                  model_error); // past the context
  CHECK_THROWS_AS(stack.forward(3, 0, tensor_data{{1, 10}, std::vector<float>(10)}),
                  model_error);                                          // wrong width
  CHECK_THROWS_AS(stack.forward_batch({{1, 3, h.values}}), model_error); // three rows, one step
  CHECK_FALSE(stack.has(2));
  CHECK_FALSE(stack.has(3));
}

TEST_CASE("generation settings out of range are refused with the setting named", "[generate]") {
  auto refused = [](auto change) {
    generation_request req;
    change(req);
    try {
      check_generation(req);
    } catch (const model_error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(refused([](generation_request&) {}) == "accepted");
  CHECK(refused([](generation_request& r) { r.sampling = {0.f, 0.f, 0, 1}; }) == "accepted");
  CHECK(refused([](generation_request& r) { r.sampling.top_p = 1.f; }) == "accepted");
  CHECK(refused([](generation_request& r) { r.steps = 0; }) == "steps must be positive");
  CHECK(refused([](generation_request& r) { r.max_new_tokens = -1; }) ==
        "max_new_tokens must not be negative");
  CHECK(refused([](generation_request& r) { r.sampling.temperature = -0.5f; }) ==
        "temperature must be 0 (greedy) or more, not -0.5");
  CHECK(refused([](generation_request& r) { r.sampling.temperature = std::nanf(""); }) ==
        "temperature must be 0 (greedy) or more, not nan");
  CHECK(refused([](generation_request& r) { r.sampling.temperature = INFINITY; }) ==
        "temperature must be 0 (greedy) or more, not inf");
  CHECK(refused([](generation_request& r) { r.sampling.top_p = 1.5f; }) ==
        "top-p must be between 0 and 1, not 1.5");
  CHECK(refused([](generation_request& r) { r.sampling.top_k = -1; }) ==
        "top-k must be 0 (off) or more, not -1");
}

TEST_CASE("KV budget and accounting", "[generate]") {
  fixture fx;
  const uint64_t per_token = uint64_t(fx.cfg.n_blocks) * 2 * fx.cfg.kv_dim() * kv_value_bytes(kv_type::f16);
  block_stack stack(fx.file, fx.cfg, 0, fx.cfg.n_blocks, per_token * 100, kv_type::f16);
  CHECK(stack.kv_bytes() == 0);
  stack.forward(1, 0, fx.head.embed(std::vector<int32_t>(60, 5)));
  const uint64_t one = stack.kv_bytes();
  CHECK(one >= per_token * 60);
  CHECK(one <= per_token * 100);
  // A second session of 60 tokens does not fit next to the first.
  try {
    stack.forward(2, 0, fx.head.embed(std::vector<int32_t>(60, 5)));
    FAIL("no budget error");
  } catch (const model_error& e) {
    CHECK(std::string(e.what()).rfind("KV budget exhausted: ", 0) == 0);
  }
  CHECK_FALSE(stack.has(2));
  CHECK(stack.kv_bytes() == one);
  stack.drop(1);
  CHECK(stack.kv_bytes() == 0);
  CHECK_FALSE(stack.has(1));
  stack.forward(2, 0, fx.head.embed(std::vector<int32_t>(60, 5)));
  CHECK(stack.kv_bytes() == one);
  CHECK(stack.sessions() == std::vector<session_id>{2});
}

TEST_CASE("stacks [0,1) -> [1,3) -> [3,5) chained equal one stack [0,5)", "[generate]") {
  fixture fx;
  REQUIRE(fx.cfg.n_blocks == 5);
  block_stack whole(fx.file, fx.cfg, 0, 5);
  std::vector<block_stack> parts;
  parts.emplace_back(fx.file, fx.cfg, 0, 1);
  parts.emplace_back(fx.file, fx.cfg, 1, 3);
  parts.emplace_back(fx.file, fx.cfg, 3, 5);
  CHECK(parts[1].first() == 1);
  CHECK(parts[1].last() == 3);
  CHECK(whole.weight_bytes() == parts[0].weight_bytes() + parts[1].weight_bytes() + parts[2].weight_bytes());
  auto ids = fx.tok.encode("One day, Tom", true);
  auto chained = [&](int32_t pos, tensor_data h) {
    for (auto& p : parts)
      h = p.forward(9, pos, h);
    return h;
  };
  tensor_data a = whole.forward(9, 0, fx.head.embed(ids));
  tensor_data b = chained(0, fx.head.embed(ids));
  CHECK(max_abs_diff(a.values, b.values) == 0.f);
  tensor_data c = whole.forward(9, int32_t(ids.size()), fx.head.embed({269}));
  tensor_data d = chained(int32_t(ids.size()), fx.head.embed({269}));
  CHECK(max_abs_diff(c.values, d.values) == 0.f);
}
