// Helpers every HTTP route group shares: errors, JSON bodies and fields, server-sent events.
#include <cmath>

#include "runtime/http/http_context.hpp"

namespace llamps::http {

const char* error_type(int status) {
  switch (status) {
  case 400: case 404: case 409: case 413: return "invalid_request_error";
  case 401: return "authentication_error";
  case 503: return "server_busy";
  default: return "server_error";
  }
}

json error_body(int status, const std::string& message, const std::string& code) {
  return json{{"error", {{"message", message},
                         {"type", error_type(status)},
                         {"code", code.empty() ? json(nullptr) : json(code)}}}};
}

int status_of_cluster_error(const std::string& message) {
  auto has = [&](const char* part) { return message.find(part) != std::string::npos; };
  if (has("unknown model") || has("is not deployed"))
    return 404;
  if (has("busy") || has("no route") || has("draining") || has("no healthy servers"))
    return 503;
  if (has("but the context holds") || has("chat template"))
    return 400;
  return 500;
}

void deploy_tracker::started(const std::string& model) {
  std::lock_guard lock(mutex_);
  failures_.erase(model);
}

void deploy_tracker::finished(const std::string& model, const std::string& error) {
  std::lock_guard lock(mutex_);
  if (!error.empty())
    failures_[model] = error;
}

std::map<std::string, std::string> deploy_tracker::failures() const {
  std::lock_guard lock(mutex_);
  return failures_;
}

json parse_object(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded())
    throw error(400, "the request body is not valid JSON", "invalid_json");
  if (!j.is_object())
    throw error(400, "the request body must be a JSON object", "invalid_json");
  return j;
}

void send_json(httplib::Response& res, const json& body, int status) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

bool send_event(httplib::DataSink& sink, const std::string& data) {
  std::string event = "data: " + data + "\n\n";
  return sink.is_writable() && sink.write(event.data(), event.size());
}

namespace {

[[noreturn]] void bad_field(const char* name, const std::string& what) {
  throw error(400, std::string("'") + name + "' " + what, "invalid_value");
}

} // namespace

std::string string_field(const json& body, const char* name, const std::string& fallback) {
  auto found = body.find(name);
  if (found == body.end() || found->is_null())
    return fallback;
  if (!found->is_string())
    bad_field(name, "must be a string");
  return found->get<std::string>();
}

double number_field(const json& body, const char* name, double fallback, double low, double high) {
  auto found = body.find(name);
  if (found == body.end() || found->is_null())
    return fallback;
  if (!found->is_number())
    bad_field(name, "must be a number");
  double v = found->get<double>();
  if (!std::isfinite(v) || v < low || v > high)
    bad_field(name, "must be between " + json(low).dump() + " and " + json(high).dump());
  return v;
}

int64_t integer_field(const json& body, const char* name, int64_t fallback, int64_t low, int64_t high) {
  auto found = body.find(name);
  if (found == body.end() || found->is_null())
    return fallback;
  if (!found->is_number_integer())
    bad_field(name, "must be an integer");
  // Unsigned values above int64's range arrive as uint64: compare before converting.
  if (found->is_number_unsigned() && found->get<uint64_t>() > static_cast<uint64_t>(high))
    bad_field(name, "must be between " + std::to_string(low) + " and " + std::to_string(high));
  int64_t v = found->get<int64_t>();
  if (v < low || v > high)
    bad_field(name, "must be between " + std::to_string(low) + " and " + std::to_string(high));
  return v;
}

bool bool_field(const json& body, const char* name, bool fallback) {
  auto found = body.find(name);
  if (found == body.end() || found->is_null())
    return fallback;
  if (!found->is_boolean())
    bad_field(name, "must be true or false");
  return found->get<bool>();
}

} // namespace llamps::http
