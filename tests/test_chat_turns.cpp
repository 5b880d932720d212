// A chat's second turn through real caches, as the session runs it: the whole conversation is
// rendered and tokenized again, only what follows the ids already cached is fed, and the
// answer equals the one a fresh session gives. The model: random weights with Llama 2's
// vocabulary and chat template (make-model --vocab-from ... --chat-template ...).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "model/decoder/block_stack.hpp"
#include "model/decoder/llama_config.hpp"
#include "model/shapes/presets.hpp"
#include "model/text/chat_prompt.hpp"
#include "model/text/generation_loop.hpp"

using namespace llamps;

namespace {

const std::string families = std::string(LLAMPS_SHARED_MODELS) + "/families";

std::string model_with_chat_template() {
  std::filesystem::create_directories(LLAMPS_TEST_TMP);
  auto path = std::string(LLAMPS_TEST_TMP) + "/chat-llama2-vocab.gguf";
  make_model_options o;
  o.blocks = 2;
  o.vocab_from = families + "/vocab/ggml-vocab-llama-spm.gguf";
  std::ifstream in(families + "/chat/templates/llama2.jinja");
  o.chat_template.assign(std::istreambuf_iterator<char>(in), {});
  write_preset_model(find_preset("tiny"), path, o);
  return path;
}

struct chat_model {
  gguf::file file;
  llama_config cfg = read_llama_config(file);
  tokenizer tok = tokenizer::from_gguf(file);
  model_head head{file, cfg};
  block_stack stack{file, cfg, 0, cfg.n_blocks};
  std::string chat_template = file.get_string("tokenizer.chat_template").value_or("");
};

struct turn {
  std::vector<int32_t> ids; // prompt and answer
  std::vector<int32_t> fed; // what the caches hold afterwards
  int32_t cached = 0;       // prompt tokens not fed again
  size_t first_feed = 0;    // tokens of the prefill
  std::string answer;
};

// One greedy generation of session `s`, as the session actor drives it.
turn run_turn(chat_model& m, session_id s, const std::vector<chat_message>& messages,
              const std::vector<int32_t>& cached) {
  auto prompt = make_chat_prompt(m.tok, m.chat_template, "", messages);
  generation_request req;
  req.prompt_ids = prompt.ids;
  req.stop_tokens = prompt.stop_tokens;
  req.steps = m.cfg.n_ctx;
  req.max_new_tokens = 12;
  req.sampling.temperature = 0;
  generation_loop loop(m.tok, m.cfg.n_ctx, req, cached);
  turn t;
  t.cached = loop.cached_tokens();
  std::optional<generation_loop::feed> feed = loop.first();
  t.first_feed = feed->tokens.size();
  int32_t fed_end = 0;
  while (feed) {
    auto hidden = m.stack.forward(s, feed->pos, m.head.embed(feed->tokens));
    fed_end = feed->pos + static_cast<int32_t>(feed->tokens.size());
    auto logits = m.head.logits(hidden.values.data() + (hidden.rows() - 1) * hidden.cols());
    feed = loop.next(logits, [&](int32_t, const std::string& piece) { t.answer += piece; });
  }
  t.ids = loop.ids();
  t.fed.assign(t.ids.begin(), t.ids.begin() + fed_end);
  return t;
}

} // namespace

TEST_CASE("a chat's second turn feeds only the new tokens and answers as a fresh session does") {
  chat_model m{gguf::file::open(model_with_chat_template())};
  REQUIRE(detect_chat_template(m.chat_template)->name == "llama2");
  std::vector<chat_message> chat{{"system", "Answer briefly."}, {"user", "Capital of France?"}};
  auto first = run_turn(m, 1, chat, {});
  CHECK(first.cached == 0);
  REQUIRE(!first.answer.empty());
  chat.push_back({"assistant", first.answer});
  chat.push_back({"user", "And of Italy?"});

  auto second = run_turn(m, 1, chat, first.fed);
  // The first turn's prompt is a prefix of the second's rendering; so are the answer's tokens
  // as far as they tokenize back the same: all of that is in the caches already.
  auto common =
      std::mismatch(first.fed.begin(), first.fed.end(), second.ids.begin()).first - first.fed.begin();
  auto first_prompt = make_chat_prompt(m.tok, m.chat_template, "", {chat[0], chat[1]}).ids;
  CHECK(common >= static_cast<long>(first_prompt.size()));
  CHECK(second.cached == common);
  auto second_prompt = make_chat_prompt(m.tok, m.chat_template, "", chat).ids;
  CHECK(second.first_feed == second_prompt.size() - common);

  auto fresh = run_turn(m, 2, chat, {});
  CHECK(fresh.cached == 0);
  CHECK(fresh.first_feed == second_prompt.size());
  CHECK(fresh.ids == second.ids);
  CHECK(fresh.answer == second.answer);
}
