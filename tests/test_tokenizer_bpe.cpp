// Byte-level BPE on small vocabularies written for the test: merge ranks, the byte-level
// alphabet, special tokens, and a clear error for each kind of bad vocabulary.
#include <catch2/catch.hpp>

#include "gguf_test_util.hpp"
#include "model/errors.hpp"
#include "model/text/bpe_encoder.hpp"
#include "model/text/tokenizer.hpp"

using namespace llamps;

namespace {

struct vocab {
  std::string model = "gpt2";
  std::optional<std::string> pre = std::string("gpt-2");
  std::vector<std::string> extra;   // tokens after the 256 byte-level characters
  std::vector<int32_t> extra_types; // their types (normal if not given)
  std::optional<std::vector<std::string>> merges = std::vector<std::string>{};
};

// Ids 0..255: the byte-level character of each byte; then `extra`. BOS = EOS = the last token.
gguf::file written(const vocab& v, const std::string& name) {
  gguf::writer w;
  w.set_string("general.architecture", "llama");
  w.set_string("tokenizer.ggml.model", v.model);
  if (v.pre)
    w.set_string("tokenizer.ggml.pre", *v.pre);
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; b++)
    tokens.push_back(byte_level_char(static_cast<uint8_t>(b)));
  tokens.insert(tokens.end(), v.extra.begin(), v.extra.end());
  std::vector<int32_t> types(tokens.size(), 1);
  for (size_t i = 0; i < v.extra_types.size(); i++)
    types[256 + i] = v.extra_types[i];
  w.set_string_array("tokenizer.ggml.tokens", tokens);
  w.set_int32_array("tokenizer.ggml.token_type", types);
  if (v.merges)
    w.set_string_array("tokenizer.ggml.merges", *v.merges);
  w.set_uint32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(tokens.size() - 1));
  w.set_uint32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(tokens.size() - 1));
  const std::string path = gguf_test::tmp_path(name);
  w.write(path);
  return gguf::file::open(path);
}

tokenizer made(const vocab& v) { return tokenizer::from_gguf(written(v, "bpe-ok.gguf")); }

void expect_error(const vocab& v, const std::string& name, const std::vector<std::string>& words) {
  const gguf::file f = written(v, name);
  try {
    tokenizer::from_gguf(f);
    FAIL("no error for " << name);
  } catch (const model_error& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find(name) != std::string::npos);
    for (const auto& w : words)
      CHECK(what.find(w) != std::string::npos);
    CHECK(what.find('\n') == std::string::npos);
  }
}

} // namespace

TEST_CASE("the byte-level alphabet maps every byte to one character and back") {
  CHECK(byte_level_char(' ') == "\xC4\xA0");  // Ġ
  CHECK(byte_level_char('\n') == "\xC4\x8A"); // Ċ
  CHECK(byte_level_char('a') == "a");
  std::string all, mapped;
  for (int b = 0; b < 256; b++) {
    all += static_cast<char>(b);
    mapped += byte_level_char(static_cast<uint8_t>(b));
  }
  CHECK(byte_level_decode(mapped) == all);
}

TEST_CASE("merges apply lowest rank first, leftmost first among equals") {
  vocab v;
  v.extra = {"ab", "bc", "abc", "<eos>"}; // ids 256..259
  v.merges = std::vector<std::string>{"b c", "a b", "a bc"};
  const tokenizer t = made(v);
  CHECK(t.encode("abc", false) == std::vector<int32_t>{258}); // "b c" (rank 0), then "a bc"
  CHECK(t.encode("ab", false) == std::vector<int32_t>{256});
  CHECK(t.encode("abab", false) == std::vector<int32_t>{256, 256});
  CHECK(t.encode("x", false) == std::vector<int32_t>{'x'});
  CHECK(t.decode(t.encode("abc ab", false)) == "abc ab");
  CHECK(t.encode(" ab", false) == std::vector<int32_t>{' ', 256}); // "Ġ" is token 32 here
}

TEST_CASE("special tokens are whole only when asked, user-defined ones always") {
  vocab v;
  v.extra = {"<|end|>", "<tool>", "<eos>"};
  v.extra_types = {3, 4, 3};
  const tokenizer t = made(v);
  CHECK(t.encode("a<|end|>", false, true) == std::vector<int32_t>{'a', 256});
  CHECK(t.encode("a<|end|>", false, false).size() == 8);
  CHECK(t.encode("<tool>", false, false) == std::vector<int32_t>{257});
  CHECK(t.is_end_of_generation(256)); // <|end|>: an end-of-turn text
  CHECK(t.is_end_of_generation(258)); // EOS
  CHECK_FALSE(t.is_end_of_generation(257));
  CHECK(t.piece(-1, 256).empty());
  CHECK(t.piece(-1, 256, true) == "<|end|>");
  CHECK(t.piece(-1, 257) == "<tool>");
}

TEST_CASE("bad vocabularies fail with one line naming the file and the key") {
  vocab no_merges;
  no_merges.merges.reset();
  expect_error(no_merges, "no-merges.gguf", {"tokenizer.ggml.merges", "missing"});

  vocab unknown_token;
  unknown_token.extra = {"<eos>"};
  unknown_token.merges = std::vector<std::string>{"a b", "a zz"};
  expect_error(unknown_token, "merge-unknown.gguf", {"tokenizer.ggml.merges[0]", "\"ab\""});
  unknown_token.extra = {"ab", "<eos>"};
  expect_error(unknown_token, "merge-unknown.gguf", {"tokenizer.ggml.merges[1]", "\"zz\"", "not a token"});

  vocab one_sided;
  one_sided.merges = std::vector<std::string>{"ab"};
  expect_error(one_sided, "merge-shape.gguf", {"tokenizer.ggml.merges[0]", "separated by a space"});

  vocab unknown_pre;
  unknown_pre.pre = "no-such-pre";
  expect_error(unknown_pre, "unknown-pre.gguf", {"tokenizer.ggml.pre", "no-such-pre", "llama-bpe"});

  vocab unknown_model;
  unknown_model.model = "wordpiece";
  expect_error(unknown_model, "unknown-model.gguf", {"tokenizer.ggml.model", "wordpiece", "gpt2"});
}

TEST_CASE("a missing pre-tokenizer is llama.cpp's default one") {
  vocab v;
  v.pre.reset();
  v.extra = {"<eos>"};
  const tokenizer t = made(v);
  CHECK(t.pre_name() == "default");
  CHECK(t.encode("a1234", false) == std::vector<int32_t>{'a', '1', '2', '3', '4'});
}
