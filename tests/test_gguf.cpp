// GGUF reader, writer, quantisers, llama config and block profile.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <set>
#include <unistd.h>

#include "gguf_test_util.hpp"
#include "model/decoder/llama_config.hpp"
#include "model/shapes/presets.hpp"
#include "model/quant/formats.hpp"

using namespace llamps;
using namespace gguf_test;

TEST_CASE("the real model's header, metadata and tensor table", "[gguf]") {
  const auto f = gguf::file::open(real_model());
  CHECK(f.version() == 3);
  CHECK(f.file_size() == 1185376);
  CHECK(f.alignment() == 32);
  CHECK(f.data_offset() % 32 == 0);
  REQUIRE(f.tensors().size() == 48);
  for (const auto& t : f.tensors())
    CHECK(t.type == gguf::tensor_type::f32);
  CHECK(f.get_string("general.architecture") == std::string("llama"));
  CHECK(f.get_string("tokenizer.ggml.model") == std::string("llama"));
  REQUIRE(f.get_string_array("tokenizer.ggml.tokens") != nullptr);
  CHECK(f.get_string_array("tokenizer.ggml.tokens")->size() == 512);
  CHECK(f.get_string_array("tokenizer.ggml.tokens")->at(3) == "<0x00>");
  CHECK(f.get_float_array("tokenizer.ggml.scores").size() == 512);
  CHECK(f.get_int_array("tokenizer.ggml.token_type").size() == 512);
  CHECK(f.get_int("tokenizer.ggml.bos_token_id") == 1);
  CHECK(f.get_float("llama.attention.layer_norm_rms_epsilon").value() == Approx(1e-5));
  CHECK_FALSE(f.get_int("general.architecture")); // wrong type: absent, not converted
  CHECK_FALSE(f.has("llama.rope.freq_base"));
  CHECK(f.find_tensor("output.weight") != nullptr);
  CHECK(f.find_tensor("nope") == nullptr);
  CHECK_THROWS_AS(f.require_tensor("nope"), model_error);
}

TEST_CASE("the real model's llama config and block profile", "[gguf]") {
  const auto f = gguf::file::open(real_model());
  const auto c = read_llama_config(f);
  CHECK(c.architecture == "llama");
  CHECK(c.n_vocab == 512);
  CHECK(c.n_ctx == 2048);
  CHECK(c.n_embd == 64);
  CHECK(c.n_ff == 172);
  CHECK(c.n_head == 8);
  CHECK(c.n_head_kv == 4);
  CHECK(c.n_blocks == 5);
  CHECK(c.n_rot == 8);
  CHECK(c.rms_eps == Approx(1e-5f));
  CHECK(c.rope_base == 10000.f);
  CHECK(c.kv_dim() == 32);

  const auto p = read_block_profile(f);
  CHECK(p.n_blocks == 5);
  CHECK(p.identity == f.identity());
  CHECK(p.identity.size() == 64);
  // attn_q 64x64, attn_k/v 64x32, attn_output 64x64, three 64x172 FFN matrices, two norms.
  const uint64_t block = 4 * (64 * 64 * 2 + 64 * 32 * 2 + 64 * 172 * 3 + 64 * 2);
  REQUIRE(p.bytes_per_block.size() == 5);
  for (int b = 0; b < 5; ++b)
    CHECK(p.bytes_per_block[size_t(b)] == block);
  CHECK(p.block_bytes == block);
  CHECK(p.head_bytes == 4 * (64 * 512 * 2 + 64));
  CHECK(p.file_size == f.file_size());
  CHECK(p.n_vocab == 512);
  CHECK(p.kv_bytes_per_token_per_block == 2 * 32 * 2); // the default F16 cache
  CHECK(read_block_profile(f, kv_type::f32).kv_bytes_per_token_per_block == 2 * 32 * 4);
  CHECK(kv_type_of(2 * 32 * 4, c) == kv_type::f32);
  CHECK(kv_type_of(p.kv_bytes_per_token_per_block, c) == kv_type::f16);
  CHECK_THROWS_WITH(kv_type_of(2 * 32 * 3, c), Catch::Contains("neither f16 nor f32"));
}

TEST_CASE("identity is stable across copies and changes with the header", "[gguf]") {
  auto bytes = read_bytes(real_model());
  const std::string copy = tmp_path("identity-copy.gguf");
  write_bytes(copy, bytes);
  const std::string id = gguf::file::open(real_model()).identity();
  CHECK(gguf::file::open(copy).identity() == id);
  bytes[find_string(bytes, "general.name") + 12 + 4 + 8] ^= 1; // the value's first byte
  write_bytes(copy, bytes);
  CHECK(gguf::file::open(copy).identity() != id);
}

TEST_CASE("read_f32 reads exactly the tensor's own region", "[gguf]") {
  auto bytes = read_bytes(real_model());
  const auto orig = gguf::file::open(real_model());
  // Poison every byte of block 3's tensors with NaNs: other tensors must read unchanged.
  for (const auto& t : orig.tensors())
    if (t.name.rfind("blk.3.", 0) == 0)
      std::memset(bytes.data() + orig.data_offset() + t.offset, 0xFF, t.n_bytes());
  const std::string path = tmp_path("poisoned-block3.gguf");
  write_bytes(path, bytes);
  const auto f = gguf::file::open(path);
  const uint8_t* base = f.tensor_bytes(f.tensors().front()) - f.tensors().front().offset;
  for (const auto& t : f.tensors()) {
    CHECK(f.tensor_bytes(t) == base + t.offset);
    const auto v = f.read_f32(t);
    const auto want = orig.read_f32(*orig.find_tensor(t.name));
    if (t.name.rfind("blk.3.", 0) == 0)
      CHECK(std::isnan(v[0]));
    else
      CHECK(std::memcmp(v.data(), want.data(), v.size() * 4) == 0);
  }
}

TEST_CASE("writer round trip keeps metadata and tensor bytes and aligns like ggml", "[gguf]") {
  const auto src = gguf::file::open(real_model());
  gguf::writer w;
  copy_into(src, w);
  w.set_bool("test.flag", true);
  const std::string path = tmp_path("roundtrip.gguf");
  w.write(path);
  const auto f = gguf::file::open(path);
  CHECK(f.version() == 3);
  CHECK(f.get_int("general.alignment") == 32);
  CHECK(f.get_bool("test.flag") == true);
  for (const auto& [key, v] : src.metadata()) {
    INFO(key);
    REQUIRE(f.has(key));
    const auto& got = f.metadata().at(key);
    CHECK(got.type == v.type);
    CHECK(got.element_type == v.element_type);
    CHECK(got.data == v.data);
  }
  REQUIRE(f.tensors().size() == src.tensors().size());
  CHECK(f.data_offset() % 32 == 0);
  uint64_t expected_offset = 0; // ggml requires tensors packed in order, each aligned
  for (size_t i = 0; i < f.tensors().size(); ++i) {
    const auto& a = src.tensors()[i];
    const auto& b = f.tensors()[i];
    CHECK(b.name == a.name);
    CHECK(b.dims == a.dims);
    CHECK(b.offset == expected_offset);
    expected_offset = (b.offset + b.n_bytes() + 31) / 32 * 32;
    CHECK(std::memcmp(f.tensor_bytes(b), src.tensor_bytes(a), a.n_bytes()) == 0);
  }
  CHECK(f.file_size() == f.data_offset() + expected_offset);
  CHECK(read_llama_config(f).n_vocab == 512);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp." + std::to_string(::getpid())));
}

TEST_CASE("writer leaves no file behind when a tensor fill fails", "[gguf]") {
  gguf::writer w;
  w.set_string("general.architecture", "llama");
  w.add_tensor("x", {32}, gguf::tensor_type::f32,
               [](uint8_t*, uint64_t) { throw std::runtime_error("boom"); });
  const std::string path = tmp_path("failed-write.gguf");
  std::filesystem::remove(path);
  CHECK_THROWS(w.write(path));
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK_THROWS_AS(w.add_tensor("x", {32}, gguf::tensor_type::f32, nullptr), model_error); // duplicate
  CHECK_THROWS_AS(w.add_tensor("y", {33}, gguf::tensor_type::q8_0, nullptr), model_error);
}

TEST_CASE("fp16 conversion round-trips every half value", "[gguf]") {
  for (uint32_t h = 0; h < 65536; ++h) {
    const float f = gguf::fp16_to_f32(uint16_t(h));
    if (std::isnan(f))
      continue;
    REQUIRE(gguf::f32_to_fp16(f) == h);
  }
  CHECK(gguf::f32_to_fp16(1.0f) == 0x3C00);
  CHECK(gguf::f32_to_fp16(0.1f) == 0x2E66);
  CHECK(gguf::f32_to_fp16(1e6f) == 0x7C00);
  CHECK(gguf::bf16_to_f32(0x3F80) == 1.0f);
}

namespace {
std::vector<float> random_floats(size_t n, float scale, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v)
    x = dist(rng);
  return v;
}
} // namespace

TEST_CASE("Q8_0 quantise -> dequantise stays within half a step", "[gguf]") {
  const auto x = random_floats(32 * 64, 0.5f, 1);
  std::vector<uint8_t> q(gguf::row_bytes(gguf::tensor_type::q8_0, x.size()));
  gguf::quantize_q8_0(x.data(), q.data(), x.size());
  std::vector<float> y(x.size());
  quant::dequantize_row(gguf::tensor_type::q8_0, q.data(), y.data(), x.size());
  for (size_t b = 0; b < x.size() / 32; ++b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j)
      amax = std::max(amax, std::fabs(x[b * 32 + j]));
    const float d = amax / 127;
    for (int j = 0; j < 32; ++j)
      REQUIRE(std::fabs(x[b * 32 + j] - y[b * 32 + j]) <= 0.6f * d);
  }
  // A ramp -16..15: d = 16/127, and the extreme is exact up to the fp16 scale.
  std::vector<float> ramp(32);
  for (int j = 0; j < 32; ++j)
    ramp[size_t(j)] = float(j - 16);
  gguf::quantize_q8_0(ramp.data(), q.data(), 32);
  CHECK(int8_t(q[2]) == -127);
  CHECK(int8_t(q[2 + 16]) == 0);
  CHECK(int8_t(q[2 + 31]) == 119); // round(15 * 127 / 16) = round(119.06)
}

TEST_CASE("Q4_0 quantise -> dequantise stays within one step", "[gguf]") {
  const auto x = random_floats(32 * 64, 0.5f, 2);
  std::vector<uint8_t> q(gguf::row_bytes(gguf::tensor_type::q4_0, x.size()));
  gguf::quantize_q4_0(x.data(), q.data(), x.size());
  std::vector<float> y(x.size());
  quant::dequantize_row(gguf::tensor_type::q4_0, q.data(), y.data(), x.size());
  for (size_t b = 0; b < x.size() / 32; ++b) {
    float amax = 0;
    for (int j = 0; j < 32; ++j)
      amax = std::max(amax, std::fabs(x[b * 32 + j]));
    const float d = amax / 8;
    for (int j = 0; j < 32; ++j)
      REQUIRE(std::fabs(x[b * 32 + j] - y[b * 32 + j]) <= 1.01f * d);
  }
  // Ramp -16..15: max-by-magnitude is -16, so d = 2 and values are exact except 15 -> 14.
  std::vector<float> ramp(32);
  for (int j = 0; j < 32; ++j)
    ramp[size_t(j)] = float(j - 16);
  gguf::quantize_q4_0(ramp.data(), q.data(), 32);
  quant::dequantize_row(gguf::tensor_type::q4_0, q.data(), y.data(), 32);
  CHECK(gguf::fp16_to_f32(uint16_t(q[0] | q[1] << 8)) == 2.0f);
  CHECK((q[2] & 0x0F) == 0);     // element 0 -> q 0 (low nibble)
  CHECK((q[2 + 15] >> 4) == 15); // element 31 -> q 15 (high nibble)
  CHECK(y[0] == -16.f);
  CHECK(y[30] == 14.f);
  CHECK(y[31] == 14.f);
}

TEST_CASE("make-model tiny writes a valid llama with a tokenizer", "[gguf]") {
  for (auto type : {gguf::tensor_type::f32, gguf::tensor_type::q8_0}) {
    const std::string path = tmp_path(std::string("tiny-") + gguf::type_name(type) + ".gguf");
    make_model_options o;
    o.type = type;
    o.blocks = 3;
    write_preset_model(find_preset("tiny"), path, o);
    const auto f = gguf::file::open(path);
    const auto c = read_llama_config(f);
    CHECK(c.n_blocks == 3);
    CHECK(c.n_vocab == 512);
    CHECK(c.n_head_kv == 4);
    const auto* tokens = f.get_string_array("tokenizer.ggml.tokens");
    REQUIRE(tokens);
    CHECK(tokens->at(1) == "<s>");
    CHECK(tokens->at(3 + 0x41) == "<0x41>");
    CHECK(f.get_float_array("tokenizer.ggml.scores").size() == 512);
    CHECK(f.get_int_array("tokenizer.ggml.token_type").at(3) == 6);
    CHECK(std::set<std::string>(tokens->begin(), tokens->end()).size() == 512);
    CHECK(f.require_tensor("blk.0.attn_norm.weight").type == gguf::tensor_type::f32);
    CHECK(f.require_tensor("blk.0.attn_q.weight").type == type);
    for (const auto& t : f.tensors()) {
      const auto v = f.read_f32(t);
      for (float x : v)
        REQUIRE(std::isfinite(x));
      REQUIRE(std::fabs(v[0]) <= 1.0f);
    }
    CHECK(f.read_f32(f.require_tensor("output_norm.weight"))[5] == 1.0f);
  }
  CHECK_THROWS_WITH(find_preset("gpt5"), Catch::Contains("tiny"));
}

TEST_CASE("make-model is deterministic per seed", "[gguf]") {
  make_model_options o;
  o.blocks = 1;
  write_preset_model(find_preset("tiny"), tmp_path("seed-a.gguf"), o);
  write_preset_model(find_preset("tiny"), tmp_path("seed-b.gguf"), o);
  o.seed = 2;
  write_preset_model(find_preset("tiny"), tmp_path("seed-c.gguf"), o);
  const auto a = read_bytes(tmp_path("seed-a.gguf"));
  CHECK(a == read_bytes(tmp_path("seed-b.gguf")));
  CHECK(a != read_bytes(tmp_path("seed-c.gguf")));
}
