// llamps plan: optimal placement (OPA) of a model's blocks over the servers in a CSV file.
// The planning itself is actors/planner/opa.hpp; this file reads the inputs, prints the plan, and
// times the planner (--bench). Memory is in GB = 10^9 bytes throughout.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>

#include "model/gguf/gguf.hpp"
#include "model/decoder/llama_config.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/cli/commands.hpp"
#include "model/shapes/model_catalog.hpp"
#include "actors/planner/opa.hpp"

namespace llamps::cmd {

namespace {

namespace po = boost::program_options;

uint64_t gb_to_bytes(double gb) { return static_cast<uint64_t>(std::llround(gb * opa::bytes_per_gb)); }
double to_gb(uint64_t bytes) { return static_cast<double>(bytes) / opa::bytes_per_gb; }

std::vector<std::string> split_csv_line(const std::string& line) {
  std::vector<std::string> cells;
  std::stringstream in(line);
  for (std::string cell; std::getline(in, cell, ',');) {
    size_t a = cell.find_first_not_of(" \t\r"), b = cell.find_last_not_of(" \t\r");
    cells.push_back(a == std::string::npos ? "" : cell.substr(a, b - a + 1));
  }
  return cells;
}

double number_cell(const std::string& cell, const std::string& where) {
  char* end = nullptr;
  double v = std::strtod(cell.c_str(), &end);
  if (cell.empty() || *end != '\0' || !(v >= 0))
    throw std::runtime_error(where + ": '" + cell + "' is not a non-negative number");
  return v;
}

// CSV with a header naming its columns: name, memory_gb, cores (required), address and
// block_tokens_per_s (optional: a measured rate through one block).
std::vector<opa::server_offer> read_servers(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw std::runtime_error("cannot open servers file " + path);
  std::string line;
  if (!std::getline(in, line))
    throw std::runtime_error(path + " is empty (expected a header: name,memory_gb,cores)");
  std::vector<std::string> header = split_csv_line(line);
  auto column = [&](const std::string& want, bool required) {
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == want)
        return static_cast<int>(i);
    if (required)
      throw std::runtime_error(path + ": the header has no '" + want + "' column");
    return -1;
  };
  int c_name = column("name", true), c_mem = column("memory_gb", true);
  int c_cores = column("cores", true), c_addr = column("address", false);
  int c_rate = column("block_tokens_per_s", false);
  std::vector<opa::server_offer> servers;
  for (int line_no = 2; std::getline(in, line); ++line_no) {
    if (line.find_first_not_of(" \t\r") == std::string::npos || line[0] == '#')
      continue;
    std::vector<std::string> cells = split_csv_line(line);
    std::string where = path + ":" + std::to_string(line_no);
    if (cells.size() < header.size())
      throw std::runtime_error(where + ": expected " + std::to_string(header.size()) + " cells");
    opa::server_offer s;
    s.name = cells[c_name];
    s.memory_bytes = gb_to_bytes(number_cell(cells[c_mem], where));
    s.cores = static_cast<int>(number_cell(cells[c_cores], where));
    if (c_addr >= 0)
      s.address = cells[c_addr];
    if (c_rate >= 0 && !cells[c_rate].empty())
      s.measured_block_tokens_per_s = number_cell(cells[c_rate], where);
    servers.push_back(s);
  }
  return servers;
}

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The model: a GGUF header, a catalog name (with --params for unknown names), or plain
// --blocks/--block-gb. Sets the context to the model's own when none was given.
model_profile read_model(const po::variables_map& vm, int& context) {
  model_profile m;
  if (vm.count("blocks")) {
    m.name = "model";
    m.n_blocks = vm["blocks"].as<int>();
    m.block_bytes = gb_to_bytes(vm["block-gb"].as<double>());
    m.kv_bytes_per_token_per_block = static_cast<uint64_t>(vm["kv-bytes"].as<int64_t>());
    return m;
  }
  std::string model = vm["model"].as<std::string>();
  if (is_file(model)) {
    m = read_block_profile(gguf::file::open(model), parse_kv_type(vm["kv-type"].as<std::string>()));
    context = context ? context : m.n_ctx;
    return m;
  }
  std::optional<double> params;
  if (vm.count("params") && !(params = catalog::parse_params(vm["params"].as<std::string>())))
    throw std::runtime_error("--params: '" + vm["params"].as<std::string>() + "' is not a size");
  auto shape = catalog::lookup(model, params);
  if (!shape)
    throw std::runtime_error("'" + model +
                             "' is neither a file nor a known model name "
                             "(give --params for an unlisted LLaMA-family model)");
  auto type = catalog::parse_dtype(vm["dtype"].as<std::string>());
  if (!type)
    throw std::runtime_error("--dtype must be f32, f16, q8_0 or q4_0");
  static_cast<model_shape&>(m) = shape->sized(*type, parse_kv_type(vm["kv-type"].as<std::string>()));
  context = context ? context : shape->n_ctx;
  return m;
}

std::string sessions_text(int64_t s) { return s == opa::unlimited_sessions ? "-" : std::to_string(s); }

void print_table(const opa::plan& p, const opa::plan_request& r, size_t offered) {
  std::printf("model %s: %d blocks x %.3f GB; objective %s; %d of %zu servers", p.model.c_str(),
              r.model.n_blocks, to_gb(r.model.block_bytes), p.objective.c_str(), p.servers_used, offered);
  if (p.replicas > 1)
    std::printf("; %d replicas", p.replicas);
  std::printf("\n%-16s %-9s %10s %10s %9s %12s\n", "server", "blocks", "GB used", "GB left", "sessions",
              "tokens/s");
  for (const opa::assignment& a : p.assignments) {
    std::string range = std::to_string(a.first) + "-" + std::to_string(a.last - 1); // inclusive, for people
    std::printf("%-16s %-9s %10.2f %10.2f %9s %12.2f\n", a.server.c_str(), range.c_str(), to_gb(a.bytes_used),
                to_gb(a.bytes_left), sessions_text(a.sessions_capacity).c_str(), a.tokens_per_s);
  }
  std::printf("chain: %s concurrent sessions, bottleneck %.2f tokens/s%s\n",
              sessions_text(p.sessions_capacity).c_str(), p.bottleneck_tokens_per_s,
              p.proven_optimal ? "" : " (search budget hit: best found, not proven optimal)");
}

nlohmann::json plan_json(const opa::plan& p, const std::vector<opa::server_offer>& servers) {
  auto sessions = [](int64_t s) {
    return s == opa::unlimited_sessions ? nlohmann::json(nullptr) : nlohmann::json(s);
  };
  nlohmann::json out = {{"model", p.model},
                        {"objective", p.objective},
                        {"feasible", p.feasible},
                        {"replicas", p.replicas},
                        {"servers_used", p.servers_used},
                        {"sessions", sessions(p.sessions_capacity)},
                        {"bottleneck_tokens_per_s", p.bottleneck_tokens_per_s},
                        {"proven_optimal", p.proven_optimal}};
  if (!p.feasible)
    out["reason"] = p.reason;
  out["assignments"] = nlohmann::json::array();
  for (const opa::assignment& a : p.assignments)
    out["assignments"].push_back({{"server", a.server},
                                  {"address", servers[a.server_index].address},
                                  {"replica", a.replica},
                                  {"first_block", a.first},
                                  {"last_block", a.last - 1}, // inclusive, as the table
                                  {"blocks", a.blocks()},
                                  {"gb_used", to_gb(a.bytes_used)},
                                  {"gb_left", to_gb(a.bytes_left)},
                                  {"sessions", sessions(a.sessions_capacity)},
                                  {"tokens_per_s", a.tokens_per_s}});
  return out;
}

// --bench: random servers (8-160 GB, 1-64 cores, fixed seed) x 80 blocks of 3.75 GB; the best
// of 3 runs of each objective, in ms.
int bench() {
  opa::plan_request r;
  r.model.name = "llama-2-70b";
  r.model.n_blocks = 80;
  r.model.block_bytes = gb_to_bytes(3.75);
  for (size_t n : {1000u, 10000u, 100000u}) {
    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> mem(8, 160);
    std::uniform_int_distribution<int> cores(1, 64);
    std::vector<opa::server_offer> servers(n);
    for (size_t i = 0; i < n; ++i)
      servers[i] = {"s" + std::to_string(i + 1), "", gb_to_bytes(std::round(mem(rng) * 1000) / 1000),
                    cores(rng), 0};
    for (opa::objective o :
         {opa::objective::fewest_servers, opa::objective::max_sessions, opa::objective::max_throughput}) {
      r.goal = o;
      double best_ms = 1e18;
      opa::plan p;
      for (int run = 0; run < 3; ++run) {
        auto t0 = std::chrono::steady_clock::now();
        p = opa::make_plan(servers, r);
        std::chrono::duration<double, std::milli> ms = std::chrono::steady_clock::now() - t0;
        best_ms = std::min(best_ms, ms.count());
      }
      std::printf("servers=%-7zu blocks=80 objective=%-15s ms=%8.2f servers_used=%d%s\n", n,
                  opa::objective_name(o), best_ms, p.servers_used, p.feasible ? "" : " INFEASIBLE");
    }
  }
  return 0;
}

} // namespace

int plan(int argc, char** argv) {
  po::options_description opts("options");
  opts.add_options()("servers", po::value<std::string>(),
                     "CSV: name,memory_gb,cores[,address][,block_tokens_per_s]")(
      "model", po::value<std::string>(), "GGUF file, or a catalog name (llama-2-70b, mistral-7b, ...)")(
      "params", po::value<std::string>(), "parameter count for a name not in the catalog (e.g. 13b)")(
      "dtype", po::value<std::string>()->default_value("f16"),
      "catalog models: the weights' type: f32, f16, q8_0, q4_0")(
      "kv-type", po::value<std::string>()->default_value("f16"), "the KV cache's type: f16 or f32")(
      "blocks", po::value<int>(), "number of blocks (instead of --model)")("block-gb", po::value<double>(),
                                                                           "GB per block (with --blocks)")(
      "kv-bytes", po::value<int64_t>()->default_value(0), "KV bytes per token per block (with --blocks)")(
      "objective", po::value<std::string>()->default_value("fewest-servers"),
      "fewest-servers, max-sessions or max-throughput")("replicas", po::value<int>()->default_value(1),
                                                        "put every block on K distinct servers")(
      "sessions", po::value<int>()->default_value(0), "concurrent sessions to reserve KV cache for")(
      "context", po::value<int>()->default_value(0), "tokens per session (default: the model's)")(
      "overhead-gb", po::value<double>()->default_value(0), "fixed memory overhead per server")(
      "core-gbps", po::value<double>()->default_value(2),
      "speed model: GB of weights a core streams per second")("json", "print the plan as JSON")(
      "bench", "time the planner on 1k/10k/100k random servers x 80 blocks");
  auto parsed = cli::parse(argc, argv,
                           "llamps plan --servers FILE (--model PATH|NAME | --blocks N --block-gb G) "
                           "[--objective NAME] [--replicas K] [--sessions S --context T] [--json]",
                           opts);
  if (parsed.exit_code)
    return *parsed.exit_code;
  const po::variables_map& vm = parsed.vars;
  if (vm.count("bench"))
    return bench();
  if (!vm.count("servers") || (!vm.count("model") && !(vm.count("blocks") && vm.count("block-gb")))) {
    std::cerr << "llamps plan: give --servers FILE and either --model or --blocks with --block-gb\n";
    return 2;
  }
  auto goal = opa::parse_objective(vm["objective"].as<std::string>());
  if (!goal) {
    std::cerr << "llamps plan: unknown objective '" << vm["objective"].as<std::string>()
              << "' (fewest-servers, max-sessions, max-throughput)\n";
    return 2;
  }
  // Out-of-range numbers are refused here: a negative GB would wrap to a huge byte count below.
  const auto number = [&](const char* name) { return vm.count(name) ? vm[name].as<double>() : 0.0; };
  const std::pair<bool, const char*> rules[] = {
      {vm.count("blocks") && vm["blocks"].as<int>() < 1, "--blocks must be at least 1"},
      {vm.count("block-gb") && !(number("block-gb") > 0 && std::isfinite(number("block-gb"))),
       "--block-gb must be a positive number"},
      {vm["kv-bytes"].as<int64_t>() < 0, "--kv-bytes must not be negative"},
      {vm["replicas"].as<int>() < 1, "--replicas must be at least 1"},
      {vm["sessions"].as<int>() < 0, "--sessions must not be negative"},
      {vm["context"].as<int>() < 0, "--context must not be negative (0: the model's)"},
      {!(number("overhead-gb") >= 0 && std::isfinite(number("overhead-gb"))),
       "--overhead-gb must be 0 or a positive number"},
      {!(number("core-gbps") > 0 && std::isfinite(number("core-gbps"))),
       "--core-gbps must be a positive number"},
  };
  for (const auto& [broken, rule] : rules)
    if (broken) {
      std::cerr << "llamps plan: " << rule << "\n";
      return 2;
    }
  opa::plan_request r;
  r.goal = *goal;
  r.replicas = vm["replicas"].as<int>();
  r.sessions = vm["sessions"].as<int>();
  r.context = vm["context"].as<int>();
  r.per_server_overhead_bytes = gb_to_bytes(vm["overhead-gb"].as<double>());
  r.core_bytes_per_s = vm["core-gbps"].as<double>() * opa::bytes_per_gb;
  r.model = read_model(vm, r.context);
  std::vector<opa::server_offer> servers = read_servers(vm["servers"].as<std::string>());

  opa::plan p = opa::make_plan(servers, r);
  if (vm.count("json"))
    std::cout << plan_json(p, servers).dump(2) << "\n";
  else if (p.feasible)
    print_table(p, r, servers.size());
  if (!p.feasible) {
    std::cerr << "llamps plan: infeasible: " << p.reason << "\n";
    return 1;
  }
  return 0;
}

} // namespace llamps::cmd
