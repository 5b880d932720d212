#pragma once
// The steps every generation shares, whoever runs the blocks: encode the prompt, check the
// context, feed the prompt, then sample one token and feed it, until `steps` positions or an
// end-of-generation token (EOS, EOT, <|im_end|>, ...).
// Written as a small state machine so the single-process generator (synchronous) and the
// session actor (one message per step) drive the same code.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "model/text/sampler.hpp"
#include "model/text/tokenizer.hpp"
#include "model/text/utf8.hpp"

namespace llamps {

struct generation_request {
  std::string prompt;
  std::vector<int32_t> prompt_ids; // the prompt already tokenized (a rendered chat), if not empty
  int steps = 256;                 // positions run, as llama2.c's -n (BOS and prompt included);
                                   // the output has steps + 1 ids
  int max_new_tokens = 0;          // also stop after this many generated tokens (0 = no limit)
  sampling_params sampling;
  bool stop_at_eos = true;          // stop at any end-of-generation token
  std::vector<int32_t> stop_tokens; // also end the generation (a chat template's end of turn)
};

// Throws model_error naming the first setting a generation cannot run with (steps, a negative
// or NaN temperature, top-p outside [0, 1], a negative top-k). Every front end checks with it
// before it starts anything; generation_loop checks again.
void check_generation(const generation_request& req);

// Called once per generated token with the text it completes: whole UTF-8 characters only (a
// token that ends inside a character hands out "" and its bytes come with the token that
// completes it; the last token hands out everything left). When an end-of-generation token
// stops the loop while a character is still unfinished, its bytes come in one more call
// with token -1.
using token_fn = std::function<void(int32_t token, const std::string& piece)>;

class generation_loop {
public:
  // What to run through the blocks next: `tokens` at positions pos, pos+1, ...
  struct feed {
    int32_t pos = 0;
    std::vector<int32_t> tokens;
  };

  // `cached`: the ids whose K/V the caches already hold (an earlier turn of the session); only
  // what follows their common prefix with the prompt is fed. Throws model_error when the prompt
  // does not fit.
  generation_loop(const tokenizer& tok, int n_ctx, const generation_request& req,
                  const std::vector<int32_t>& cached = {});

  feed first() const;
  // Takes the logits of the last fed position; samples, reports the token, and returns the
  // next feed, or nothing when the generation is complete.
  std::optional<feed> next(std::vector<float>& logits, const token_fn& on_token);
  // Everything fed so far as one feed from position 0: replays a lost cache.
  feed replay() const { return feed{0, ids_}; }

  const std::vector<int32_t>& ids() const { return ids_; }
  int32_t prompt_tokens() const { return prompt_end_; }
  int32_t cached_tokens() const { return prompt_start_; } // of the prompt, not fed again
  int32_t generated_tokens() const { return static_cast<int32_t>(ids_.size()) - prompt_end_; }

private:
  const tokenizer& tok_;
  generation_request req_;
  sampler sampler_;
  utf8_stream text_;
  std::vector<int32_t> ids_;
  int32_t prompt_start_ = 0; // first position fed (what precedes it is in the caches)
  int32_t prompt_end_ = 0;   // positions fed before the first sampled token
  int32_t limit_ = 0;        // stop when ids_ holds this many ids
};

} // namespace llamps
