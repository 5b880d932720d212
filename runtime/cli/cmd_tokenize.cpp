// llamps tokenize: the token ids (and pieces) of a text under a GGUF file's tokenizer. Reads
// the metadata only, so vocabulary-only files (llama.cpp's ggml-vocab-*.gguf) work too.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "model/gguf/gguf.hpp"
#include "model/text/tokenizer.hpp"
#include "model/text/utf8.hpp"
#include "runtime/cli/cli.hpp"
#include "runtime/cli/commands.hpp"

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// A piece as one line can show it: backslash escapes for controls, quotes and backslashes, and
// \xNN for bytes that are not a whole UTF-8 character (a byte-level token may be part of one).
std::string shown(const std::string& piece) {
  const std::string valid = llamps::utf8_valid(piece);
  std::string out = "\"";
  if (valid != piece) {
    for (unsigned char c : piece) {
      char buf[8];
      std::snprintf(buf, sizeof buf, c >= 0x20 && c < 0x7F && c != '"' && c != '\\' ? "%c" : "\\x%02X", c);
      out += buf;
    }
    return out + "\"";
  }
  for (unsigned char c : piece) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\\')
      out += "\\\\";
    else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

} // namespace

int llamps::cmd::tokenize(int argc, char** argv) {
  namespace po = cli::po;
  po::options_description options("options");
  options.add_options()("model", po::value<std::string>()->required(),
                        "GGUF file with a tokenizer (a model or a vocabulary-only file)")(
      "text", po::value<std::string>(), "the text to tokenize (or --file)")(
      "file", po::value<std::string>(), "tokenize this file's bytes exactly as they are")(
      "no-bos", po::bool_switch(),
      "do not add BOS, even where the vocabulary asks for it "
      "(tokenizer.ggml.add_bos_token, or the default of its pre-tokenizer)")(
      "special", po::bool_switch(),
      "match control tokens such as <|eot_id|> in the text "
      "(otherwise they are ordinary text)")("pieces", po::bool_switch(),
                                            "one token per line: id and the text it stands for")(
      "separator", po::value<std::string>(),
      "the text holds several texts separated by this string "
      "(e.g. llama.cpp's .inp files): one line of ids for each")("timings", po::bool_switch(),
                                                                 "print the load and encode times to stderr");
  po::positional_options_description positional;
  positional.add("text", 1);
  auto args =
      cli::parse(argc, argv, "llamps tokenize --model PATH [--no-bos] [--special] [--pieces] TEXT | --file F",
                 options, &positional);
  if (args.exit_code)
    return *args.exit_code;
  if (args.vars.count("text") == args.vars.count("file")) {
    std::fprintf(stderr, "error: give the text or --file, one of them\n");
    return 2;
  }
  std::string text;
  if (args.vars.count("file")) {
    const std::string path = args.vars["file"].as<std::string>();
    std::ifstream in(path, std::ios::binary);
    if (!in)
      throw model_error(path + ": cannot read the file");
    std::ostringstream all;
    all << in.rdbuf();
    text = all.str();
  } else {
    text = args.vars["text"].as<std::string>();
  }

  const auto t0 = std::chrono::steady_clock::now();
  const auto f = gguf::file::open(args.vars["model"].as<std::string>());
  const tokenizer tok = tokenizer::from_gguf(f);
  const double load_ms = ms_since(t0);
  std::vector<std::string> texts;
  if (args.vars.count("separator")) {
    const std::string sep = args.vars["separator"].as<std::string>();
    if (sep.empty()) {
      std::fprintf(stderr, "error: --separator must not be empty\n");
      return 2;
    }
    size_t at = 0;
    for (size_t hit; (hit = text.find(sep, at)) != std::string::npos; at = hit + sep.size())
      texts.push_back(text.substr(at, hit - at));
    if (at < text.size()) // a separator at the very end ends the last text (llama.cpp's .inp files)
      texts.push_back(text.substr(at));
  } else {
    texts.push_back(text);
  }

  const auto t1 = std::chrono::steady_clock::now();
  const bool add_bos = tok.add_bos_by_default() && !args.vars["no-bos"].as<bool>();
  std::vector<std::vector<int32_t>> ids;
  size_t n_tokens = 0;
  for (const auto& t : texts) {
    ids.push_back(tok.encode(t, add_bos, args.vars["special"].as<bool>()));
    n_tokens += ids.back().size();
  }
  const double encode_ms = ms_since(t1);

  std::string out;
  for (size_t k = 0; k < ids.size(); k++) {
    if (args.vars["pieces"].as<bool>()) {
      if (k > 0)
        out += "\n";
      for (int32_t id : ids[k])
        out += std::to_string(id) + "\t" + shown(tok.piece(-1, id, true)) + "\n";
    } else {
      for (size_t i = 0; i < ids[k].size(); i++)
        out += (i ? " " : "") + std::to_string(ids[k][i]);
      out += "\n";
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  if (args.vars["timings"].as<bool>())
    std::fprintf(stderr, "load %.1f ms, encode %.1f ms: %zu bytes, %zu tokens\n", load_ms, encode_ms,
                 text.size(), n_tokens);
  return 0;
}
