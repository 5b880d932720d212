#pragma once
// Model presets for `llamps make-model`: LLaMA shapes written as GGUF files with deterministic
// pseudo-random weights and a small but valid llama (SentencePiece-style) tokenizer.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/gguf.hpp"

namespace llamps {

struct model_preset {
  std::string name;
  int n_vocab, n_ctx, n_embd, n_ff, n_head, n_head_kv, n_blocks;
};

const std::vector<model_preset>& model_presets();
const model_preset& find_preset(const std::string& name); // throws model_error listing the names

struct make_model_options {
  int blocks = 0;                                   // > 0 overrides the preset's block count
  gguf::tensor_type type = gguf::tensor_type::f32;  // f32, q8_0 or q4_0 (norms stay f32)
  uint64_t seed = 1;
  std::function<void(uint64_t done, uint64_t total)> progress; // bytes of tensor data
};

// Writes the preset's model to `path` (atomically). Returns the file size in bytes.
uint64_t write_preset_model(const model_preset& p, const std::string& path, const make_model_options& o);

// The deterministic vocabulary: <unk>, <s>, </s>, 256 byte tokens, then merges and single
// characters with descending scores. token_type as llama.cpp: 1 normal, 2 unknown, 3 control, 6 byte.
struct vocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
};
vocab make_vocab(int n_vocab);

} // namespace llamps
