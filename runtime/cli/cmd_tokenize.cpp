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
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
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
  options.add_options()
      ("model", po::value<std::string>()->required(), "GGUF file with a tokenizer (a model or a vocabulary-only file)")
      ("text", po::value<std::string>(), "the text to tokenize (or --file)")
      ("file", po::value<std::string>(), "tokenize this file's bytes exactly as they are")
      ("no-bos", po::bool_switch(), "do not add BOS, even where the vocabulary asks for it "
                                    "(tokenizer.ggml.add_bos_token, or the default of its pre-tokenizer)")
      ("special", po::bool_switch(), "match control tokens such as <|eot_id|> in the text "
                                     "(otherwise they are ordinary text)")
      ("pieces", po::bool_switch(), "one token per line: id and the text it stands for")
      ("timings", po::bool_switch(), "print the load and encode times to stderr");
  po::positional_options_description positional;
  positional.add("text", 1);
  auto args = cli::parse(argc, argv, "llamps tokenize --model PATH [--no-bos] [--special] [--pieces] TEXT | --file F",
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
  const auto t1 = std::chrono::steady_clock::now();
  const bool add_bos = tok.add_bos_by_default() && !args.vars["no-bos"].as<bool>();
  const std::vector<int32_t> ids = tok.encode(text, add_bos, args.vars["special"].as<bool>());
  const double encode_ms = ms_since(t1);

  if (args.vars["pieces"].as<bool>()) {
    for (int32_t id : ids)
      std::printf("%d\t%s\n", id, shown(tok.piece(-1, id, true)).c_str());
  } else {
    std::string line;
    for (size_t i = 0; i < ids.size(); i++)
      line += (i ? " " : "") + std::to_string(ids[i]);
    std::printf("%s\n", line.c_str());
  }
  if (args.vars["timings"].as<bool>())
    std::fprintf(stderr, "load %.1f ms, encode %.1f ms: %zu bytes, %zu tokens\n", load_ms, encode_ms,
                 text.size(), ids.size());
  return 0;
}
