// The generation loop hands out whole UTF-8 characters and stops at any end-of-generation
// token, driven with the real Llama 3 vocabulary and logits that pick a scripted sequence.
#include <catch2/catch.hpp>

#include "model/gguf/gguf.hpp"
#include "model/text/generation_loop.hpp"
#include "model/text/tokenizer.hpp"
#include "model/text/utf8.hpp"

using namespace llamps;

namespace {

const tokenizer& llama3() {
  static const tokenizer t = tokenizer::from_gguf(
      gguf::file::open(std::string(LLAMPS_SHARED_MODELS) + "/families/vocab/ggml-vocab-llama3.gguf"));
  return t;
}

struct streamed {
  std::vector<int32_t> tokens; // as the callback saw them
  std::vector<std::string> chunks;
  std::vector<int32_t> ids; // the loop's ids at the end
};

// Runs a fresh generation in which the model "chooses" `script`, one token per step.
streamed run(const std::vector<int32_t>& script, int max_new_tokens = 0) {
  generation_request req;
  req.prompt = "";
  req.steps = 1000;
  req.max_new_tokens = max_new_tokens;
  req.sampling.temperature = 0;
  generation_loop loop(llama3(), 4096, req);
  streamed out;
  auto on_token = [&](int32_t token, const std::string& piece) {
    out.tokens.push_back(token);
    out.chunks.push_back(piece);
  };
  for (size_t step = 0;; step++) {
    REQUIRE(step < script.size());
    std::vector<float> logits(llama3().vocab_size(), 0.0f);
    logits[script[step]] = 1.0f;
    if (!loop.next(logits, on_token))
      break;
  }
  out.ids = loop.ids();
  return out;
}

// Characters that Llama 3's vocabulary splits over several byte-level tokens.
const std::string rare = "\xF0\x9F\xA7\xAC\xF0\x93\x80\x80 \xEA\xA6\x85\xE1\xA8\x80 \xF0\x9D\x94\xB8x";

} // namespace

TEST_CASE("streamed text comes in whole characters and equals the decoding") {
  const tokenizer& tok = llama3();
  std::vector<int32_t> script = tok.encode(rare, false);
  bool some_token_splits_a_character = false;
  for (int32_t id : script)
    some_token_splits_a_character |= utf8_valid(tok.piece(-1, id)) != tok.piece(-1, id);
  REQUIRE(some_token_splits_a_character);
  script.push_back(*tok.find_token("<|eot_id|>"));

  const streamed s = run(script);
  REQUIRE(s.tokens.size() == script.size() - 1); // one call per generated token, none for EOT
  std::string all;
  for (size_t i = 0; i < s.chunks.size(); i++) {
    CHECK(s.tokens[i] == script[i]);
    CHECK(utf8_valid(s.chunks[i]) == s.chunks[i]);
    all += s.chunks[i];
  }
  CHECK(all == rare);
  CHECK(all == tok.decode(s.ids));
  CHECK(s.ids.front() == tok.bos()); // llama-bpe adds BOS by default
}

TEST_CASE("the stream stops at every end-of-generation token, not only EOS") {
  const tokenizer& tok = llama3();
  for (const char* end : {"<|eot_id|>", "<|end_of_text|>"}) {
    const std::vector<int32_t> script = {tok.encode("Hi", false)[0], *tok.find_token(end)};
    const streamed s = run(script);
    INFO(end);
    CHECK(s.tokens.size() == 1);
    CHECK(s.ids.size() == 2); // BOS, "Hi"
  }
}

TEST_CASE("an unfinished character is flushed at the end") {
  const tokenizer& tok = llama3();
  std::vector<int32_t> script = tok.encode("\xF0\x9F\xA7\xAC", false); // one character, several tokens
  REQUIRE(script.size() > 1);
  const std::vector<int32_t> head(script.begin(), script.end() - 1);
  std::string head_bytes;
  for (int32_t id : head)
    head_bytes += tok.piece(-1, id);

  // Stopped by the token limit: the last token's call carries what is left.
  streamed s = run(head, static_cast<int>(head.size()));
  std::string all;
  for (const auto& c : s.chunks)
    all += c;
  CHECK(all == head_bytes);
  CHECK(s.chunks.back() == head_bytes);

  // Stopped by EOT: one more call, token -1, with the bytes.
  std::vector<int32_t> with_end = head;
  with_end.push_back(*tok.find_token("<|eot_id|>"));
  s = run(with_end);
  REQUIRE(s.tokens.size() == head.size() + 1);
  CHECK(s.tokens.back() == -1);
  CHECK(s.chunks.back() == head_bytes);
}
