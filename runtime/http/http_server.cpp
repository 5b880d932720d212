// The HTTP server's life: binding, the API key check, size limits, turning exceptions into
// JSON errors, the server thread, and serve_http's wait for a signal. The routes themselves
// live in http_api.cpp (OpenAI), http_admin.cpp (the page's admin API), http_metrics.cpp
// and http_page.cpp.
#include "runtime/http/http_server.hpp"

#include <sys/socket.h>

#include <csignal>
#include <cstdio>
#include <thread>

#include "runtime/http/http_context.hpp"
#include "actors/support/logging.hpp"
#include "runtime/node/system.hpp"

namespace llamps {

namespace {

// The page and its assets are public: a browser must load them before it can ask for a key.
bool is_public(const httplib::Request& req) {
  return req.method == "GET" && (req.path == "/" || req.path.rfind("/web/", 0) == 0);
}

// Compares without an early exit, so response timing does not reveal how much of a key
// was right.
bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i)
    diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0;
}

bool authorised(const httplib::Request& req, const std::string& key) {
  const std::string prefix = "Bearer ";
  auto header = req.get_header_value("Authorization");
  return header.rfind(prefix, 0) == 0 && same_secret(header.substr(prefix.size()), key);
}

std::string default_message(const httplib::Request& req, int status, size_t max_body) {
  switch (status) {
  case 404: return "no route " + req.method + " " + req.path;
  case 413: return "the request body is larger than " + std::to_string(max_body) + " bytes";
  case 405: return "method " + req.method + " not allowed on " + req.path;
  default: return "bad request";
  }
}

// Debian's compiled httplib listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG): a burst
// of clients connecting at once, as many as the server may hold, would see resets before
// their requests could even wait in line. Linux takes a second listen() as a new backlog.
class listening_server : public httplib::Server {
public:
  void widen_backlog(int backlog) { ::listen(svr_sock_, backlog); }
};

} // namespace

struct http_server::impl {
  impl(cluster_client& client, http_options o) : opts(std::move(o)), ctx(client, opts) {}

  void configure();

  http_options opts;
  http::context ctx;
  listening_server server;
  std::thread thread;
  std::shared_ptr<spdlog::logger> log = logger("http");
};

void http_server::impl::configure() {
  server.set_payload_max_length(opts.max_body_bytes);
  // Generations hold a worker for their whole length: keep spare workers so the page, the
  // admin API and /metrics still answer while max_generations are running.
  size_t workers = static_cast<size_t>(std::max(1, opts.max_generations)) + 8;
  server.new_task_queue = [workers] { return new httplib::ThreadPool(workers); };

  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (opts.api_key.empty() || is_public(req) || authorised(req, opts.api_key))
      return httplib::Server::HandlerResponse::Unhandled;
    http::send_json(
        res, http::error_body(401, "missing or wrong API key (Authorization: Bearer KEY)", "invalid_api_key"),
        401);
    return httplib::Server::HandlerResponse::Handled;
  });
  // Handlers throw; this is the one place that turns exceptions into JSON errors.
  server.set_exception_handler(
      [this](const httplib::Request& req, httplib::Response& res, std::exception_ptr thrown) {
        int status = 500;
        int32_t retry_after = 0;
        std::string message = "internal error", code;
        try {
          std::rethrow_exception(thrown);
        } catch (const http::error& e) {
          status = e.status(), message = e.what(), code = e.code(), retry_after = e.retry_after_s();
        } catch (const std::exception& e) {
          status = http::status_of_cluster_error(e.what()), message = e.what();
        } catch (...) {
        }
        if (status >= 500)
          log->warn("{} {}: {}", req.method, req.path, message);
        if (retry_after > 0)
          res.set_header("Retry-After", std::to_string(retry_after));
        http::send_json(res, http::error_body(status, message, code), status);
      });
  // Errors httplib produces itself (no route, body too large) get the same JSON shape.
  server.set_error_handler(
      httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty() || res.is_chunked_content_provider_)
          return httplib::Server::HandlerResponse::Unhandled;
        http::send_json(res,
                        http::error_body(res.status, default_message(req, res.status, opts.max_body_bytes),
                                         res.status == 404 ? "not_found" : ""),
                        res.status);
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    log->debug("{} {} -> {}", req.method, req.path, res.status);
  });

  http::add_page_routes(server);
  http::add_openai_routes(server, ctx);
  http::add_admin_routes(server, ctx);
  http::add_metrics_route(server, ctx);
}

http_server::http_server(cluster_client& client, http_options opts)
    : impl_(std::make_unique<impl>(client, std::move(opts))) {
  impl_->configure();
}

http_server::~http_server() { stop(); }

uint16_t http_server::start() {
  auto [host, port] = split_address(impl_->opts.listen);
  int bound =
      port == 0 ? impl_->server.bind_to_any_port(host) : (impl_->server.bind_to_port(host, port) ? port : -1);
  if (bound <= 0)
    throw std::runtime_error("cannot listen on " + impl_->opts.listen + " (address in use or not local?)");
  impl_->server.widen_backlog(std::max(128, impl_->opts.max_generations + 8));
  impl_->thread = std::thread([this] { impl_->server.listen_after_bind(); });
  return static_cast<uint16_t>(bound);
}

void http_server::stop() {
  if (!impl_->thread.joinable())
    return;
  impl_->server.stop();
  impl_->thread.join();
}

namespace {

volatile std::sig_atomic_t signal_seen = 0;
extern "C" void note_signal(int sig) { signal_seen = sig; }

} // namespace

int serve_http(cluster_client& client, const http_options& opts, const std::atomic<bool>* stop) {
  http_server server(client, opts);
  uint16_t port = 0;
  try {
    port = server.start();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  auto host = split_address(opts.listen).first;
  std::printf("llamps http: serving the web page and API on http://%s:%u/ (Ctrl-C stops)\n", host.c_str(),
              port);
  std::fflush(stdout);
  // Other threads (the actor system's) may take the signal: a handler that only sets a
  // flag works whichever thread runs it; this thread polls the flag.
  struct sigaction action {
  }, old_int{}, old_term{};
  action.sa_handler = note_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &old_int);
  sigaction(SIGTERM, &action, &old_term);
  while (!signal_seen && !(stop && stop->load()))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  sigaction(SIGINT, &old_int, nullptr);
  sigaction(SIGTERM, &old_term, nullptr);
  std::printf("llamps http: %s, stopping\n", signal_seen ? "signal received" : "stopped");
  std::fflush(stdout);
  server.stop();
  return 0;
}

} // namespace llamps
