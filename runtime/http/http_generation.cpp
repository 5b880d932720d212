#include "runtime/http/http_generation.hpp"

#include <algorithm>
#include <limits>
#include <random>

#include "model/errors.hpp"
#include "runtime/node/cluster_client.hpp"

namespace llamps::http {

namespace {

// `end`, or less so that text[0, end) does not end inside a UTF-8 character: byte-fallback
// tokens deliver a character one byte at a time, and a client must never see half of one.
size_t complete_utf8(const std::string& s, size_t end) {
  size_t i = end;
  while (i > 0 && end - i < 3 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80)
    --i;
  if (i == 0)
    return end;
  auto lead = static_cast<unsigned char>(s[i - 1]);
  size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  return end - (i - 1) < need ? i - 1 : end;
}

// Turns token pieces into text that is safe to send: it holds back whatever could still
// become a stop sequence, and stops for good at the first one.
class text_stream {
public:
  explicit text_stream(std::vector<std::string> stops) : stops_(std::move(stops)) {}

  // Appends a piece; returns what may be sent now.
  std::string push(const std::string& piece) {
    if (stopped_)
      return {};
    text_ += piece;
    size_t end = text_.size();
    for (auto& s : stops_) {
      auto at = text_.find(s, sent_);
      if (at != std::string::npos && at < end)
        end = at, stopped_ = true;
    }
    if (stopped_) {
      text_.resize(end);
      return take(end);
    }
    return take(complete_utf8(text_, end - longest_partial_stop()));
  }
  // At the end: everything not sent yet.
  std::string flush() { return take(text_.size()); }
  bool stopped() const { return stopped_; }
  const std::string& text() const { return text_; }

private:
  // The longest end of the text that is the beginning of a stop sequence.
  size_t longest_partial_stop() const {
    size_t longest = 0;
    for (auto& s : stops_)
      for (size_t n = std::min(s.size() - 1, text_.size() - sent_); n > longest; --n)
        if (text_.compare(text_.size() - n, n, s, 0, n) == 0) {
          longest = n;
          break;
        }
    return longest;
  }
  std::string take(size_t upto) {
    upto = std::max(upto, sent_);
    auto out = text_.substr(sent_, upto - sent_);
    sent_ = upto;
    return out;
  }

  std::vector<std::string> stops_;
  std::string text_;
  size_t sent_ = 0;
  bool stopped_ = false;
};

} // namespace

generation_slot::generation_slot(context& ctx) : ctx_(ctx) {
  if (++ctx_.generations_running > ctx_.opts.max_generations) {
    --ctx_.generations_running;
    ++ctx_.generations_rejected_total;
    // Each request this server holds takes a thread: beyond them it refuses rather than
    // letting requests pile up unseen in front of the queue.
    throw error(429,
                "busy: this server already holds " + std::to_string(ctx_.opts.max_generations) +
                    " requests (generating or waiting for a place); try again in 1 s",
                "server_full", 1);
  }
}

generation_slot::~generation_slot() { --ctx_.generations_running; }

admitted_session::admitted_session(context& ctx, const session_options& options)
    : slot_(ctx), ctx_(ctx), session_(ctx.client.open_session(options)) {}

// Closing the session is also how a generation is cancelled: the session then fails it.
admitted_session::~admitted_session() { ctx_.client.close_session(session_); }

std::shared_ptr<admitted_session> prepare(context& ctx, generation_job& job,
                                          const std::function<bool()>& client_gone) {
  auto deployed = ctx.client.deployments();
  auto found = std::find_if(deployed.begin(), deployed.end(), [&](auto& d) { return d.model == job.model; });
  if (found == deployed.end())
    throw error(404, "model '" + job.model + "' is not deployed (GET /v1/models lists the deployed ones)",
                "model_not_found");
  // max_new_tokens bounds the generation; steps only keeps it inside the context.
  job.order.steps = found->profile.n_ctx;
  session_options so;
  so.model = job.model;
  so.queue_wait = ctx.opts.queue_wait;
  auto admitted = std::make_shared<admitted_session>(ctx, so);
  try {
    ctx.client.admit(admitted->session(), nullptr, client_gone);
  } catch (const cluster_busy& e) {
    ++ctx.generations_rejected_total;
    throw error(429, e.what(), e.kind() == failure_kind::queue_full ? "queue_full" : "queue_timeout",
                std::max(1, e.retry_after_s()));
  }
  return admitted;
}

generation_outcome run_generation(context& ctx, const admitted_session& admitted, const generation_job& job,
                                  const text_sink& on_text) {
  text_stream stream(job.order.stop);
  generation_outcome out;
  bool gone = false;
  const auto& session = admitted.session();
  auto deliver = [&](const std::string& text) {
    if (!text.empty() && !gone && !on_text(text)) {
      gone = true;
      ctx.client.close_session(session);
    }
  };
  generation_report report;
  try {
    report = ctx.client.generate(session, job.order, [&](int32_t token, const std::string& piece) {
      if (token < 0) // the end of a character an end-of-generation token interrupted
        return deliver(stream.push(piece));
      ++ctx.tokens_generated_total;
      if (stream.stopped())
        return; // a stop sequence ended the text (and the session ends the generation)
      ++out.completion_tokens;
      deliver(stream.push(piece));
    });
  } catch (const std::exception&) {
    if (gone)
      return out;
    throw;
  }
  deliver(stream.flush());
  ++ctx.generations_total;
  ctx.prompt_tokens_total += report.prompt_tokens;
  out.text = stream.text();
  out.prompt_tokens = report.prompt_tokens;
  bool at_limit = report.generated_tokens >= job.order.max_new_tokens ||
                  report.prompt_tokens + report.generated_tokens >= job.order.steps;
  out.finish_reason = !stream.stopped() && at_limit ? "length" : "stop";
  out.route = report.route;
  out.prefill_seconds = report.prefill_seconds;
  out.decode_seconds = report.decode_seconds;
  return out;
}

void read_sampling(const json& body, const context& ctx, int64_t max_tokens_default,
                   generation_order& order) {
  order.temperature = static_cast<float>(number_field(body, "temperature", 1.0, 0, 2));
  order.top_p = static_cast<float>(number_field(body, "top_p", 1.0, 0, 1));
  order.top_k =
      static_cast<int32_t>(integer_field(body, "top_k", 0, 0, 100000)); // not OpenAI's: off by default
  // Without a seed, every request samples differently, as OpenAI's API does.
  order.seed =
      static_cast<uint64_t>(integer_field(body, "seed", static_cast<int64_t>(std::random_device{}() >> 1), 0,
                                          std::numeric_limits<int64_t>::max()));
  order.max_new_tokens = static_cast<int32_t>(
      integer_field(body, "max_tokens", std::min<int64_t>(max_tokens_default, ctx.opts.max_new_tokens), 1,
                    ctx.opts.max_new_tokens));
}

std::vector<std::string> read_stop(const json& body) {
  auto found = body.find("stop");
  if (found == body.end() || found->is_null())
    return {};
  std::vector<std::string> stops;
  if (found->is_string())
    stops.push_back(found->get<std::string>());
  else if (found->is_array() && found->size() <= 4 &&
           std::all_of(found->begin(), found->end(), [](const json& s) { return s.is_string(); }))
    stops = found->get<std::vector<std::string>>();
  else
    throw error(400, "'stop' must be a string or an array of up to 4 strings", "invalid_value");
  stops.erase(std::remove(stops.begin(), stops.end(), std::string()), stops.end());
  return stops;
}

namespace {

std::string content_text(const json& content) {
  if (content.is_string())
    return content.get<std::string>();
  std::string text;
  if (content.is_array())
    for (auto& part : content)
      if (part.is_object() && part.value("type", "") == "text" && part.contains("text") &&
          part["text"].is_string())
        text += part["text"].get<std::string>();
  return text;
}

} // namespace

void read_messages(const json& body, generation_order& order) {
  auto messages = body.find("messages");
  if (messages == body.end() || !messages->is_array() || messages->empty())
    throw error(400, "'messages' must be a non-empty array", "invalid_value");
  for (auto& m : *messages) {
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      throw error(400, "every message needs a 'role' and a 'content'", "invalid_value");
    order.messages.push_back({m["role"].get<std::string>(), content_text(m.value("content", json()))});
  }
  order.chat_template = string_field(body, "chat_template", "");
  order.add_generation_prompt = bool_field(body, "add_generation_prompt", true);
  try {
    if (!order.chat_template.empty())
      choose_chat_template(order.chat_template, ""); // the model's own template is checked by the session
  } catch (const model_error& e) {
    throw error(400, e.what(), "invalid_value");
  }
}

size_t prompt_bytes(const generation_order& order) {
  size_t bytes = order.prompt.size();
  for (auto& m : order.messages)
    bytes += m.content.size();
  return bytes;
}

} // namespace llamps::http
