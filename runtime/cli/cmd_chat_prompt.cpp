// llamps chat-prompt: the prompt a conversation becomes. The chat template is the family llamps
// recognises in a model's tokenizer.chat_template (or in a Jinja file, or the family named);
// with a model, the text's token ids too (special tokens matched, one BOS). Reads JSON lines
// {"messages": [{"role", "content"}...], "add_generation_prompt": true}, one conversation each,
// and writes one JSON line each: {"template", "text", "ids"}, or {"error"} for a conversation
// the template refuses (the exit status is then 1).
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "model/gguf/gguf.hpp"
#include "model/text/chat_prompt.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/cli/commands.hpp"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw llamps::model_error(path + ": cannot read the file");
  std::ostringstream all;
  all << in.rdbuf();
  return all.str();
}

} // namespace

int llamps::cmd::chat_prompt(int argc, char** argv) {
  namespace po = cli::po;
  using json = nlohmann::json;
  po::options_description options("options");
  options.add_options()("model", po::value<std::string>(),
                        "GGUF file (a vocabulary-only one will do): its tokenizer and chat template")(
      "template-file", po::value<std::string>(), "a Jinja chat template to recognise instead of the model's")(
      "chat-template", po::value<std::string>()->default_value(""),
      "a template family instead (see docs/chat.md)")("bos", po::value<std::string>()->default_value(""),
                                                      "without --model: the BOS token's text")(
      "eos", po::value<std::string>()->default_value(""), "without --model: the EOS token's text")(
      "input", po::value<std::string>(), "the JSON lines to read (default: standard input)");
  auto args = cli::parse(
      argc, argv, "llamps chat-prompt [--model PATH] [--template-file F] [--chat-template NAME] [--input F]",
      options);
  if (args.exit_code)
    return *args.exit_code;
  const auto& vars = args.vars;
  if (!vars.count("model") && !vars.count("template-file") &&
      vars["chat-template"].as<std::string>().empty()) {
    std::fprintf(stderr, "error: give a --model, a --template-file or a --chat-template\n");
    return 2;
  }
  std::optional<tokenizer> tok;
  std::string jinja;
  if (vars.count("model")) {
    auto f = gguf::file::open(vars["model"].as<std::string>());
    tok = tokenizer::from_gguf(f);
    jinja = f.get_string("tokenizer.chat_template").value_or("");
  }
  if (vars.count("template-file"))
    jinja = read_file(vars["template-file"].as<std::string>());
  const auto name = vars["chat-template"].as<std::string>();
  choose_chat_template(name, jinja); // an unknown name or template fails here, once
  std::ifstream file;
  if (vars.count("input")) {
    file.open(vars["input"].as<std::string>());
    if (!file)
      throw model_error(vars["input"].as<std::string>() + ": cannot read the file");
  }
  std::istream& in = vars.count("input") ? file : std::cin;
  int line_number = 0, refused = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_number;
    if (line.empty())
      continue;
    std::vector<chat_message> messages;
    bool add_generation_prompt = true;
    try {
      auto conversation = json::parse(line);
      for (auto& m : conversation.at("messages"))
        messages.push_back({m.at("role").get<std::string>(), m.at("content").get<std::string>()});
      add_generation_prompt = conversation.value("add_generation_prompt", true);
    } catch (const json::exception& e) {
      throw model_error("line " + std::to_string(line_number) + ": not a conversation: " + e.what());
    }
    json out;
    try {
      if (tok) {
        auto prompt = make_chat_prompt(*tok, jinja, name, messages, add_generation_prompt);
        out = {{"template", prompt.template_name}, {"text", prompt.text}, {"ids", prompt.ids}};
      } else {
        chat_render_options o;
        o.add_generation_prompt = add_generation_prompt;
        o.bos_text = vars["bos"].as<std::string>();
        o.eos_text = vars["eos"].as<std::string>();
        auto tmpl = choose_chat_template(name, jinja);
        out = {{"template", tmpl.name}, {"text", render_chat(tmpl, messages, o)}};
      }
    } catch (const model_error& e) {
      out = {{"error", e.what()}};
      ++refused;
    }
    std::cout << out.dump() << "\n";
  }
  return refused > 0 ? 1 : 0;
}
