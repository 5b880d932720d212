// llamps make-model: writes a GGUF LLaMA preset with deterministic pseudo-random weights.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "model/shapes/presets.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/cli/commands.hpp"

namespace {

// Progress on stderr for files big enough to take a while: a line every 10%.
void report(uint64_t done, uint64_t total) {
  constexpr uint64_t big = uint64_t(64) << 20;
  if (total < big)
    return;
  static int last_decile = -1;
  const int decile = int(done * 10 / total);
  if (decile == last_decile)
    return;
  last_decile = decile;
  std::fprintf(stderr, "make-model: %llu / %llu MiB written (%d%%)\n", (unsigned long long)(done >> 20),
               (unsigned long long)(total >> 20), decile * 10);
}

} // namespace

int llamps::cmd::make_model(int argc, char** argv) {
  namespace po = cli::po;
  std::string preset_names;
  for (const std::string& name : llamps::preset_names())
    preset_names += (preset_names.empty() ? "" : ", ") + name;
  po::options_description options("options");
  options.add_options()("preset", po::value<std::string>()->required(),
                        ("model shape: " + preset_names).c_str())("out", po::value<std::string>()->required(),
                                                                  "output GGUF file")(
      "blocks", po::value<int>()->default_value(0), "number of transformer blocks (0: the preset's)")(
      "type", po::value<std::string>()->default_value("f32"),
      "weight type: f32, q8_0, q4_0, q4_k, q6_k or q4_k_m (llama-quantize's mix); norms stay f32")(
      "seed", po::value<uint64_t>()->default_value(1), "seed of the pseudo-random weights")(
      "vocab-from", po::value<std::string>(),
      "take the tokenizer (tokenizer.* keys: vocabulary, merges, special tokens, chat template) from this "
      "GGUF; the vocabulary size follows")(
      "chat-template", po::value<std::string>(),
      "write the chat template (Jinja text) of this file as tokenizer.chat_template")(
      "tied", "no output.weight: the output head reuses token_embd");
  auto args = cli::parse(argc, argv, "llamps make-model --preset NAME --out PATH [options]", options);
  if (args.exit_code)
    return *args.exit_code;

  const model_shape preset = find_preset(args.vars["preset"].as<std::string>());
  make_model_options o;
  o.blocks = args.vars["blocks"].as<int>();
  if (o.blocks < 0)
    throw model_error("--blocks must be positive");
  set_weight_type(o, args.vars["type"].as<std::string>());
  o.seed = args.vars["seed"].as<uint64_t>();
  if (args.vars.count("vocab-from"))
    o.vocab_from = args.vars["vocab-from"].as<std::string>();
  if (args.vars.count("chat-template")) {
    auto path = args.vars["chat-template"].as<std::string>();
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in.is_open() || text.str().empty())
      throw model_error("cannot read a chat template from " + path);
    o.chat_template = text.str();
  }
  o.tied = args.vars.count("tied") > 0;
  o.progress = report;
  const std::string out = args.vars["out"].as<std::string>();
  const uint64_t bytes = write_preset_model(preset, out, o);
  std::printf("wrote %s: preset %s, %d blocks, %s, %llu bytes\n", out.c_str(), preset.name.c_str(),
              o.blocks > 0 ? o.blocks : preset.n_blocks, o.q4_k_m ? "q4_K_M" : gguf::type_name(o.type),
              (unsigned long long)bytes);
  return 0;
}
