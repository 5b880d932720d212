// llamps demo: the whole system in one process. A registry, three contributors with different
// leftover capacities, the planner, the deployer and a session — the same actors, exchanging
// the same messages, as a cluster of machines.
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "actors/protocol/actors.hpp"
#include "model/text/generation_loop.hpp"
#include "model/shapes/presets.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/node/cluster_client.hpp"
#include "runtime/cli/commands.hpp"
#include "runtime/node/demo_cluster.hpp"
#include "runtime/http/http_node.hpp"
#include "actors/support/logging.hpp"
#include "actors/server/model_files.hpp"
#include "runtime/shell/render.hpp"

namespace llamps {

namespace fs = std::filesystem;

namespace {

// --model, else the team's test model, else the first GGUF in models/, else a fresh
// random one (and says so).
std::string find_demo_model(const std::string& given) {
  if (!given.empty())
    return given;
  for (auto candidate : {"../shared/models/stories260K.gguf", "models/stories260K.gguf"})
    if (fs::exists(candidate))
      return candidate;
  if (fs::is_directory("models"))
    for (auto& entry : fs::directory_iterator("models"))
      if (entry.path().extension() == ".gguf")
        return entry.path().string();
  auto path = (fs::temp_directory_path() / "llamps-demo-tiny.gguf").string();
  std::cout << "no model found (../shared/models/stories260K.gguf or models/*.gguf): making a small "
               "random one with `llamps make-model --preset tiny --out "
            << path << "`\n";
  write_preset_model(find_preset("tiny"), path, make_model_options{});
  return path;
}

} // namespace

int cmd::demo(int argc, char** argv) {
  namespace po = cli::po;
  po::options_description options("llamps demo options");
  std::string model_path, prompt, log_level, http, api_key, kv_type;
  int steps = 0, sessions = 4, queue_length = 256;
  double queue_seconds = 30;
  float temperature = 0, top_p = 0;
  uint64_t seed = 0;
  options.add_options()(
      "model", po::value(&model_path),
      "GGUF model (default: ../shared/models/stories260K.gguf, models/*.gguf, or a random tiny model)")(
      "prompt", po::value(&prompt)->default_value("Once upon a time"),
      "prompt")("kv-type", po::value(&kv_type)->default_value("f16")->notifier(cli::kv_type_option()),
                "the block hosts' KV cache type: f16 or f32")("steps", po::value(&steps)->default_value(64),
                                                              "positions in all: BOS + prompt + generated")(
      "temperature", po::value(&temperature)->default_value(0.0f, "0"),
      "0 = greedy")("top-p", po::value(&top_p)->default_value(0.9f, "0.9"), "nucleus sampling threshold")(
      "seed", po::value(&seed)->default_value(42),
      "sampling seed")("ids", "print the token ids (BOS, prompt, generated) on the last line")(
      "sessions", po::value(&sessions)->default_value(sessions),
      "concurrent sessions the deployment holds KV for (its hosts' budget; more wait in line)")(
      "queue-seconds", po::value(&queue_seconds)->default_value(queue_seconds, "30"),
      "the longest a session waits in line for a place while all are in use (then HTTP 429); 0 = refuse at "
      "once")("queue-length", po::value(&queue_length)->default_value(queue_length),
              "sessions that may wait in line (the one being admitted included); more are refused at once "
              "(HTTP 429)")("log-level", po::value(&log_level)->default_value("warn"),
                            "trace, debug, info, warn, error, off")(
      "http", po::value(&http), "then serve the web page and HTTP API on HOST:PORT until Ctrl-C")(
      "api-key", po::value(&api_key), "with --http: require 'Authorization: Bearer KEY' on the API")(
      "serve-only", "with --http: skip the demo's own deploy and generation (deploy from the page)");
  auto parsed = cli::parse(argc, argv,
                           "llamps demo [--model PATH] [--prompt TEXT] [--steps N] [--temperature T] [--ids] "
                           "[--sessions N] [--http HOST:PORT [--serve-only]]",
                           options);
  if (parsed.exit_code)
    return *parsed.exit_code;
  set_log_level(log_level);
  if (parsed.vars.count("serve-only") && http.empty()) {
    std::cerr << "error: --serve-only needs --http HOST:PORT\n";
    return 2;
  }
  plan_request req;
  req.sessions = sessions;
  if (auto problem = plan_request_problem(req)) {
    std::cerr << "error: --" << *problem << "\n";
    return 2;
  }
  if (!(queue_seconds >= 0 && queue_seconds <= 86400) || queue_length < 1 || queue_length > 1000000) {
    std::cerr << "error: --queue-seconds must be between 0 and 86400, --queue-length between 1 and 1000000\n";
    return 2;
  }
  registry_options queue;
  queue.queue_length = static_cast<size_t>(queue_length);
  queue.queue_wait = std::chrono::milliseconds(static_cast<int64_t>(queue_seconds * 1000));
  auto http_options = [&] { return demo_http_options(http, api_key, model_path, queue.queue_wait); };
  generation_order order;
  order.prompt = prompt;
  order.steps = steps;
  order.temperature = temperature;
  order.top_p = top_p;
  order.seed = seed;
  check_generation(to_request(order)); // before the cluster starts
  model_path = find_demo_model(model_path);

  auto profile = profile_of(model_path, parse_kv_type(kv_type));
  demo_cluster cluster(profile, sessions, queue);
  auto& client = cluster.client();
  std::cout << "LLaMPS demo: model " << profile.name << " (" << profile.n_blocks << " blocks, "
            << human_bytes(profile.block_bytes) << " per block) from " << model_path << "\n\n";
  std::cout << "Available servers:\n" << render_servers(client.servers()) << "\n";
  if (parsed.vars.count("serve-only"))
    return serve_http(client, http_options());

  req.model = profile;
  std::cout << render_plan(client.plan(req)) << "\n";
  auto status = client.deploy(req);
  std::cout << "Deploy:\n" << render_progress(status) << "\n";

  session_options so;
  so.model = profile.name;
  so.model_path = model_path;
  auto session = client.open_session(so);
  std::cout << "Generating (prompt \"" << prompt << "\"):\n" << std::flush;
  auto report = client.generate(session, order,
                                [](int32_t, const std::string& piece) { std::cout << piece << std::flush; });
  std::cout << "\n\nroute: " << render_route(report.route) << std::endl; // before the figures on stderr
  std::fprintf(stderr, "prefill %.1f tokens/s, decode %.1f tokens/s\n",
               report.prompt_tokens / std::max(1e-9, report.prefill_seconds),
               report.generated_tokens / std::max(1e-9, report.decode_seconds));
  client.close_session(session);
  if (parsed.vars.count("ids"))
    std::cout << render_ids(report.ids) << "\n";
  if (!http.empty())
    return serve_http(client, http_options());
  return 0;
}

} // namespace llamps
