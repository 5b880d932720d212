// The admin API the web page uses: this node, the available servers, models (catalog or
// file), plan, deploy in the background with progress, undeploy, deployments, sessions, and
// a generation stream with the figures the page shows (tokens/s, route).
#include <filesystem>
#include <map>

#include "runtime/http/http_generation.hpp"
#include "runtime/http/http_json.hpp"

namespace llamps::http {

namespace {

using request = httplib::Request;
using response = httplib::Response;

json model_spec(const json& body) {
  auto found = body.find("model");
  if (found == body.end() || found->is_null())
    throw error(400, "'model' is required: a GGUF path, or {\"name\", \"params_b\"}", "invalid_value");
  return *found;
}

plan_request read_plan_request(const json& body, const resolved_model& model) {
  plan_request req;
  req.model = model.profile;
  const std::string objective = string_field(body, "objective", opa::objective_name(req.goal));
  auto goal = opa::parse_objective(objective);
  if (!goal)
    throw error(400, "unknown objective '" + objective + "' (fewest-servers, max-sessions, max-throughput)",
                "invalid_value");
  req.goal = *goal;
  req.replicas = static_cast<int32_t>(integer_field(body, "replicas", 1, 1, plan_request::max_replicas));
  req.sessions =
      static_cast<int32_t>(integer_field(body, "sessions", req.sessions, 1, plan_request::max_sessions));
  req.context = static_cast<int32_t>(integer_field(body, "context", 0, 0, plan_request::max_context));
  return req;
}

// A model name as the admin API accepts it: the name, or the GGUF path it was deployed from.
std::string model_name(const json& body) {
  auto given = string_field(body, "model", "");
  if (given.empty())
    throw error(400, "'model' is required", "invalid_value");
  return std::filesystem::path(given).stem().string();
}

// The deployed model the page means: the one named, or the only one deployed.
std::string deployed_model(context& ctx, const std::string& given) {
  if (!given.empty())
    return given;
  auto deployed = ctx.client.deployments();
  if (deployed.size() == 1)
    return deployed.front().model;
  throw error(deployed.empty() ? 404 : 400,
              deployed.empty() ? "no model is deployed"
                               : "several models are deployed: say which with 'model'",
              deployed.empty() ? "model_not_found" : "invalid_value");
}

void node_info(context& ctx, const request&, response& res) {
  send_json(res, json{{"node", ctx.opts.node},
                      {"listen", ctx.opts.listen},
                      {"api_key_required", !ctx.opts.api_key.empty()},
                      {"max_new_tokens", ctx.opts.max_new_tokens}});
}

void catalog_shapes(context&, const request& req, response& res) {
  if (!req.has_param("name") && !req.has_param("params"))
    return send_json(res, json{{"models", catalog_list()}});
  json spec{{"name", req.get_param_value("name")},
            {"params", req.get_param_value("params")},
            {"dtype", req.has_param("dtype") ? req.get_param_value("dtype") : "f16"}};
  send_json(res, describe(resolve_model(spec)));
}

void model_profile_of(context&, const request& req, response& res) {
  send_json(res, describe(resolve_model(model_spec(parse_object(req.body)))));
}

void plan(context& ctx, const request& req, response& res) {
  auto body = parse_object(req.body);
  auto model = resolve_model(model_spec(body));
  auto placement = ctx.client.plan(read_plan_request(body, model));
  send_json(res, json{{"model", describe(model)}, {"plan", placement}});
}

// Returns at once: the page follows the deployment through /api/deploy/progress.
void deploy(context& ctx, const request& req, response& res) {
  auto body = parse_object(req.body);
  auto model = resolve_model(model_spec(body));
  if (!model.from_file)
    throw error(400, "'" + model.profile.name + "' is a catalog shape without weights: deploy a GGUF file",
                "invalid_model");
  auto plan_req = read_plan_request(body, model);
  for (auto& d : ctx.client.deployments())
    if (d.model == model.profile.name)
      throw error(409, "model '" + d.model + "' is already deployed (undeploy it first)", "already_deployed");
  auto name = model.profile.name;
  ctx.deploys->started(name);
  ctx.client.deploy_async(plan_req,
                          [tracker = ctx.deploys, name](const deploy_status&, const std::string& failure) {
                            tracker->finished(name, failure);
                          });
  send_json(res, json{{"model", name}, {"state", "deploying"}}, 202);
}

void progress(context& ctx, const request&, response& res) {
  json list = ctx.client.progress();
  // Deployments that failed before the deployer recorded them (e.g. no placement) show too.
  for (auto& [model, reason] : ctx.deploys->failures()) {
    bool recorded = false;
    for (auto& d : list)
      recorded = recorded || d["model"] == model;
    if (!recorded)
      list.push_back(json{{"model", model},
                          {"deployment_id", ""},
                          {"state", "failed: " + reason},
                          {"servers", json::array()}});
  }
  send_json(res, json{{"deployments", list}});
}

void undeploy(context& ctx, const request& req, response& res) {
  auto name = model_name(parse_object(req.body));
  ctx.client.undeploy(name);
  send_json(res, json{{"model", name}, {"state", "undeployed"}});
}

// The registry's deployments, each with its open sessions and the requests in its queue.
void deployments(context& ctx, const request&, response& res) {
  json list = ctx.client.deployments();
  std::map<std::string, int64_t> sessions, queued;
  for (auto& s : ctx.client.sessions())
    ++sessions[s.model];
  for (auto& q : ctx.client.queues())
    queued[q.model] = q.depth;
  for (auto& d : list) {
    auto model = d["model"].get<std::string>();
    d["sessions"] = sessions[model];
    d["queued"] = queued[model];
  }
  send_json(res, list);
}

// Server-sent events: {"text": ...} as tokens arrive, then {"done": true, figures, route}.
void generate(context& ctx, const request& req, response& res) {
  auto body = parse_object(req.body);
  generation_job job;
  job.model = deployed_model(ctx, string_field(body, "model", ""));
  // The page's chat sends the conversation as "messages", as /v1/chat/completions does.
  if (body.contains("messages"))
    read_messages(body, job.order);
  else
    job.order.prompt = string_field(body, "prompt", "");
  if (prompt_bytes(job.order) > ctx.opts.max_prompt_bytes)
    throw error(413, "the prompt is longer than " + std::to_string(ctx.opts.max_prompt_bytes) + " bytes",
                "prompt_too_long");
  read_sampling(body, ctx, 128, job.order);
  job.order.stop = read_stop(body);
  auto admitted = prepare(ctx, job, client_gone_check(req));
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream", [&ctx, job, admitted](size_t, httplib::DataSink& sink) {
        try {
          auto o = run_generation(ctx, *admitted, job, [&](const std::string& text) {
            return send_event(sink, dump(json{{"text", text}}));
          });
          send_event(sink, dump(json{{"done", true},
                                     {"model", job.model},
                                     {"text", o.text},
                                     {"finish_reason", o.finish_reason},
                                     {"prompt_tokens", o.prompt_tokens},
                                     {"completion_tokens", o.completion_tokens},
                                     {"prefill_seconds", o.prefill_seconds},
                                     {"decode_seconds", o.decode_seconds},
                                     {"route", o.route}}));
        } catch (const std::exception& e) {
          send_event(sink, dump(error_body(status_of_cluster_error(e.what()), e.what(), "")));
        }
        sink.done();
        return true;
      });
}

// Binds a handler to the shared context.
template <class Handler>
httplib::Server::Handler with(context& ctx, Handler handler) {
  return [&ctx, handler](const request& req, response& res) { handler(ctx, req, res); };
}

} // namespace

void add_admin_routes(httplib::Server& server, context& ctx) {
  server.Get("/api/node", with(ctx, node_info));
  server.Get("/api/servers", with(ctx, [](context& c, const request&, response& res) {
               send_json(res, json(c.client.servers()));
             }));
  server.Get("/api/catalog", with(ctx, catalog_shapes));
  server.Post("/api/profile", with(ctx, model_profile_of));
  server.Post("/api/plan", with(ctx, plan));
  server.Post("/api/deploy", with(ctx, deploy));
  server.Get("/api/deploy/progress", with(ctx, progress));
  server.Post("/api/undeploy", with(ctx, undeploy));
  server.Get("/api/deployments", with(ctx, deployments));
  server.Get("/api/sessions", with(ctx, [](context& c, const request&, response& res) {
               send_json(res, json(c.client.sessions()));
             }));
  server.Post("/api/generate", with(ctx, generate));
}

} // namespace llamps::http
