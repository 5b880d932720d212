#include <catch2/catch.hpp>

#include <chrono>
#include <cstring>
#include <random>
#include <sstream>

#include "model/gguf/gguf.hpp"
#include "model/text/tokenizer.hpp"

using namespace llamps;

namespace {

const std::string model_path = std::string(LLAMPS_SHARED_MODELS) + "/stories260K.gguf";

const gguf::file& stories_file() {
  static const gguf::file f = gguf::file::open(model_path);
  return f;
}

const tokenizer& stories() {
  static const tokenizer t = tokenizer::from_gguf(stories_file());
  return t;
}

std::vector<int32_t> ids_of(const std::string& s) {
  std::vector<int32_t> out;
  std::istringstream in(s);
  for (int32_t id; in >> id;)
    out.push_back(id);
  return out;
}

std::string show(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids)
    s += std::to_string(id) + " ";
  return s;
}

int32_t id_of(const std::string& token) {
  const auto& tokens = *stories_file().get_string_array("tokenizer.ggml.tokens");
  for (size_t i = 0; i < tokens.size(); i++)
    if (tokens[i] == token)
      return static_cast<int32_t>(i);
  FAIL("no token " << token);
  return -1;
}

// llama2.c's encode, written the slow and obvious way: start from one token per character
// (bytes for characters outside the vocabulary), then rescan for the best-scoring pair
// until none is left. The tokenizer under test must agree with it.
std::vector<int32_t> reference_encode(const std::string& text) {
  const auto& vocab = *stories_file().get_string_array("tokenizer.ggml.tokens");
  const auto scores = stories_file().get_float_array("tokenizer.ggml.scores");
  auto find = [&](const std::string& s) -> int32_t {
    for (size_t i = 0; i < vocab.size(); i++)
      if (vocab[i] == s)
        return static_cast<int32_t>(i);
    return -1;
  };
  std::vector<int32_t> ids = {1};
  if (text.empty())
    return ids;
  std::string s = "\xE2\x96\x81";
  for (char c : text)
    s += c == ' ' ? std::string("\xE2\x96\x81") : std::string(1, c);
  for (size_t i = 0; i < s.size();) {
    size_t len = 1;
    while (len < 4 && i + len < s.size() && (static_cast<unsigned char>(s[i + len]) & 0xC0) == 0x80)
      len++;
    const int32_t id = find(s.substr(i, len));
    if (id >= 0) {
      ids.push_back(id);
    } else {
      for (size_t j = 0; j < len; j++) {
        char name[8];
        std::snprintf(name, sizeof name, "<0x%02X>", static_cast<unsigned char>(s[i + j]));
        ids.push_back(find(name));
      }
    }
    i += len;
  }
  for (;;) {
    double best = -1e30;
    int best_id = -1;
    size_t best_at = 0;
    for (size_t i = 1; i + 1 < ids.size(); i++) {
      const int32_t id = find(vocab[ids[i]] + vocab[ids[i + 1]]);
      if (id >= 0 && scores[id] > best) {
        best = scores[id];
        best_id = id;
        best_at = i;
      }
    }
    if (best_id < 0)
      return ids;
    ids[best_at] = best_id;
    ids.erase(ids.begin() + best_at + 1);
  }
}

// A GGUF image with metadata only (no tensors), for vocabularies made up for a test.
struct gguf_image {
  std::vector<uint8_t> bytes;
  uint64_t n_kv = 0;

  template <typename T>
  void put(T v) {
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    bytes.insert(bytes.end(), p, p + sizeof v);
  }
  void put_str(const std::string& s) {
    put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void key(const std::string& k, gguf::value_type t) {
    put_str(k);
    put(static_cast<uint32_t>(t));
    n_kv++;
  }
  void string(const std::string& k, const std::string& v) {
    key(k, gguf::value_type::string);
    put_str(v);
  }
  void boolean(const std::string& k, bool v) {
    key(k, gguf::value_type::boolean);
    put<uint8_t>(v);
  }
  void strings(const std::string& k, const std::vector<std::string>& v) {
    key(k, gguf::value_type::array);
    put(static_cast<uint32_t>(gguf::value_type::string));
    put<uint64_t>(v.size());
    for (const auto& s : v)
      put_str(s);
  }
  void floats(const std::string& k, const std::vector<float>& v) {
    key(k, gguf::value_type::array);
    put(static_cast<uint32_t>(gguf::value_type::float32));
    put<uint64_t>(v.size());
    for (float f : v)
      put(f);
  }
  gguf::file open() const {
    std::vector<uint8_t> all = {'G', 'G', 'U', 'F', 3, 0, 0, 0};
    gguf_image head;
    head.put<uint64_t>(0); // tensors
    head.put<uint64_t>(n_kv);
    all.insert(all.end(), head.bytes.begin(), head.bytes.end());
    all.insert(all.end(), bytes.begin(), bytes.end());
    return gguf::file::open_memory(all.data(), all.size(), "test.gguf");
  }
};

// <unk> <s> </s> then the given tokens and scores.
tokenizer made_up(const std::vector<std::string>& tokens, const std::vector<float>& scores,
                  bool add_space_prefix = true) {
  gguf_image g;
  g.string("tokenizer.ggml.model", "llama");
  std::vector<std::string> t = {"<unk>", "<s>", "</s>"};
  t.insert(t.end(), tokens.begin(), tokens.end());
  std::vector<float> s = {0, 0, 0};
  s.insert(s.end(), scores.begin(), scores.end());
  g.strings("tokenizer.ggml.tokens", t);
  g.floats("tokenizer.ggml.scores", s);
  g.boolean("tokenizer.ggml.add_space_prefix", add_space_prefix);
  return tokenizer::from_gguf(g.open());
}

} // namespace

TEST_CASE("stories260K vocabulary loads") {
  const tokenizer& t = stories();
  CHECK(t.vocab_size() == 512);
  CHECK(t.bos() == 1);
  CHECK(t.eos() == 2);
}

TEST_CASE("the README prompt encodes as llama.cpp and llama2.c do") {
  CHECK(stories().encode("One day, Tom", true) == ids_of("1 385 328 432 274 287"));
  CHECK(stories().encode("One day, Tom", false) == ids_of("385 328 432 274 287"));
}

// The README's id lists hold one id more than their "N positions" (BOS, prompt, generated):
// its texts are the decoding of the first N ids, or run on past them.
TEST_CASE("the README reference ids decode to the README text") {
  const std::string text_a = "Once upon a time, there was a little girl named Lily. She loved to play "
                             "outside in the park. One day, she saw a big, red ball.";
  const auto a =
      ids_of("1 403 407 261 378 432 383 286 261 376 298 315 421 395 317 426 338 401 396 267 "
             "337 410 408 419 292 411 322 265 282 295 433 426 385 328 432 358 394 261 370 432 352");
  const std::string decoded_a = stories().decode(a);
  CHECK(decoded_a == "Once upon a time, there was a little girl named Lily. She loved to play outside "
                     "in the park. One day, she saw a big, r");
  CHECK(text_a.compare(0, decoded_a.size(), decoded_a) == 0);

  const auto b = ids_of("1 385 328 432 274 287 269 345 357 263 377 267 265 282 295 433 426 342 394 261 "
                        "370 268 414 444 335 261 370 268 414 444 426 291 268 414 444 286 399 262 423 388 "
                        "269 262 423 388 426 274 287 391 266");
  const std::string text_b = "One day, Tom and his mom went to the park. They saw a big box with a big "
                             "box. The box was very small and small. Tom want";
  CHECK(stories().decode(std::vector<int32_t>(b.begin(), b.begin() + 48)) == text_b);
  CHECK(stories().decode(b) == text_b + "ed");
}

TEST_CASE("streaming pieces concatenate to decode") {
  const auto ids = stories().encode("Once upon a time, Lily saw a big ball.\nThe end.", true);
  std::string streamed;
  for (size_t i = 1; i < ids.size(); i++)
    streamed += stories().piece(ids[i - 1], ids[i]);
  CHECK(streamed == stories().decode(ids));
  CHECK(stories().piece(1, 2).empty()); // EOS prints nothing
}

TEST_CASE("encode then decode gives the text back") {
  const std::vector<std::string> texts = {
      "",
      "Hello world",
      "One day, Tom and his mom went to the park.",
      "a  b   c    d",
      " leading space",
      "   three leading",
      "trailing space ",
      "trailing spaces   ",
      " ",
      "   ",
      "line one\nline two\n\nline four\n",
      "\n",
      "tab\there",
      "caf\xC3\xA9 cr\xC3\xA8me br\xC3\xBBl\xC3\xA9"
      "e \xC3\xBC",                                   // é è û ü
      "\xE6\x97\xA5\xE6\x9C\xAC",                     // 日本
      "emoji \xF0\x9F\x98\x80 and \xF0\x9F\x8E\x89!", // 😀 🎉
      "digits 0123456789 and punctuation !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
      std::string("nul\0byte", 8),
      "\xFF\xFE broken utf-8 \xC3",
  };
  for (const auto& text : texts) {
    INFO("text: \"" << text << "\"");
    const auto ids = stories().encode(text, true);
    INFO("ids: " << show(ids));
    REQUIRE(ids.front() == 1);
    CHECK(stories().decode(ids) == text);
  }
}

TEST_CASE("characters outside the vocabulary fall back to their bytes") {
  // "ü" (C3 BC) and "😀" (F0 9F 98 80) are not tokens of this 512-token vocabulary
  // ("é" is: token 485).
  const auto u = stories().encode("\xC3\xBC", true);
  REQUIRE(u.size() >= 3);
  CHECK(std::vector<int32_t>(u.end() - 2, u.end()) == std::vector<int32_t>{id_of("<0xC3>"), id_of("<0xBC>")});
  CHECK(stories().encode("\xC3\xA9", false) == std::vector<int32_t>{id_of("\xE2\x96\x81"), 485});

  const auto smile = stories().encode("\xF0\x9F\x98\x80", false);
  REQUIRE(smile.size() >= 4);
  CHECK(std::vector<int32_t>(smile.end() - 4, smile.end()) ==
        std::vector<int32_t>{id_of("<0xF0>"), id_of("<0x9F>"), id_of("<0x98>"), id_of("<0x80>")});
}

TEST_CASE("empty text is just BOS (no space prefix)") {
  CHECK(stories().encode("", true) == std::vector<int32_t>{1});
  CHECK(stories().encode("", false).empty());
}

TEST_CASE("decode drops the prefix space only after BOS") {
  const auto ids = stories().encode("Tom", false);
  CHECK(stories().decode(ids) == " Tom");
  std::vector<int32_t> with_bos = {1};
  with_bos.insert(with_bos.end(), ids.begin(), ids.end());
  CHECK(stories().decode(with_bos) == "Tom");
}

TEST_CASE("agrees with a naive llama2.c-style encoder on random text") {
  // An alphabet that exercises merges, spaces, newlines and byte fallback.
  const std::vector<std::string> alphabet = {"a",  "e", "t", "h", "o", "n", " ", " ", " ",        ".", ",",
                                             "\n", "T", "L", "i", "l", "y", "s", "d", "\xC3\xA9", "!", "w"};
  std::mt19937 rng(2024);
  for (int round = 0; round < 300; round++) {
    std::string text;
    const int len = static_cast<int>(rng() % 40);
    for (int i = 0; i < len; i++)
      text += alphabet[rng() % alphabet.size()];
    INFO("text: \"" << text << "\"");
    CHECK(show(stories().encode(text, true)) == show(reference_encode(text)));
    CHECK(stories().decode(stories().encode(text, true)) == text);
  }
  // and on real sentences
  for (const std::string text :
       {"Once upon a time, there was a little girl named Lily.", "She loved to play outside in the park.",
        "The box was very small and small. Tom want"}) {
    INFO("text: \"" << text << "\"");
    CHECK(show(stories().encode(text, true)) == show(reference_encode(text)));
  }
}

TEST_CASE("long text encodes in O(n log n)") {
  std::string text;
  while (text.size() < 400000)
    text += "Once upon a time, there was a little girl named Lily. ";
  const auto start = std::chrono::steady_clock::now();
  const auto ids = stories().encode(text, true);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(seconds < 5.0); // a quadratic rescan would take hours
  CHECK(stories().decode(ids) == text);
}

TEST_CASE("equal scores merge leftmost first, higher scores first") {
  const std::string sp = "\xE2\x96\x81";
  // "▁aba": "ab" and "ba" both possible; with equal scores the left pair wins.
  const tokenizer tie = made_up({sp, "a", "b", "ab", "ba"}, {0, 0, 0, 1, 1});
  CHECK(tie.encode("aba", false) == std::vector<int32_t>{3, 6, 4});
  const tokenizer right = made_up({sp, "a", "b", "ab", "ba"}, {0, 0, 0, 1, 2});
  CHECK(right.encode("aba", false) == std::vector<int32_t>{3, 4, 7});
  CHECK(right.decode(right.encode("aba", true)) == "aba");
}

TEST_CASE("without byte tokens unknown characters become UNK") {
  const std::string sp = "\xE2\x96\x81";
  const tokenizer t = made_up({sp, "a"}, {0, 0});
  CHECK(t.encode("a\xC3\xA9", false) == std::vector<int32_t>{3, 4, 0, 0});
}

TEST_CASE("add_space_prefix false encodes without the leading space") {
  const std::string sp = "\xE2\x96\x81";
  const tokenizer t = made_up({sp, "a", sp + "a"}, {0, 0, 1}, false);
  CHECK(t.encode("a a", true) == std::vector<int32_t>{1, 4, 5});
  CHECK(t.decode(t.encode("a a", true)) == "a a");
}

TEST_CASE("a tokenizer other than llama and gpt2 is refused by name") {
  gguf_image g;
  g.string("tokenizer.ggml.model", "bert");
  g.strings("tokenizer.ggml.tokens", {"a", "b", "c"});
  g.floats("tokenizer.ggml.scores", {0, 0, 0});
  const gguf::file f = g.open();
  CHECK_THROWS_AS(tokenizer::from_gguf(f), model_error);
  CHECK_THROWS_WITH(tokenizer::from_gguf(f), Catch::Contains("\"bert\""));
}

TEST_CASE("a broken vocabulary is a model_error") {
  gguf_image no_scores;
  no_scores.string("tokenizer.ggml.model", "llama");
  no_scores.strings("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>"});
  CHECK_THROWS_AS(tokenizer::from_gguf(no_scores.open()), model_error);

  gguf_image no_tokens;
  no_tokens.string("tokenizer.ggml.model", "llama");
  CHECK_THROWS_AS(tokenizer::from_gguf(no_tokens.open()), model_error);

  gguf_image no_model;
  CHECK_THROWS_WITH(tokenizer::from_gguf(no_model.open()), Catch::Contains("tokenizer.ggml.model"));
}
