// The OpenAI-compatible routes: /v1/completions, /v1/chat/completions (streaming and not) and
// /v1/models, in the shapes OpenAI's client libraries expect.
//
// Chat messages travel to the session as they are, which renders them with the model's chat
// template (or the family the body's "chat_template" names; see http_generation.hpp).
#include <chrono>
#include <cstdio>
#include <optional>
#include <random>

#include "runtime/http/http_generation.hpp"

namespace llamps::http {

namespace {

enum class api_kind { text, chat };

struct openai_request {
  api_kind kind = api_kind::text;
  generation_job job;
  bool stream = false;
  bool include_usage = false; // stream_options.include_usage: a last chunk with the usage
};

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string fresh_id(const char* prefix) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%s%016llx", prefix, static_cast<unsigned long long>(rng()));
  return buf;
}

std::string text_prompt(const json& body) {
  auto prompt = body.find("prompt");
  if (prompt == body.end() || prompt->is_null())
    return "";
  if (prompt->is_string())
    return prompt->get<std::string>();
  if (prompt->is_array() && prompt->size() == 1 && (*prompt)[0].is_string())
    return (*prompt)[0].get<std::string>();
  throw error(400, "'prompt' must be a string (or an array holding one string)", "invalid_value");
}

openai_request read_request(const std::string& raw, api_kind kind, const context& ctx) {
  json body = parse_object(raw);
  openai_request r;
  r.kind = kind;
  r.job.model = string_field(body, "model", "");
  if (r.job.model.empty())
    throw error(400, "'model' is required (GET /v1/models lists the deployed ones)", "invalid_value");
  if (integer_field(body, "n", 1, 1, 1) != 1)
    throw error(400, "only n = 1 is supported", "invalid_value");
  if (kind == api_kind::chat)
    read_messages(body, r.job.order);
  else
    r.job.order.prompt = text_prompt(body);
  if (prompt_bytes(r.job.order) > ctx.opts.max_prompt_bytes)
    throw error(413, "the prompt is longer than " + std::to_string(ctx.opts.max_prompt_bytes) + " bytes",
                "prompt_too_long");
  // OpenAI's defaults: 16 tokens for completions; for chat, as many as fit.
  read_sampling(body, ctx, kind == api_kind::chat ? ctx.opts.max_new_tokens : 16, r.job.order);
  if (kind == api_kind::chat && body.contains("max_completion_tokens"))
    r.job.order.max_new_tokens =
        static_cast<int32_t>(integer_field(body, "max_completion_tokens", 0, 1, ctx.opts.max_new_tokens));
  r.job.order.stop = read_stop(body);
  r.stream = bool_field(body, "stream", false);
  if (auto so = body.find("stream_options"); so != body.end() && so->is_object())
    r.include_usage = bool_field(*so, "include_usage", false);
  return r;
}

// Builds the response objects and stream chunks of one request, in OpenAI's shapes.
class openai_shapes {
public:
  openai_shapes(api_kind kind, std::string model)
      : kind_(kind), id_(fresh_id(kind == api_kind::chat ? "chatcmpl-" : "cmpl-")), created_(unix_now()),
        model_(std::move(model)) {}

  json response(const generation_outcome& o) const {
    json choice = kind_ == api_kind::chat
                      ? json{{"index", 0}, {"message", {{"role", "assistant"}, {"content", o.text}}}}
                      : json{{"index", 0}, {"text", o.text}};
    choice["logprobs"] = nullptr;
    choice["finish_reason"] = o.finish_reason;
    auto out = envelope(false);
    out["choices"] = json::array({choice});
    out["usage"] = usage(o);
    return out;
  }
  // Chat streams open with the assistant's role and no text.
  std::optional<json> opening_chunk() const {
    if (kind_ != api_kind::chat)
      return std::nullopt;
    return chunk(json{{"role", "assistant"}, {"content", ""}}, nullptr);
  }
  json text_chunk(const std::string& text) const {
    return chunk(kind_ == api_kind::chat ? json{{"content", text}} : json(text), nullptr);
  }
  json final_chunk(const std::string& finish_reason) const {
    return chunk(kind_ == api_kind::chat ? json::object() : json(""), finish_reason);
  }
  json usage_chunk(const generation_outcome& o) const {
    auto out = envelope(true);
    out["choices"] = json::array();
    out["usage"] = usage(o);
    return out;
  }

private:
  json envelope(bool chunk) const {
    const char* object =
        kind_ == api_kind::chat ? (chunk ? "chat.completion.chunk" : "chat.completion") : "text_completion";
    return json{{"id", id_}, {"object", object}, {"created", created_}, {"model", model_}};
  }
  json chunk(json delta_or_text, json finish_reason) const {
    json choice{{"index", 0}, {"logprobs", nullptr}, {"finish_reason", std::move(finish_reason)}};
    choice[kind_ == api_kind::chat ? "delta" : "text"] = std::move(delta_or_text);
    auto out = envelope(true);
    out["choices"] = json::array({choice});
    return out;
  }
  static json usage(const generation_outcome& o) {
    return json{{"prompt_tokens", o.prompt_tokens},
                {"completion_tokens", o.completion_tokens},
                {"total_tokens", o.prompt_tokens + o.completion_tokens}};
  }

  api_kind kind_;
  std::string id_;
  int64_t created_;
  std::string model_;
};

void stream_response(context& ctx, httplib::Response& res, openai_request r,
                     std::shared_ptr<admitted_session> admitted) {
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream", [&ctx, r = std::move(r), admitted](size_t, httplib::DataSink& sink) {
        openai_shapes shapes(r.kind, r.job.model);
        try {
          if (auto opening = shapes.opening_chunk())
            send_event(sink, dump(*opening));
          auto outcome = run_generation(ctx, *admitted, r.job, [&](const std::string& text) {
            return send_event(sink, dump(shapes.text_chunk(text)));
          });
          send_event(sink, dump(shapes.final_chunk(outcome.finish_reason)));
          if (r.include_usage)
            send_event(sink, dump(shapes.usage_chunk(outcome)));
        } catch (const std::exception& e) {
          // The status line is long gone: the error travels as an event, as OpenAI's does.
          send_event(sink, dump(error_body(status_of_cluster_error(e.what()), e.what(), "")));
        }
        send_event(sink, "[DONE]");
        sink.done();
        return true;
      });
}

void serve_completion(context& ctx, const httplib::Request& req, httplib::Response& res, api_kind kind) {
  auto r = read_request(req.body, kind, ctx);
  auto admitted = prepare(ctx, r.job, client_gone_check(req));
  if (r.stream)
    return stream_response(ctx, res, std::move(r), std::move(admitted));
  openai_shapes shapes(kind, r.job.model);
  auto outcome = run_generation(ctx, *admitted, r.job, [](const std::string&) { return true; });
  send_json(res, shapes.response(outcome));
}

json model_entry(const std::string& name) {
  static const int64_t started = unix_now();
  return json{{"id", name}, {"object", "model"}, {"created", started}, {"owned_by", "llamps"}};
}

} // namespace

void add_openai_routes(httplib::Server& server, context& ctx) {
  server.Post("/v1/completions", [&ctx](const httplib::Request& req, httplib::Response& res) {
    serve_completion(ctx, req, res, api_kind::text);
  });
  server.Post("/v1/chat/completions", [&ctx](const httplib::Request& req, httplib::Response& res) {
    serve_completion(ctx, req, res, api_kind::chat);
  });
  server.Get("/v1/models", [&ctx](const httplib::Request&, httplib::Response& res) {
    json data = json::array();
    for (auto& d : ctx.client.deployments())
      data.push_back(model_entry(d.model));
    send_json(res, json{{"object", "list"}, {"data", data}});
  });
  server.Get(R"(/v1/models/([^/]+))", [&ctx](const httplib::Request& req, httplib::Response& res) {
    std::string name = req.matches[1];
    for (auto& d : ctx.client.deployments())
      if (d.model == name)
        return send_json(res, model_entry(name));
    throw error(404, "model '" + name + "' is not deployed", "model_not_found");
  });
}

} // namespace llamps::http
