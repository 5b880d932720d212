#pragma once
// The web page and the HTTP API of a node (or of the demo): one httplib server on top of a
// cluster_client. Routes (docs/http.md has the details):
//   GET  /                      the web page (assets compiled into the binary; no API key)
//   POST /v1/completions        OpenAI-compatible, streaming (SSE) or not
//   POST /v1/chat/completions   OpenAI-compatible, streaming (SSE) or not
//   GET  /v1/models             deployed models
//   /api/...                    the admin API the page uses (servers, plan, deploy, ...)
//   GET  /metrics               Prometheus text format
// Everything but the page needs `Authorization: Bearer KEY` when an API key is set.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "runtime/node/cluster_client.hpp"

namespace llamps {

// What the page shows about the machine serving it (its role is fixed when the node starts).
struct node_role_info {
  std::string node_id;
  std::string role;                // "registry", "contributor", "both", "demo"
  bool contributes = false;        // offers its leftover capacity to the cluster
  uint64_t share_memory_bytes = 0; // cap on what it offers (0 = what the machine has free)
  int32_t share_cores = 0;         // 0 = all
  std::string note;                // one human line, e.g. how to change the role
  std::string model_path;          // a GGUF here the page offers to deploy ("" = none)
};

struct http_options {
  std::string listen = "127.0.0.1:8080"; // localhost unless asked otherwise
  std::string api_key;                   // "" = no key required
  size_t max_body_bytes = 1 << 20;       // larger request bodies get 413
  size_t max_prompt_bytes = 64 << 10;    // prompt text (chat: all messages) per request
  int32_t max_new_tokens = 4096;         // cap on max_tokens
  // Requests this server holds at once, generating or waiting in their model's queue (each
  // holds a thread); more get 429 with Retry-After at once.
  int32_t max_generations = 256;
  std::chrono::milliseconds queue_wait{std::chrono::seconds(30)}; // the longest a request waits in line
  node_role_info node;
};

class http_server {
public:
  http_server(cluster_client& client, http_options opts);
  ~http_server(); // stops
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  // Binds opts.listen and serves on a thread of its own. Returns the bound port (useful
  // with port 0). Throws std::runtime_error when the address cannot be bound.
  uint16_t start();
  // Stops accepting, waits for the server thread. Idempotent.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// Serves until SIGINT or SIGTERM (or until *stop becomes true). Prints one line with the
// address once it listens. Returns 0, or 1 when it cannot bind (the reason is printed).
int serve_http(cluster_client& client, const http_options& opts, const std::atomic<bool>* stop = nullptr);

} // namespace llamps
