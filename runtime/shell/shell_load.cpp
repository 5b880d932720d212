// The shell's load commands: `load` drives many sessions at once from this one process (the
// load and soak tests use it), and `hosts` shows what every block host holds right now, so
// that a test can see that no KV memory is left behind.
#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

#include <boost/program_options.hpp>

#include "runtime/shell/render.hpp"
#include "runtime/shell/shell.hpp"
#include "runtime/shell/shell_args.hpp"

namespace llamps {

namespace po = boost::program_options;

void shell::hosts() {
  auto hosts = client_.live_hosts();
  if (hosts.empty())
    out_ << "no block hosts\n";
  // Raw integers: scripts read these columns.
  for (auto& h : hosts)
    out_ << h.node_id << "  " << h.range.model << "[" << h.range.first << "-" << h.range.last - 1
         << "]  sessions " << h.range.sessions << "  kv_bytes " << h.range.kv_bytes << "  steps "
         << h.range.steps << (h.range.draining ? "  draining" : "") << "\n";
}

void shell::load(const std::vector<std::string>& args) {
  generation_order order;
  int sessions = 1;
  std::string model, prompts_file;
  std::vector<std::string> words;
  po::options_description o;
  o.add_options()("sessions", po::value(&sessions))("model", po::value(&model))("steps",
                                                                                po::value(&order.steps))(
      "temperature", po::value(&order.temperature))("seed", po::value(&order.seed))("ids", "")(
      "prompts-file", po::value(&prompts_file))("prompt", po::value(&words)->multitoken());
  auto vars = parse_shell_args(args, o, "load", "prompt");
  if (sessions < 1 || sessions > 4096)
    throw std::runtime_error("load: --sessions must be between 1 and 4096");
  std::vector<std::string> prompts;
  if (!prompts_file.empty()) {
    std::ifstream in(prompts_file);
    if (!in)
      throw std::runtime_error("load: cannot read " + prompts_file);
    for (std::string line; std::getline(in, line);)
      prompts.push_back(line);
  } else {
    prompts.push_back(join_words(words));
  }
  if (prompts.empty())
    throw std::runtime_error("load: " + prompts_file + " holds no prompts");
  auto so = session_for(pick_model(model));

  // One thread per session: each blocks in its own generation, as separate clients would.
  std::mutex print;
  std::atomic<int> completed{0};
  std::atomic<int64_t> tokens{0};
  std::atomic<int> recoveries{0};
  std::atomic<int> queued{0};
  const bool ids = vars.count("ids") > 0;
  auto started = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int i = 0; i < sessions; ++i)
    threads.emplace_back([&, i] {
      auto mine = order;
      mine.prompt = prompts[i % prompts.size()];
      auto session = client_.open_session(so);
      try {
        auto report = client_.generate(session, mine, nullptr, [&, i](int32_t position) {
          ++queued;
          std::lock_guard<std::mutex> lock(print);
          err_ << "queued: session " << i << " waits in line, place " << position << "\n";
        });
        ++completed;
        tokens += report.generated_tokens;
        recoveries += report.recoveries;
        std::lock_guard<std::mutex> lock(print);
        if (ids)
          out_ << "session " << i << " prompt " << i % prompts.size() << ": " << render_ids(report.ids)
               << "\n";
      } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(print);
        err_ << "session " << i << ": " << e.what() << "\n";
      }
      client_.close_session(session);
    });
  for (auto& t : threads)
    t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  out_ << "load: " << sessions << " sessions, " << completed << " completed, " << sessions - completed
       << " failed, " << tokens << " tokens in " << static_cast<int>(seconds * 1000) << " ms, " << recoveries
       << " recoveries (re-routing), " << queued << " waited in line\n";
  if (completed != sessions)
    throw std::runtime_error("load: " + std::to_string(sessions - completed) + " sessions failed");
}

} // namespace llamps
