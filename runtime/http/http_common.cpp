// Helpers every HTTP route group shares: errors, JSON bodies and fields, server-sent events,
// and whether a client is still there.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cmath>
#include <cstdlib>

#include "runtime/http/http_context.hpp"

namespace llamps::http {

const char* error_type(int status) {
  switch (status) {
  case 400:
  case 404:
  case 409:
  case 413: return "invalid_request_error";
  case 401: return "authentication_error";
  case 429: return "rate_limit_exceeded";
  case 503: return "server_busy";
  default: return "server_error";
  }
}

json error_body(int status, const std::string& message, const std::string& code) {
  return json{{"error",
               {{"message", message},
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

// Port (and numeric host) of a socket address.
std::pair<std::string, int> host_port(const sockaddr_storage& a) {
  char text[INET6_ADDRSTRLEN] = "";
  if (a.ss_family == AF_INET) {
    auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
    inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
    return {text, ntohs(v4.sin_port)};
  }
  if (a.ss_family == AF_INET6) {
    auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
    inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
    return {text, ntohs(v6.sin6_port)};
  }
  return {"", -1};
}

// The descriptor of this process's TCP connection from (remote_addr, remote_port) to
// local_port, or -1.
int connection_socket(const httplib::Request& req) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir)
    return -1;
  int found = -1;
  while (dirent* entry = readdir(dir)) {
    char* end = nullptr;
    long fd = std::strtol(entry->d_name, &end, 10);
    if (*end != '\0' || end == entry->d_name)
      continue;
    sockaddr_storage peer{}, local{};
    socklen_t peer_size = sizeof peer, local_size = sizeof local;
    if (getpeername(int(fd), reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0 ||
        getsockname(int(fd), reinterpret_cast<sockaddr*>(&local), &local_size) != 0)
      continue;
    auto [peer_host, peer_port] = host_port(peer);
    if (peer_port == req.remote_port && peer_host == req.remote_addr &&
        (req.local_port < 0 || host_port(local).second == req.local_port)) {
      found = int(fd);
      break;
    }
  }
  closedir(dir);
  return found;
}

} // namespace

std::function<bool()> client_gone_check(const httplib::Request& req) {
  auto fd = std::make_shared<int>(-2); // -2: not looked for yet
  return [&req, fd] {
    if (*fd == -2)
      *fd = connection_socket(req);
    if (*fd < 0)
      return false;
    pollfd p{*fd, POLLIN | POLLRDHUP, 0};
    if (::poll(&p, 1, 0) <= 0)
      return false;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR))
      return true;
    // Readable: a pipelined request, or the end of the stream (0 bytes).
    char c;
    return ::recv(*fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
  };
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
