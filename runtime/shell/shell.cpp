#include "runtime/shell/shell.hpp"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>

#include <boost/program_options.hpp>
#include <readline/history.h>
#include <readline/readline.h>

#include "model/text/generation_loop.hpp"
#include "actors/server/model_files.hpp"
#include "runtime/shell/render.hpp"
#include "runtime/shell/shell_args.hpp"

namespace llamps {

namespace po = boost::program_options;

namespace {

const char* help_text = R"(commands:
  servers                           the available servers: leftover memory, cores, health, hosting
  plan MODEL [--replicas K] [--objective NAME] [--sessions S]
                                    the placement OPA would choose (MODEL: a GGUF path here)
  deploy MODEL [--replicas K] [--objective NAME] [--sessions S] [--kv-type f16|f32]
                                    plan and load MODEL's blocks on the servers
  deployments                       deployed models and which server hosts which blocks
  undeploy MODEL                    unload a model (its name or its path)
  generate [--model NAME] [--steps N] [--temperature T] [--top-p P] [--seed S] [--ids] PROMPT
                                    generate text through the block hosts (while the model is at
                                    capacity it waits in line, and says so)
  chat [--model NAME] [--temperature T] [--steps N] [--chat-template NAME] [--system TEXT] [--stats]
                                    a conversation: each line is a turn, an empty line ends it;
                                    answers of at most N tokens (256), in the model's chat template
                                    (or the family NAME), [--stats]: prompt tokens, cached, generated
  sessions                          sessions the registry knows
  hosts                             every block host's live figures: sessions, KV bytes, steps
  load --sessions N [--steps S] [--temperature T] [--ids] [--prompts-file F] PROMPT
                                    N concurrent sessions (prompts of F cycled), one summary line;
                                    those beyond the model's capacity wait in line
  help                              this text
  quit                              leave the shell
)";

std::vector<std::string> split_words(const std::string& line) { return po::split_unix(line); }

} // namespace

boost::program_options::variables_map parse_shell_args(const std::vector<std::string>& args,
                                                       const po::options_description& options,
                                                       const std::string& command, const char* rest,
                                                       int rest_count, const std::string& usage) {
  po::positional_options_description pos;
  if (rest)
    pos.add(rest, rest_count);
  po::variables_map vars;
  try {
    po::store(po::command_line_parser(args).options(options).positional(pos).run(), vars);
    po::notify(vars);
  } catch (const po::error& e) {
    throw std::runtime_error(command + ": " + e.what() + usage);
  }
  return vars;
}

std::string join_words(const std::vector<std::string>& words) {
  std::string out;
  for (auto& w : words)
    out += (out.empty() ? "" : " ") + w;
  return out;
}

// Options shared by plan and deploy.
plan_request plan_request_from(const std::vector<std::string>& args, const char* command) {
  plan_request req;
  std::string model, kv_type = "f16", objective = opa::objective_name(req.goal);
  po::options_description o;
  o.add_options()("model", po::value(&model)->required())("replicas", po::value(&req.replicas))(
      "objective", po::value(&objective))("sessions", po::value(&req.sessions))(
      "context", po::value(&req.context))("kv-type", po::value(&kv_type));
  parse_shell_args(args, o, command, "model", 1,
                   std::string(" (usage: ") + command + " MODEL [--replicas K])");
  auto goal = opa::parse_objective(objective);
  if (!goal)
    throw std::runtime_error(std::string(command) + ": unknown objective '" + objective +
                             "' (fewest-servers, max-sessions, max-throughput)");
  req.goal = *goal;
  if (auto problem = plan_request_problem(req))
    throw std::runtime_error(std::string(command) + ": " + *problem);
  req.model = profile_of(model, parse_kv_type(kv_type));
  return req;
}

shell::shell(cluster_client& client, std::ostream& out, std::ostream& err, session_options sessions,
             bool terminal_out)
    : client_(client), out_(out), err_(err), sessions_(std::move(sessions)), terminal_out_(terminal_out) {}

session_options shell::session_for(const std::string& model) const {
  session_options so = sessions_;
  so.model = model;
  return so;
}

void shell::help() { out_ << help_text; }

void shell::servers() { out_ << render_servers(client_.servers()); }

void shell::plan(const std::vector<std::string>& args) {
  out_ << render_plan(client_.plan(plan_request_from(args, "plan")));
}

void shell::undeploy(const std::vector<std::string>& args) {
  if (args.size() != 1)
    throw std::runtime_error("usage: undeploy MODEL");
  auto model = std::filesystem::path(args[0]).stem().string();
  client_.undeploy(model);
  out_ << "undeployed " << model << "\n";
}

void shell::deployments() { out_ << render_deployments(client_.deployments()); }

void shell::sessions() {
  auto list = client_.sessions();
  if (list.empty())
    out_ << "no sessions\n";
  for (auto& s : list)
    out_ << s.session << "  " << s.model << "  " << s.tokens << " tokens  " << render_route(s.route) << "\n";
}

// The deployed model a command means: the one given, or the only one deployed.
std::string shell::pick_model(const std::string& given) {
  if (!given.empty())
    return std::filesystem::path(given).stem().string();
  auto deployed = client_.deployments();
  if (deployed.size() == 1)
    return deployed.front().model;
  throw std::runtime_error(deployed.empty() ? "no model is deployed (deploy MODEL first)"
                                            : "several models are deployed: say which with --model NAME");
}

void shell::generate(const std::vector<std::string>& args) {
  generation_order order;
  std::string model;
  std::vector<std::string> words;
  po::options_description o;
  o.add_options()("model", po::value(&model))("steps", po::value(&order.steps))(
      "temperature",
      po::value(&order.temperature))("top-p", po::value(&order.top_p))("top-k", po::value(&order.top_k))(
      "seed", po::value(&order.seed))("ids", "")("prompt", po::value(&words)->multitoken());
  auto vars = parse_shell_args(args, o, "generate", "prompt");
  order.prompt = join_words(words);
  check_generation(to_request(order));
  auto so = session_for(pick_model(model));
  auto session = client_.open_session(so);
  try {
    auto report = client_.generate(
        session, order, [&](int32_t, const std::string& piece) { out_ << piece << std::flush; },
        [&](int32_t position) {
          err_ << "queued: model " << so.model << " is at capacity; waiting in line, place " << position
               << std::endl;
        });
    out_ << "\n";
    if (interactive_)
      out_ << "[" << report.generated_tokens << " tokens, "
           << static_cast<int>(report.generated_tokens / std::max(1e-9, report.decode_seconds))
           << " tokens/s, route " << render_route(report.route) << "]\n";
    if (vars.count("ids"))
      out_ << render_ids(report.ids) << "\n";
    if (report.recoveries > 0) // a host failed on the way: say so, the output is the same
      err_ << "note: the session recovered " << report.recoveries << " time(s) by re-routing and replaying\n";
  } catch (...) {
    client_.close_session(session);
    throw;
  }
  client_.close_session(session);
}

void shell::chat(const std::vector<std::string>& args) {
  generation_order order;
  std::string model, system;
  int32_t answer_tokens = 256;
  po::options_description o;
  o.add_options()("model", po::value(&model))("steps", po::value(&answer_tokens))(
      "temperature", po::value(&order.temperature))("seed", po::value(&order.seed))(
      "chat-template", po::value(&order.chat_template))("system", po::value(&system))("stats", "");
  auto vars = parse_shell_args(args, o, "chat");
  if (answer_tokens < 1)
    throw std::runtime_error("chat: --steps (tokens per answer) must be positive, not " +
                             std::to_string(answer_tokens));
  // The whole conversation goes to the session every turn; the context bounds it, and --steps
  // each answer.
  order.steps = std::numeric_limits<int32_t>::max();
  order.max_new_tokens = answer_tokens;
  check_generation(to_request(order));
  if (!order.chat_template.empty())
    choose_chat_template(order.chat_template, ""); // an unknown name fails before the chat starts
  if (!system.empty())
    order.messages.push_back({"system", system});
  auto so = session_for(pick_model(model));
  auto session = client_.open_session(so);
  out_ << "chat with " << so.model << ": type a line, an empty line ends the chat\n";
  std::string line;
  while (true) {
    if (interactive_) {
      char* raw = readline("you> ");
      if (!raw)
        break;
      line = raw;
      std::free(raw);
    } else if (!std::getline(std::cin, line)) {
      break;
    }
    if (line.empty())
      break;
    order.messages.push_back({"user", line});
    try {
      std::string answer;
      auto report = client_.generate(session, order, [&](int32_t, const std::string& piece) {
        answer += piece;
        out_ << piece << std::flush;
      });
      out_ << "\n";
      order.messages.push_back({"assistant", answer});
      if (interactive_ || vars.count("stats"))
        out_ << "[" << report.prompt_tokens << " prompt tokens, " << report.cached_tokens
             << " of them cached, " << report.generated_tokens << " generated]\n";
    } catch (const std::exception& e) {
      err_ << "error: " << e.what() << "\n";
      order.messages.pop_back(); // the turn did not happen
    }
  }
  client_.close_session(session);
}

bool shell::run_line(const std::string& line) {
  auto words = split_words(line);
  if (words.empty() || words[0][0] == '#')
    return true;
  auto command = words[0];
  std::vector<std::string> args(words.begin() + 1, words.end());
  last_failed_ = false;
  try {
    if (command == "quit" || command == "exit")
      return false;
    else if (command == "help")
      help();
    else if (command == "servers")
      servers();
    else if (command == "plan")
      plan(args);
    else if (command == "deploy")
      deploy(args);
    else if (command == "deployments")
      deployments();
    else if (command == "undeploy")
      undeploy(args);
    else if (command == "generate")
      generate(args);
    else if (command == "chat")
      chat(args);
    else if (command == "sessions")
      sessions();
    else if (command == "hosts")
      hosts();
    else if (command == "load")
      load(args);
    else
      throw std::runtime_error("unknown command '" + command + "' (help lists them)");
  } catch (const std::exception& e) {
    err_ << "error: " << e.what() << std::endl;
    last_failed_ = true;
    ++failures_;
  }
  out_ << std::flush;
  return true;
}

int shell::run(bool interactive) {
  interactive_ = interactive;
  if (interactive) {
    out_ << "llamps shell — 'help' lists the commands\n";
    while (char* raw = readline("llamps> ")) {
      std::string line = raw;
      std::free(raw);
      if (!line.empty())
        add_history(line.c_str());
      if (!run_line(line))
        break;
    }
    return 0;
  }
  std::string line;
  while (std::getline(std::cin, line))
    if (!run_line(line))
      break;
  return failures_ > 0 ? 1 : 0;
}

} // namespace llamps
