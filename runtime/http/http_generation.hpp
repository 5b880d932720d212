#pragma once
// Internal to the HTTP server: one generation through a fresh session, shared by the OpenAI
// routes and the page's /api/generate. Requests are checked (model deployed, a free
// generation slot) before anything is streamed, so those failures still get a proper status.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/http/http_context.hpp"

namespace llamps::http {

struct generation_job {
  std::string model;            // deployed model name
  generation_order order;       // prompt or messages, sampling, max_new_tokens, stop strings
                                // (the text ends before the first; steps is set by prepare)
};

struct generation_outcome {
  std::string text;             // generated text, cut before a stop sequence
  int32_t prompt_tokens = 0;    // BOS included, as the session counts them
  int32_t completion_tokens = 0;
  std::string finish_reason;    // "stop" (EOS or a stop sequence) or "length"
  std::vector<std::string> route;
  double prefill_seconds = 0, decode_seconds = 0;
};

// Holds one of the server's max_generations slots while it lives.
class generation_slot {
public:
  explicit generation_slot(context& ctx);
  ~generation_slot();
  generation_slot(const generation_slot&) = delete;
  generation_slot& operator=(const generation_slot&) = delete;

private:
  context& ctx_;
};

// Checks the model is deployed (404 otherwise), sets the job's steps to the model's context
// (max_new_tokens is what bounds it), and takes a slot (503 when all are busy).
std::shared_ptr<generation_slot> prepare(context& ctx, generation_job& job);

// Runs the job. `on_text` gets each piece of text that is safe to send (never part of a
// stop sequence, never half a UTF-8 character); it returns false when the client has gone,
// which cancels the generation (the outcome then has no report figures). Throws
// std::runtime_error with the cluster's reason when the generation fails.
using text_sink = std::function<bool(const std::string& text)>;
generation_outcome run_generation(context& ctx, const generation_job& job, const text_sink& on_text);

// The sampling fields both APIs share: temperature, top_p, top_k, seed, max_tokens.
// `max_tokens_default` is used when the body has none.
void read_sampling(const json& body, const context& ctx, int64_t max_tokens_default, generation_order& order);

// "stop": a string or an array of up to 4 strings.
std::vector<std::string> read_stop(const json& body);

// "messages" (OpenAI's: role and content, a string or an array of parts of which the text ones
// count), "chat_template" (a family name overriding the model's template; 400 when it is none
// of chat_template_names()) and "add_generation_prompt" (vLLM's; true by default).
void read_messages(const json& body, generation_order& order);

// The bytes of the prompt or of the messages' contents, for the max_prompt_bytes limit.
size_t prompt_bytes(const generation_order& order);

} // namespace llamps::http
