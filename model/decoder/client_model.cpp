#include "model/decoder/client_model.hpp"

#include <map>
#include <mutex>

namespace llamps {

std::shared_ptr<const client_model> load_client_model(const std::string& path) {
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<const client_model>> loaded;
  std::lock_guard<std::mutex> guard{mutex};
  if (auto existing = loaded[path].lock())
    return existing;
  auto file = gguf::file::open(path);
  auto cfg = read_llama_config(file);
  auto model = std::make_shared<const client_model>(
      client_model{path, file.identity(), cfg, tokenizer::from_gguf(file), model_head(file, cfg),
                   file.get_string("tokenizer.chat_template").value_or("")});
  loaded[path] = model;
  return model;
}

} // namespace llamps
