// GET /metrics in Prometheus text format (exposition format 0.0.4): this server's generation
// counters; the cluster's servers, deployments and sessions from the registry; and per block
// host its live figures (step latency histogram, KV memory, sessions), asked of the hosts.
#include <cstdio>
#include <map>
#include <sstream>

#include "actors/cluster/admission_queue.hpp"
#include "runtime/http/http_context.hpp"

namespace llamps::http {

namespace {

std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"')
      out += '\\', out += c;
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

// 15 significant digits: exact for any count below 1e15, and no binary noise ("0.0001").
std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

class exposition {
public:
  void family(const char* name, const char* type, const char* help) {
    out_ << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
  }
  // labels: already rendered as `a="x",b="y"` (or empty).
  void sample(const std::string& name, const std::string& labels, double value) {
    out_ << name;
    if (!labels.empty())
      out_ << "{" << labels << "}";
    out_ << " " << number(value) << "\n";
  }
  std::string text() const { return out_.str(); }

private:
  std::ostringstream out_;
};

std::string label(const char* name, const std::string& value) {
  return std::string(name) + "=\"" + escape_label(value) + "\"";
}

std::string range_labels(const std::string& host, const hosted_range& h) {
  return label("host", host) + "," + label("model", h.model) + "," +
         label("blocks", std::to_string(h.first) + "-" + std::to_string(h.last - 1));
}

// One histogram's samples: `counts` per bucket (at or below each bound, then the rest) made
// cumulative, +Inf with all `total`, the sum and the count.
void histogram(exposition& m, const std::string& name, const std::string& labels,
               const std::vector<double>& bounds_s, const std::vector<uint64_t>& counts, uint64_t total,
               double sum_s) {
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_s.size(); ++i) {
    cumulative += i < counts.size() ? counts[i] : 0;
    m.sample(name + "_bucket", labels + "," + label("le", number(bounds_s[i])),
             static_cast<double>(cumulative));
  }
  m.sample(name + "_bucket", labels + ",le=\"+Inf\"", static_cast<double>(total));
  m.sample(name + "_sum", labels, sum_s);
  m.sample(name + "_count", labels, static_cast<double>(total));
}

void latency_histograms(exposition& m, const std::vector<host_ref>& hosts) {
  m.family("llamps_step_latency_seconds", "histogram",
           "Forward time of one step on a block host, per hosted block range.");
  std::vector<double> bounds_s;
  for (double us : step_latency_bounds_us())
    bounds_s.push_back(us / 1e6);
  for (auto& host : hosts) {
    const hosted_range& h = host.range;
    histogram(m, "llamps_step_latency_seconds", range_labels(host.node_id, h), bounds_s, h.latency_counts,
              h.steps, h.latency_sum_us / 1e6);
  }
}

// The registry's admission queues, one set of series per model.
void queue_metrics(exposition& m, const std::vector<queue_status>& queues) {
  m.family("llamps_queue_depth", "gauge", "Session requests waiting in the model's admission queue.");
  for (auto& q : queues)
    m.sample("llamps_queue_depth", label("model", q.model), q.depth);
  m.family("llamps_queue_wait_seconds", "histogram",
           "Time admitted sessions waited in their model's queue (0 for those admitted at once).");
  for (auto& q : queues)
    histogram(m, "llamps_queue_wait_seconds", label("model", q.model), admission_queue::wait_bounds_s(),
              q.wait_counts, q.admitted, q.wait_sum_s);
  m.family("llamps_queue_rejected_total", "counter",
           "Session requests the queue refused: full on arrival, or their deadline passed.");
  for (auto& q : queues) {
    m.sample("llamps_queue_rejected_total", label("model", q.model) + ",reason=\"full\"",
             static_cast<double>(q.rejected_full));
    m.sample("llamps_queue_rejected_total", label("model", q.model) + ",reason=\"deadline\"",
             static_cast<double>(q.rejected_deadline));
  }
  m.family("llamps_queue_cancelled_total", "counter",
           "Session requests that left the queue: their client went away.");
  for (auto& q : queues)
    m.sample("llamps_queue_cancelled_total", label("model", q.model), static_cast<double>(q.cancelled));
}

// One gauge per node: the sum over the block ranges it hosts of `field`.
template <class Field>
void per_host(exposition& m, const std::vector<host_ref>& hosts, const char* name, const char* help,
              Field field) {
  m.family(name, "gauge", help);
  std::map<std::string, double> totals;
  for (auto& h : hosts)
    totals[h.node_id] += static_cast<double>(field(h.range));
  for (auto& [node, total] : totals)
    m.sample(name, label("host", node), total);
}

std::string render(context& ctx) {
  auto servers = ctx.client.servers();
  auto deployments = ctx.client.deployments();
  auto sessions = ctx.client.sessions();
  auto hosts = ctx.client.live_hosts();
  exposition m;
  m.family("llamps_tokens_generated_total", "counter", "Tokens generated for this server's API requests.");
  m.sample("llamps_tokens_generated_total", "", static_cast<double>(ctx.tokens_generated_total.load()));
  m.family("llamps_prompt_tokens_total", "counter",
           "Prompt tokens (BOS included) of this server's finished generations.");
  m.sample("llamps_prompt_tokens_total", "", static_cast<double>(ctx.prompt_tokens_total.load()));
  m.family("llamps_generations_total", "counter", "Generations this server finished.");
  m.sample("llamps_generations_total", "", static_cast<double>(ctx.generations_total.load()));
  m.family("llamps_generations_running", "gauge",
           "Generations this server holds now: running, or waiting in their model's queue.");
  m.sample("llamps_generations_running", "", ctx.generations_running.load());
  m.family("llamps_generations_rejected_total", "counter",
           "This server's requests answered 429: no free slot here, or the model's queue refused them.");
  m.sample("llamps_generations_rejected_total", "",
           static_cast<double>(ctx.generations_rejected_total.load()));
  m.family("llamps_sessions_active", "gauge", "Sessions the registry knows (open, any client).");
  m.sample("llamps_sessions_active", "", static_cast<double>(sessions.size()));
  m.family("llamps_deployments", "gauge", "Models deployed on the cluster.");
  m.sample("llamps_deployments", "", static_cast<double>(deployments.size()));
  m.family("llamps_servers", "gauge", "Servers in the registry's list, by health.");
  std::map<bool, int> by_health{{true, 0}, {false, 0}};
  for (auto& s : servers)
    ++by_health[s.healthy];
  for (auto& [healthy, n] : by_health)
    m.sample("llamps_servers", label("healthy", healthy ? "true" : "false"), n);
  m.family("llamps_leftover_memory_bytes", "gauge", "Memory each server still offers.");
  for (auto& s : servers)
    m.sample("llamps_leftover_memory_bytes", label("host", s.offer.node_id),
             static_cast<double>(s.offer.memory_bytes));
  per_host(m, hosts, "llamps_kv_bytes", "KV cache memory in use on each host.",
           [](const hosted_range& h) { return h.kv_bytes; });
  per_host(m, hosts, "llamps_kv_budget_bytes", "KV cache memory budget of each host.",
           [](const hosted_range& h) { return h.kv_budget_bytes; });
  per_host(m, hosts, "llamps_host_sessions", "Sessions holding KV caches on each host.",
           [](const hosted_range& h) { return h.sessions; });
  latency_histograms(m, hosts);
  queue_metrics(m, ctx.client.queues());
  return m.text();
}

} // namespace

void add_metrics_route(httplib::Server& server, context& ctx) {
  server.Get("/metrics", [&ctx](const httplib::Request&, httplib::Response& res) {
    res.set_content(render(ctx), "text/plain; version=0.0.4; charset=utf-8");
  });
}

} // namespace llamps::http
