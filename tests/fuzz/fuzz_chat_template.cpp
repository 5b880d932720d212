// libFuzzer target: chat templates on whatever a client sends. The input is split at NUL bytes:
// a template text (the model's tokenizer.chat_template), a family name, then message contents
// whose roles cycle through system, user, assistant, tool and an unknown one. Detection and
// rendering may refuse (model_error) but never crash or read out of bounds (Qwen3's think
// splitting and tool grouping index around the content).
// FUZZ_SOURCES: model/text/chat_template.cpp
// FUZZ_LIBS: -lm
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "model/errors.hpp"
#include "model/text/chat_template.hpp"

using namespace llamps;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The shared corpus holds GGUF files of a megabyte: their first 4 KiB make plenty of messages.
  size = std::min<size_t>(size, 4096);
  std::vector<std::string> parts(1);
  for (size_t i = 0; i < size; ++i)
    if (data[i])
      parts.back().push_back(static_cast<char>(data[i]));
    else
      parts.emplace_back();
  const char* roles[] = {"system", "user", "assistant", "tool", "robot"};
  std::vector<chat_message> messages;
  for (size_t i = 2; i < parts.size(); ++i)
    messages.push_back({roles[(i - 2) % 5], parts[i]});
  chat_render_options options;
  options.add_generation_prompt = size % 2 == 0;
  options.enable_thinking = size % 3 != 0;
  options.bos_text = "<s>";
  options.eos_text = "</s>";
  try {
    detect_chat_template(parts[0]);
    auto tmpl = choose_chat_template(parts.size() > 1 ? parts[1] : "", parts[0]);
    render_chat(tmpl, messages, options);
  } catch (const model_error&) {
  }
  for (auto& name : chat_template_names()) {
    try {
      render_chat(*chat_template_named(name), messages, options);
    } catch (const model_error&) {
    }
  }
  return 0;
}
