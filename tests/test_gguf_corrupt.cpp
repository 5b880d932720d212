// Malformed GGUF files: each must fail with one model_error line naming the file and the
// problem. Corruptions are made from copies of the real model.
#include <catch2/catch.hpp>

#include "gguf_test_util.hpp"
#include "model/decoder/llama_config.hpp"

using namespace llamps;
using namespace gguf_test;

namespace {

// Opens `bytes` as a file named `name` (and the config) and returns the error message.
std::string open_error(const std::vector<uint8_t>& bytes, const std::string& name) {
  const std::string path = tmp_path(name);
  write_bytes(path, bytes);
  try {
    read_llama_config(gguf::file::open(path));
  } catch (const model_error& e) {
    const std::string msg = e.what();
    CHECK(msg.find(path) == 0);                 // names the file
    CHECK(msg.find('\n') == std::string::npos); // one line
    return msg;
  }
  FAIL("no model_error for " << name);
  return "";
}

void expect_error(const std::vector<uint8_t>& bytes, const std::string& name,
                  std::initializer_list<const char*> words) {
  const std::string msg = open_error(bytes, name);
  INFO(msg);
  for (const char* w : words)
    CHECK(msg.find(w) != std::string::npos);
}

const std::vector<uint8_t>& real_bytes() {
  static const auto bytes = read_bytes(real_model());
  return bytes;
}

std::string error_of_written(gguf::writer& w, const std::string& name) {
  w.write(tmp_path(name));
  return open_error(read_bytes(tmp_path(name)), name);
}

} // namespace

TEST_CASE("missing file and non-GGUF input", "[gguf]") {
  CHECK_THROWS_WITH(gguf::file::open(tmp_path("does-not-exist.gguf")),
                    Catch::Contains("does-not-exist.gguf") && Catch::Contains("No such file"));
  expect_error({}, "empty.gguf", {"too small"});
  auto bytes = real_bytes();
  bytes[0] = 'X';
  expect_error(bytes, "bad-magic.gguf", {"magic"});
}

TEST_CASE("unsupported versions", "[gguf]") {
  auto bytes = real_bytes();
  for (uint32_t v : {1u, 4u, 0u}) {
    poke<uint32_t>(bytes, 4, v);
    expect_error(bytes, "version.gguf", {("version " + std::to_string(v)).c_str(), "not supported"});
  }
  poke<uint32_t>(bytes, 4, 0x03000000u);
  expect_error(bytes, "big-endian.gguf", {"big-endian"});
}

TEST_CASE("truncation anywhere is reported", "[gguf]") {
  const auto& bytes = real_bytes();
  const auto f = gguf::file::open(real_model());
  const size_t in_table = find_string(bytes, "blk.2.ffn_up.weight") + 3;
  const size_t in_tokens = find_string(bytes, "tokenizer.ggml.tokens") + 200;
  for (size_t cut : {size_t(6), size_t(12), size_t(20), size_t(30), in_tokens, in_table,
                     size_t(f.data_offset() - 40)}) { // the padding before the data is < 32

    INFO("cut at " << cut);
    expect_error({bytes.begin(), bytes.begin() + long(cut)}, "truncated.gguf", {"truncated"});
  }
  // Cut inside the data section: the first tensor found incomplete is named.
  const size_t in_data = f.data_offset() + 10;
  expect_error({bytes.begin(), bytes.begin() + long(in_data)}, "truncated-data.gguf",
               {"token_embd.weight", "data ends at byte", std::to_string(in_data).c_str()});
  expect_error({bytes.begin(), bytes.end() - 1}, "truncated-end.gguf",
               {"blk.4.ffn_norm.weight", "data ends at byte 1185376 but the file has 1185375 bytes"});
}

TEST_CASE("absurd counts and lengths", "[gguf]") {
  auto bytes = real_bytes();
  poke<uint64_t>(bytes, 8, uint64_t(1) << 40);
  expect_error(bytes, "tensor-count.gguf", {"tensor count 1099511627776"});
  bytes = real_bytes();
  poke<uint64_t>(bytes, 16, uint64_t(1) << 40);
  expect_error(bytes, "kv-count.gguf", {"metadata count"});
  bytes = real_bytes();
  poke<uint64_t>(bytes, 24, uint64_t(1) << 50); // length of the first key
  expect_error(bytes, "key-length.gguf", {"key of metadata entry 0", "length 1125899906842624"});
  bytes = real_bytes();
  const size_t tokens = find_string(bytes, "tokenizer.ggml.tokens") + 21;
  poke<uint64_t>(bytes, tokens + 8, uint64_t(1) << 60); // array length
  expect_error(bytes, "array-length.gguf", {"tokenizer.ggml.tokens", "elements"});
}

TEST_CASE("bad metadata types", "[gguf]") {
  auto bytes = real_bytes();
  const size_t tokens = find_string(bytes, "tokenizer.ggml.tokens") + 21;
  poke<uint32_t>(bytes, tokens + 4, 9); // element type: array
  expect_error(bytes, "nested.gguf", {"nested array"});
  poke<uint32_t>(bytes, tokens, 13);
  expect_error(bytes, "value-type.gguf", {"unknown value type 13"});
}

TEST_CASE("bad tensor entries", "[gguf]") {
  const auto& real = real_bytes();
  const auto e = locate_tensor(real, "blk.3.attn_q.weight");
  auto bytes = real;
  poke<uint64_t>(bytes, e.offset, 1ull << 40);
  expect_error(bytes, "offset.gguf", {"blk.3.attn_q.weight", "data ends at byte", "1185376 bytes"});
  poke<uint64_t>(bytes, e.offset, ~0ull - 31); // aligned, and overflows 64 bits when added
  expect_error(bytes, "offset-overflow.gguf", {"blk.3.attn_q.weight", "data ends at byte"});
  bytes = real;
  poke<uint64_t>(bytes, e.offset, 807680 + 4);
  expect_error(bytes, "misaligned.gguf", {"blk.3.attn_q.weight", "alignment 32"});
  bytes = real;
  poke<uint32_t>(bytes, e.type, 16); // iq2_xxs: a known layout LLaMPS does not compute on
  expect_error(bytes, "iq2xxs.gguf", {"blk.3.attn_q.weight", "iq2_xxs", "not supported"});
  poke<uint32_t>(bytes, e.type, 12);
  expect_error(bytes, "q4k.gguf", {"blk.3.attn_q.weight", "64 elements", "q4_K block size 256"});
  poke<uint32_t>(bytes, e.type, 99);
  expect_error(bytes, "type99.gguf", {"unknown type 99"});
  bytes = real;
  poke<uint32_t>(bytes, e.n_dims, 5);
  expect_error(bytes, "ndims.gguf", {"5 dimensions"});
  bytes = real;
  poke<uint64_t>(bytes, e.dims, 0);
  expect_error(bytes, "zero-dim.gguf", {"invalid dimension 0"});
  bytes = real;
  const auto down = locate_tensor(real, "blk.0.ffn_down.weight");
  poke<uint32_t>(bytes, down.type, 8); // q8_0 rows of 172 elements
  expect_error(bytes, "block-size.gguf", {"blk.0.ffn_down.weight", "172", "block size 32"});
  bytes = real;
  bytes[find_string(bytes, "blk.1.attn_q.weight") + 4] = '0';
  expect_error(bytes, "duplicate.gguf", {"duplicate tensor name 'blk.0.attn_q.weight'"});
}

TEST_CASE("bad general.alignment", "[gguf]") {
  gguf::writer w;
  copy_into(gguf::file::open(real_model()), w);
  const std::string path = tmp_path("alignment.gguf");
  w.write(path);
  auto bytes = read_bytes(path);
  poke<uint32_t>(bytes, find_string(bytes, "general.alignment") + 17 + 4, 33);
  expect_error(bytes, "alignment.gguf", {"general.alignment 33", "power of two"});
}

TEST_CASE("llama config errors", "[gguf]") {
  const auto src = gguf::file::open(real_model());
  {
    gguf::writer w;
    copy_into(src, w);
    w.set_string("general.architecture", "gpt2");
    CHECK_THAT(error_of_written(w, "gpt2.gguf"),
               Catch::Contains("architecture 'gpt2' is not supported (supported: llama, qwen2, phi3)"));
  }
  { // a block tensor the forward pass would ignore is refused, not skipped
    gguf::writer w;
    copy_into(src, w);
    w.add_tensor("blk.1.attn_output.bias", {64}, gguf::tensor_type::f32,
                 [](uint8_t* dst, uint64_t n) { std::memset(dst, 0, n); });
    CHECK_THAT(error_of_written(w, "extra.gguf"),
               Catch::Contains("tensor 'blk.1.attn_output.bias' is not part of a 'llama' block"));
  }
  { // a bias on one projection implies all three (as Qwen2 has them)
    gguf::writer w;
    copy_into(src, w);
    w.add_tensor("blk.0.attn_q.bias", {64}, gguf::tensor_type::f32,
                 [](uint8_t* dst, uint64_t n) { std::memset(dst, 0, n); });
    CHECK_THAT(error_of_written(w, "bias.gguf"), Catch::Contains("'blk.0.attn_k.bias' is missing"));
  }
  {
    gguf::writer w;
    copy_into(src, w);
    w.add_tensor("rope_freqs.weight", {7}, gguf::tensor_type::f32,
                 [](uint8_t* dst, uint64_t n) { std::memset(dst, 0, n); });
    CHECK_THAT(error_of_written(w, "rope-freqs.gguf"),
               Catch::Contains("'rope_freqs.weight' has dims [7], expected [4]"));
  }
  {
    gguf::writer w;
    copy_into(src, w, [](gguf::tensor_info& t) { return t.name != "blk.4.ffn_up.weight"; });
    CHECK_THAT(error_of_written(w, "missing.gguf"), Catch::Contains("'blk.4.ffn_up.weight' is missing"));
  }
  {
    gguf::writer w;
    copy_into(src, w, [](gguf::tensor_info& t) {
      if (t.name == "blk.2.attn_k.weight")
        t.dims = {64, 64};
      return true;
    });
    CHECK_THAT(error_of_written(w, "shape.gguf"),
               Catch::Contains("'blk.2.attn_k.weight' has dims [64, 64], expected [64, 32]"));
  }
  {
    gguf::writer w;
    copy_into(src, w);
    w.set_uint32("llama.attention.head_count_kv", 3);
    CHECK_THAT(error_of_written(w, "kv-heads.gguf"), Catch::Contains("not divisible by KV head count 3"));
    w.set_uint32("llama.attention.head_count", 7);
    CHECK_THAT(error_of_written(w, "heads.gguf"), Catch::Contains("not divisible by head count 7"));
    w.set_string("llama.block_count", "five");
    CHECK_THAT(error_of_written(w, "block-count.gguf"),
               Catch::Contains("'llama.block_count' is not an integer"));
  }
  {
    gguf::writer w;
    copy_into(src, w);
    w.set_uint32("llama.embedding_length", 0);
    CHECK_THAT(error_of_written(w, "embd.gguf"), Catch::Contains("llama.embedding_length"));
  }
  { // defaults: no head_count_kv, no rope dimension, no eps
    gguf::writer w;
    for (const auto& [key, v] : src.metadata())
      if (key != "llama.attention.head_count_kv" && key != "llama.rope.dimension_count" &&
          key != "llama.attention.layer_norm_rms_epsilon" && key != "tokenizer.ggml.tokens")
        w.set_value(key, v);
    for (const auto& t : src.tensors()) {
      auto dims = t.dims;
      if (t.name.find("attn_k") != std::string::npos || t.name.find("attn_v") != std::string::npos)
        dims[1] = 64; // without head_count_kv every head has its own K and V
      w.add_tensor(t.name, dims, t.type, [](uint8_t*, uint64_t) {});
    }
    const std::string path = tmp_path("defaults.gguf");
    w.write(path);
    const auto c = read_llama_config(gguf::file::open(path));
    CHECK(c.n_head_kv == 8);
    CHECK(c.n_rot == 8);
    CHECK(c.rms_eps == 1e-5f);
    CHECK(c.n_vocab == 512); // from token_embd's dims
  }
}
