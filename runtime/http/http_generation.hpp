#pragma once
// Internal to the HTTP server: one generation through a fresh session, shared by the OpenAI
// routes and the page's /api/generate. Requests are checked (model deployed, a free
// generation slot) and their session admitted on the hosts — after waiting in the model's
// queue if it is at capacity — before anything is streamed, so that every refusal (404, 429
// with Retry-After, 503) still gets its status, and a stream never starts only to say busy.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/http/http_context.hpp"

namespace llamps::http {

struct generation_job {
  std::string model;      // deployed model name
  generation_order order; // prompt or messages, sampling, max_new_tokens, stop strings
                          // (the text ends before the first; steps is set by prepare)
};

struct generation_outcome {
  std::string text;          // generated text, cut before a stop sequence
  int32_t prompt_tokens = 0; // BOS included, as the session counts them
  int32_t completion_tokens = 0;
  std::string finish_reason; // "stop" (EOS or a stop sequence) or "length"
  std::vector<std::string> route;
  double prefill_seconds = 0, decode_seconds = 0;
};

// Holds one of the server's max_generations slots while it lives (429 when none is free).
class generation_slot {
public:
  explicit generation_slot(context& ctx);
  ~generation_slot();
  generation_slot(const generation_slot&) = delete;
  generation_slot& operator=(const generation_slot&) = delete;

private:
  context& ctx_;
};

// A session admitted on every host of its route, and the slot it holds; closing it (when this
// ends) frees its place on the hosts for the next in line.
class admitted_session {
public:
  admitted_session(context& ctx, const session_options& options); // takes a slot, then opens the session
  ~admitted_session();
  admitted_session(const admitted_session&) = delete;
  admitted_session& operator=(const admitted_session&) = delete;
  const session_actor& session() const { return session_; }

private:
  generation_slot slot_;
  context& ctx_;
  session_actor session_;
};

// Checks the model is deployed (404 otherwise), sets the job's steps to the model's context
// (max_new_tokens is what bounds it), takes a slot, opens a session and waits until it is
// admitted: 429 with Retry-After when no slot is free, the model's queue is full, or the wait
// ran out; the cluster's status otherwise (status_of_cluster_error). A client that leaves
// while its request waits (`client_gone`, asked every 100 ms) takes it out of the queue.
std::shared_ptr<admitted_session> prepare(context& ctx, generation_job& job,
                                          const std::function<bool()>& client_gone);

// Runs the job in its admitted session. `on_text` gets each piece of text that is safe to
// send (never part of a stop sequence, never half a UTF-8 character); it returns false when
// the client has gone, which cancels the generation and closes the session (the outcome then
// has no report figures). Throws std::runtime_error with the cluster's reason when the
// generation fails.
using text_sink = std::function<bool(const std::string& text)>;
generation_outcome run_generation(context& ctx, const admitted_session& admitted, const generation_job& job,
                                  const text_sink& on_text);

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
