// llamps generate: the whole model in this process. Text streams to stdout as it is generated;
// with --ids the last line of stdout is every position's id (BOS, prompt, generated).
#include <algorithm>
#include <cstdio>
#include <string>

#include "model/decoder/block_stack.hpp"
#include "model/text/chat_prompt.hpp"
#include "model/text/generator.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/cli/commands.hpp"

int llamps::cmd::generate(int argc, char** argv) {
  namespace po = cli::po;
  const sampling_params defaults;
  po::options_description opts("options");
  opts.add_options()("model", po::value<std::string>()->required(), "GGUF model file")(
      "prompt", po::value<std::string>()->default_value(""),
      "text to continue")("steps", po::value<int>()->default_value(256),
                          "positions in all: BOS + prompt + generated (capped by the context)")(
      "temperature", po::value<float>()->default_value(defaults.temperature),
      "0 = greedy")("top-p", po::value<float>()->default_value(defaults.top_p), "nucleus sampling (1 = off)")(
      "top-k", po::value<int>()->default_value(defaults.top_k), "top-k sampling (0 = off)")(
      "seed", po::value<uint64_t>()->default_value(defaults.seed),
      "sampling seed")("threads", po::value<int>()->default_value(0)->notifier(cli::threads_option()),
                       "compute threads (0 = all cores)")(
      "kv-type", po::value<std::string>()->default_value("f16")->notifier(cli::kv_type_option()),
      "KV cache type: f16 or f32")("ids", po::bool_switch(), "print the ids as the last line of stdout")(
      "chat", po::bool_switch(),
      "the prompt is one user message, rendered in the model's chat template "
      "(generation stops at its end of turn); prints the answer only")(
      "chat-template", po::value<std::string>()->default_value(""),
      "with --chat: this template family instead of the model's own (see docs/chat.md)");
  auto parsed = cli::parse(argc, argv, "llamps generate --model PATH [options]", opts);
  if (parsed.exit_code)
    return *parsed.exit_code;
  const auto& vars = parsed.vars;

  generation_request req;
  req.prompt = vars["prompt"].as<std::string>();
  req.steps = vars["steps"].as<int>();
  req.sampling.temperature = vars["temperature"].as<float>();
  req.sampling.top_p = vars["top-p"].as<float>();
  req.sampling.top_k = vars["top-k"].as<int>();
  req.sampling.seed = vars["seed"].as<uint64_t>();
  check_generation(req); // before the model loads, which takes a while for a big one

  set_compute_threads(vars["threads"].as<int>());
  generator gen(vars["model"].as<std::string>(), parse_kv_type(vars["kv-type"].as<std::string>()));
  if (vars["steps"].defaulted())
    req.steps = std::min(req.steps, gen.config().n_ctx);
  const bool chat = vars["chat"].as<bool>();
  if (chat) {
    auto model_template =
        gguf::file::open(vars["model"].as<std::string>()).get_string("tokenizer.chat_template");
    auto prompt = make_chat_prompt(gen.tok(), model_template.value_or(""),
                                   vars["chat-template"].as<std::string>(), {{"user", req.prompt}});
    req.prompt_ids = prompt.ids;
    req.stop_tokens = prompt.stop_tokens;
  }

  // The prompt's text first (printed with the first token, so that a refused prompt prints
  // nothing but the error), then each token as it comes.
  bool prompt_printed = chat; // a rendered chat is not shown
  auto print_prompt = [&] {
    if (!prompt_printed)
      std::fputs(req.prompt.c_str(), stdout);
    prompt_printed = true;
  };
  generation_result r = gen.generate(req, [&](int32_t, const std::string& piece) {
    print_prompt();
    std::fputs(piece.c_str(), stdout);
    std::fflush(stdout);
  });
  print_prompt();
  std::fputs("\n", stdout);
  if (vars["ids"].as<bool>()) {
    std::string line;
    for (size_t i = 0; i < r.ids.size(); ++i)
      line += (i ? " " : "") + std::to_string(r.ids[i]);
    std::printf("%s\n", line.c_str());
  }
  std::fflush(stdout);

  const int generated = int(r.ids.size()) - r.prompt_tokens;
  std::fprintf(stderr,
               "prefill %d tokens in %.1f ms (%.0f tokens/s), decode %d tokens in %.1f ms "
               "(%.0f tokens/s)\n",
               r.prompt_tokens, r.prefill_seconds * 1e3,
               r.prefill_seconds > 0 ? r.prompt_tokens / r.prefill_seconds : 0.0, generated,
               r.decode_seconds * 1e3, r.decode_seconds > 0 ? generated / r.decode_seconds : 0.0);
  return 0;
}
