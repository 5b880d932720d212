#pragma once
// Internal to the HTTP server (runtime/http_*.cpp): the state every handler shares, the
// error type handlers throw, and the JSON and SSE helpers. Handlers never write an error
// response themselves: they throw, and http_server.cpp turns the exception into
// {"error": {"message", "type", "code"}} with its status.
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "runtime/http/http_server.hpp"

namespace llamps::http {

using json = nlohmann::json;

class error : public std::runtime_error {
public:
  // retry_after_s > 0: the response says so in a Retry-After header (429 and 503).
  error(int status, std::string message, std::string code = "", int32_t retry_after_s = 0)
      : std::runtime_error(std::move(message)), status_(status), code_(std::move(code)),
        retry_after_s_(retry_after_s) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }
  int32_t retry_after_s() const { return retry_after_s_; }

private:
  int status_;
  std::string code_;
  int32_t retry_after_s_;
};

// OpenAI's error "type" for a status: invalid_request_error, authentication_error, ...
const char* error_type(int status);
json error_body(int status, const std::string& message, const std::string& code);

// The status of a failure the cluster reported as text (cluster_client throws its one-line
// reason): unknown model 404, busy or no route 503, prompt too long 400, else 500.
int status_of_cluster_error(const std::string& message);

// Results of deployments started in the background that the deployer never recorded
// (e.g. the planner found no placement): the page still sees why they failed.
class deploy_tracker {
public:
  void started(const std::string& model);
  void finished(const std::string& model, const std::string& error); // "" = ready
  std::map<std::string, std::string> failures() const;               // model -> reason

private:
  mutable std::mutex mutex_;
  std::map<std::string, std::string> failures_;
};

struct context {
  context(cluster_client& c, const http_options& o) : client(c), opts(o) {}
  cluster_client& client;
  const http_options& opts;
  // Shared: a background deployment may finish after the server is gone.
  std::shared_ptr<deploy_tracker> deploys = std::make_shared<deploy_tracker>();
  std::atomic<int32_t> generations_running{0};         // holding a slot: waiting for a place or generating
  std::atomic<uint64_t> generations_rejected_total{0}; // answered 429: no slot, or the queue refused
  std::atomic<uint64_t> generations_total{0};
  std::atomic<uint64_t> tokens_generated_total{0};
  std::atomic<uint64_t> prompt_tokens_total{0};
};

// Whether the client of `req` has closed its connection, asked while its request waits in
// line (before anything is written to it). httplib 0.11 gives a handler no way to see that: the
// check finds the connection's socket among the process's descriptors by its two addresses (on
// its first call) and looks for the end of its stream. The check lives no longer than `req`.
std::function<bool()> client_gone_check(const httplib::Request& req);

// Parses a JSON object body; throws error 400 naming what is wrong.
json parse_object(const std::string& body);
void send_json(httplib::Response& res, const json& body, int status = 200);
// JSON text that survives invalid UTF-8 (a token piece may be half a character).
std::string dump(const json& j);
// One server-sent event: "data: TEXT\n\n". Returns false when the client is gone.
bool send_event(httplib::DataSink& sink, const std::string& data);

// Typed fields of a request object: absent gives the default, a wrong type or a value out
// of [low, high] throws error 400 naming the field.
std::string string_field(const json& body, const char* name, const std::string& fallback);
double number_field(const json& body, const char* name, double fallback, double low, double high);
int64_t integer_field(const json& body, const char* name, int64_t fallback, int64_t low, int64_t high);
bool bool_field(const json& body, const char* name, bool fallback);

// The route groups, one file each.
void add_openai_routes(httplib::Server& server, context& ctx); // http_api.cpp
void add_admin_routes(httplib::Server& server, context& ctx);  // http_admin.cpp
void add_metrics_route(httplib::Server& server, context& ctx); // http_metrics.cpp
void add_page_routes(httplib::Server& server);                 // http_page.cpp

} // namespace llamps::http
