#pragma once
// The client side of a model: what a session needs besides the block hosts — the tokenizer,
// the token embedding and the output head. Loaded once per file per process and shared by
// every session of that model (a 7B head is half a gigabyte).
#include <memory>
#include <string>

#include "model/decoder/block_stack.hpp"
#include "model/decoder/llama_config.hpp"
#include "model/text/tokenizer.hpp"

namespace llamps {

struct client_model {
  std::string path;
  std::string identity;
  llama_config config;
  tokenizer tok;
  model_head head;
  std::string chat_template; // tokenizer.chat_template ("" = the file has none)
};

// Loads (or returns the already loaded) client side of the model at `path`.
std::shared_ptr<const client_model> load_client_model(const std::string& path);

} // namespace llamps
