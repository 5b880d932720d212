#include "model/text/generation_loop.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "model/errors.hpp"

namespace llamps {

void check_generation(const generation_request& req) {
  const auto& s = req.sampling;
  auto show = [](double v) {
    std::ostringstream out;
    out << v;
    return out.str();
  };
  if (req.steps <= 0)
    throw model_error("steps must be positive");
  if (req.max_new_tokens < 0)
    throw model_error("max_new_tokens must not be negative");
  if (!(s.temperature >= 0) || std::isinf(s.temperature)) // NaN fails the comparison
    throw model_error("temperature must be 0 (greedy) or more, not " + show(s.temperature));
  if (!(s.top_p >= 0 && s.top_p <= 1))
    throw model_error("top-p must be between 0 and 1, not " + show(s.top_p));
  if (s.top_k < 0)
    throw model_error("top-k must be 0 (off) or more, not " + std::to_string(s.top_k));
}

generation_loop::generation_loop(const tokenizer& tok, int n_ctx, const generation_request& req,
                                 const std::vector<int32_t>& cached)
    : tok_(tok), req_(req), sampler_(req.sampling) {
  check_generation(req);
  ids_ = req.prompt_ids.empty() ? tok_.encode(req.prompt, tok_.add_bos_by_default()) : req.prompt_ids;
  if (ids_.empty())
    ids_.push_back(tok_.bos());
  prompt_end_ = static_cast<int32_t>(ids_.size());
  if (prompt_end_ >= n_ctx)
    throw model_error("prompt has " + std::to_string(prompt_end_) + " tokens but the context holds " +
                      std::to_string(n_ctx));
  // The last prompt token is always fed: its logits give the first answer token.
  auto same =
      std::mismatch(cached.begin(), cached.end(), ids_.begin(), ids_.end() - 1).first - cached.begin();
  prompt_start_ = static_cast<int32_t>(same);
  // As llama2.c's -n: `steps` positions are run through the model (BOS and the prompt
  // included); the token sampled at the last of them ends the output, so a generation has
  // steps + 1 ids. Never more positions than the context holds.
  int32_t positions = std::max(std::min(req.steps, n_ctx), prompt_end_);
  limit_ = positions + 1;
  if (req.max_new_tokens > 0) // an API caller counts generated tokens, not positions
    limit_ = std::min(limit_, prompt_end_ + req.max_new_tokens);
}

generation_loop::feed generation_loop::first() const {
  return feed{prompt_start_, std::vector<int32_t>(ids_.begin() + prompt_start_, ids_.end())};
}

std::optional<generation_loop::feed> generation_loop::next(std::vector<float>& logits,
                                                           const token_fn& on_token) {
  if (static_cast<int32_t>(ids_.size()) >= limit_)
    return std::nullopt;
  int32_t token = sampler_.sample(logits);
  bool stop_token =
      std::find(req_.stop_tokens.begin(), req_.stop_tokens.end(), token) != req_.stop_tokens.end();
  if (req_.stop_at_eos && (tok_.is_end_of_generation(token) || stop_token)) {
    const std::string rest = text_.flush();
    if (on_token && !rest.empty())
      on_token(-1, rest);
    return std::nullopt;
  }
  int32_t prev = ids_.back();
  ids_.push_back(token);
  const bool last = static_cast<int32_t>(ids_.size()) >= limit_;
  std::string text = text_.push(tok_.piece(prev, token));
  if (last)
    text += text_.flush();
  if (on_token)
    on_token(token, text);
  if (last)
    return std::nullopt;
  return feed{static_cast<int32_t>(ids_.size()) - 1, {token}};
}

} // namespace llamps
