// The tokenizers against llama.cpp's ids on the five reference vocabularies
// (shared/models/families/README.md): llama.cpp's own .inp/.out suites (no BOS, special tokens
// as text) and the corpus with its three llama.cpp encodings, its decoding and round trips,
// and streaming in whole characters.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

#include "gguf_test_util.hpp"
#include "model/gguf/gguf.hpp"
#include "model/text/tokenizer.hpp"
#include "model/text/utf8.hpp"

using namespace llamps;

namespace {

const std::string families = std::string(LLAMPS_SHARED_MODELS) + "/families";
const char* const vocabs[] = {"llama3", "qwen3", "gpt-2", "llama-spm", "phi-3"};

std::string vocab_path(const std::string& v) { return families + "/vocab/ggml-vocab-" + v + ".gguf"; }

const tokenizer& load(const std::string& v) {
  static std::map<std::string, tokenizer> loaded;
  auto it = loaded.find(v);
  if (it == loaded.end())
    it = loaded.emplace(v, tokenizer::from_gguf(gguf::file::open(vocab_path(v)))).first;
  return it->second;
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string show(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids)
    s += std::to_string(id) + " ";
  return s;
}

std::vector<nlohmann::json> corpus(const std::string& v) {
  std::vector<nlohmann::json> rows;
  std::istringstream in(read_all(families + "/tokenizer/tok_" + v + ".jsonl"));
  for (std::string line; std::getline(in, line);)
    if (!line.empty())
      rows.push_back(nlohmann::json::parse(line));
  return rows;
}

bool is_valid_utf8(const std::string& s) { return utf8_valid(s) == s; }

} // namespace

TEST_CASE("llama.cpp's .inp strings give its .out ids on every vocabulary") {
  for (const char* v : vocabs) {
    const tokenizer& tok = load(v);
    const std::string inp = read_all(vocab_path(v) + ".inp");
    std::istringstream out(read_all(vocab_path(v) + ".out"));
    const std::string sep = "\n__ggml_vocab_test__\n";
    int n = 0;
    for (size_t at = 0, hit; (hit = inp.find(sep, at)) != std::string::npos; at = hit + sep.size(), n++) {
      const std::string text = inp.substr(at, hit - at);
      std::string line;
      REQUIRE(std::getline(out, line));
      std::vector<int32_t> expected;
      std::istringstream ids(line);
      for (int32_t id; ids >> id;)
        expected.push_back(id);
      INFO(v << " string " << n << ": \"" << text << "\"");
      CHECK(show(tok.encode(text, false, false)) == show(expected));
    }
    CHECK(n == 46);
  }
}

TEST_CASE("the corpus encodes as llama.cpp does: special tokens parsed, with BOS, as text") {
  for (const char* v : vocabs) {
    const tokenizer& tok = load(v);
    for (const auto& row : corpus(v)) {
      const std::string text = row["text"];
      INFO(v << " #" << row["id"] << ": \"" << text << "\"");
      CHECK(show(tok.encode(text, false, true)) == show(row["ids_llamacpp"]));
      CHECK(show(tok.encode(text, tok.add_bos_by_default(), true)) == show(row["ids_llamacpp_bos"]));
      CHECK(show(tok.encode(text, false, false)) == show(row["ids_llamacpp_noparse"]));
    }
  }
}

TEST_CASE("decoding gives the text back where llama.cpp's round trip is exact") {
  for (const char* v : vocabs) {
    const tokenizer& tok = load(v);
    for (const auto& row : corpus(v)) {
      const std::string text = row["text"];
      INFO(v << " #" << row["id"] << ": \"" << text << "\"");
      // A leading BOS starts the sequence: SentencePiece drops the space it put after it.
      const std::string decoded = tok.decode(tok.encode(text, true, true), true);
      if (row["roundtrip_llamacpp"].get<bool>())
        CHECK(decoded == text);
      else // phi-3 #63: "<|endoftext|>The end": llama.cpp puts a space after the special token
        CHECK(decoded == row["decoded_llamacpp"].get<std::string>());
    }
  }
}

TEST_CASE("streamed pieces are whole characters and concatenate to the decoding") {
  for (const char* v : vocabs) {
    const tokenizer& tok = load(v);
    for (const auto& row : corpus(v)) {
      const std::string text = row["text"];
      INFO(v << " #" << row["id"] << ": \"" << text << "\"");
      const std::vector<int32_t> ids = tok.encode(text, true, false);
      utf8_stream stream;
      std::string all;
      for (size_t i = 1; i < ids.size(); i++) {
        const std::string chunk = stream.push(tok.piece(ids[i - 1], ids[i]));
        CHECK(is_valid_utf8(chunk));
        all += chunk;
      }
      all += stream.flush();
      CHECK(all == tok.decode(ids));
    }
  }
}

TEST_CASE("special ids and the end-of-generation set are llama.cpp's") {
  const tokenizer& llama3 = load("llama3");
  CHECK(llama3.model_kind() == tokenizer::kind::bpe);
  CHECK(llama3.pre_name() == "llama-bpe");
  CHECK(llama3.vocab_size() == 128256);
  CHECK(llama3.bos() == 128000);
  CHECK(llama3.eos() == 128001);
  CHECK(llama3.add_bos_by_default()); // add_bos_token absent: llama.cpp's default for llama-bpe
  CHECK(llama3.find_token("<|eot_id|>") == 128009);
  CHECK(llama3.token_text(128009) == "<|eot_id|>");
  CHECK(llama3.is_end_of_generation(128001));
  CHECK(llama3.is_end_of_generation(128009));
  CHECK_FALSE(llama3.is_end_of_generation(128000));
  CHECK_FALSE(llama3.is_end_of_generation(128008)); // the original Llama 3: no <|eom_id|>

  const tokenizer& qwen3 = load("qwen3");
  CHECK(qwen3.pre_name() == "qwen2");
  CHECK_FALSE(qwen3.add_bos_by_default());
  CHECK(qwen3.eos() == *qwen3.find_token("<|im_end|>"));
  CHECK(qwen3.is_end_of_generation(*qwen3.find_token("<|im_end|>")));
  CHECK(qwen3.is_end_of_generation(*qwen3.find_token("<|endoftext|>")));
  CHECK_FALSE(qwen3.is_end_of_generation(*qwen3.find_token("<|im_start|>")));

  const tokenizer& phi3 = load("phi-3");
  CHECK(phi3.model_kind() == tokenizer::kind::spm);
  CHECK(phi3.is_end_of_generation(*phi3.find_token("<|end|>")));
  CHECK(phi3.is_end_of_generation(*phi3.find_token("<|endoftext|>")));
  CHECK(phi3.is_end_of_generation(phi3.eos()));
  CHECK_FALSE(phi3.find_token("<|no such token|>"));
}

// tests/data/tokenizer_pre_types.jsonl: llama.cpp c392e50's ids (no BOS, special tokens
// parsed) with GPT-2's vocabulary under eight other pre-tokenizer names, for the corpus and 43
// generated strings (non-ASCII whitespace, digit runs, combining marks, CJK). Made with the
// oracle tools' tok_oracle (shared/peers/oracle-tools/families) on copies of
// ggml-vocab-gpt-2.gguf whose tokenizer.ggml.pre was changed, as the test below does.
TEST_CASE("each pre-tokenizer splits as llama.cpp's does") {
  const gguf::file base = gguf::file::open(vocab_path("gpt-2"));
  std::map<std::string, tokenizer> by_pre;
  auto with_pre = [&](const std::string& pre) -> const tokenizer& {
    auto it = by_pre.find(pre);
    if (it != by_pre.end())
      return it->second;
    gguf::writer w;
    for (const auto& [key, value] : base.metadata())
      if (key != "tokenizer.ggml.pre")
        w.set_value(key, value);
    w.set_string("tokenizer.ggml.pre", pre);
    const std::string path = gguf_test::tmp_path("vocab-gpt-2-" + pre + ".gguf");
    w.write(path);
    return by_pre.emplace(pre, tokenizer::from_gguf(gguf::file::open(path))).first->second;
  };
  std::istringstream in(read_all(std::string(LLAMPS_SOURCE_DIR) + "/tests/data/tokenizer_pre_types.jsonl"));
  int n = 0;
  for (std::string line; std::getline(in, line); n++) {
    const auto row = nlohmann::json::parse(line);
    const std::string pre = row["pre"], text = row["text"];
    INFO(pre << ": \"" << text << "\"");
    CHECK(show(with_pre(pre).encode(text, false, true)) == show(row["ids"]));
  }
  CHECK(n == 8 * 91);
  // Names llama.cpp gives the same expressions.
  for (const auto& [alias, same] : {std::pair<std::string, std::string>{"mpt", "gpt-2"},
                                    {"gpt-neox", "gpt-2"},
                                    {"refact", "starcoder"},
                                    {"llama3", "llama-bpe"}}) {
    INFO(alias);
    const std::string text = "Hello 12345 world's  \n\n\t<|endoftext|> 漢字 ∑x²";
    CHECK(with_pre(alias).encode(text, false, true) == with_pre(same).encode(text, false, true));
  }
}
