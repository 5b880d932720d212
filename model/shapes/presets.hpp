#pragma once
// Model presets for `llamps make-model`: LLaMA shapes written as GGUF files with deterministic
// pseudo-random weights and a small but valid llama (SentencePiece-style) tokenizer.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/gguf/gguf.hpp"
#include "model/shapes/model_shape.hpp"

namespace llamps {

// make-model's shapes: its own small ones ("tiny", "hop-4096", ...) and every Llama-architecture
// model of the catalog (model_catalog.hpp), e.g. "tinyllama-1.1b" or "llama-2-7b".
std::vector<std::string> preset_names();
model_shape find_preset(const std::string& name); // throws model_error listing the names

struct make_model_options {
  int blocks = 0; // > 0 overrides the preset's block count
  // The matrices' type: f32, q8_0, q4_0, q4_k or q6_k (norms stay f32); with q4_k_m, the mix
  // llama-quantize's Q4_K_M writes (q4_k, with q6_k for the output and for attn_v and
  // ffn_down in a third of the blocks, more at both ends).
  gguf::tensor_type type = gguf::tensor_type::f32;
  bool q4_k_m = false;
  uint64_t seed = 1;
  // A GGUF (a vocabulary-only file will do) whose tokenizer.* keys the model takes instead of
  // the deterministic vocabulary: tokens, merges, special ids, chat template; the vocabulary
  // size follows.
  std::string vocab_from;
  std::string chat_template; // tokenizer.chat_template to write ("" = the vocabulary's, if any)
  bool tied = false;         // no output.weight: the head reuses token_embd
  std::function<void(uint64_t done, uint64_t total)> progress; // bytes of tensor data
};

// "f32", "q8_0", "q4_0", "q4_k", "q6_k" or "q4_k_m" into options' type and q4_k_m; throws
// model_error naming the choices.
void set_weight_type(make_model_options& o, const std::string& name);

// Writes the preset's model to `path` (atomically). Returns the file size in bytes.
uint64_t write_preset_model(const model_shape& p, const std::string& path, const make_model_options& o);

// The deterministic vocabulary: <unk>, <s>, </s>, 256 byte tokens, then merges and single
// characters with descending scores. token_type as llama.cpp: 1 normal, 2 unknown, 3 control, 6 byte.
struct vocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
};
vocab make_vocab(int n_vocab);

} // namespace llamps
