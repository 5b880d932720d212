#pragma once
// Chat templates: a conversation (role + content messages) turned into the prompt text an
// instruction-tuned model was trained on.
//
// A GGUF file carries its template as Jinja source (metadata key tokenizer.chat_template).
// There is no Jinja engine here: the common template families are recognised from their text
// (markers such as <|im_start|> or [INST], as llama.cpp's llm_chat_detect_template does) and
// rendered by hand, each as its published template renders with Hugging Face's engine
// (trim_blocks and lstrip_blocks on). The text still contains the special-token texts
// (<|eot_id|>, <s>, ...): whoever tokenizes it matches them as whole tokens.
//
// Families (chat_template_names()): chatml, qwen3, llama2, llama3, llama3.1, mistral, mistral-v1,
// mistral-v3, mistral-v3-tekken, mistral-v7, phi3, gemma, zephyr, plain. `plain` is the
// fallback of a model without a template: the contents one per line, roles unmarked.
// Templates that refuse a system message (gemma, mistral) get it prepended to the first user
// message, as llama.cpp does.
#include <optional>
#include <string>
#include <vector>

namespace llamps {

struct chat_message {
  std::string role; // "system", "user", "assistant" ("tool" for the families that know it)
  std::string content;
};

struct chat_render_options {
  bool add_generation_prompt = true; // end with the opening of the assistant's turn
  bool enable_thinking = true;       // qwen3: false opens the answer with an empty <think></think>
  std::string bos_text;              // the tokenizer's BOS and EOS token texts (<s>, </s>, ...)
  std::string eos_text;
};

struct chat_template {
  std::string name; // one of chat_template_names()
  // The family's own end-of-turn token text (<|eot_id|>, <|im_end|>, ...); "" when the turn
  // ends with the tokenizer's EOS (llama2, mistral, zephyr, plain).
  std::string end_of_turn;
  bool always_generation_prompt = false; // the template opens the assistant turn regardless
  std::string default_system;            // used when the conversation has no system message
  bool parse_special = true;             // the text holds special-token texts (false only for plain)
  bool prints_bos = true;                // false for a template text that never prints bos_token
};

const std::vector<std::string>& chat_template_names();

// The family called `name`; nothing when there is none of that name.
std::optional<chat_template> chat_template_named(const std::string& name);

// The family of a tokenizer.chat_template text; nothing when it is not recognised.
std::optional<chat_template> detect_chat_template(const std::string& jinja);

// The template a request is rendered with: the family `name` when one is given, else the one
// recognised in the model's template text `jinja`, else (the model has no template) plain.
// Throws model_error naming the unknown name, or saying the model's template is not one of
// the known families (and how to pick one).
chat_template choose_chat_template(const std::string& name, const std::string& jinja);

// Throws model_error for a conversation the template cannot render (no messages, or a role
// the family does not know).
std::string render_chat(const chat_template& tmpl, const std::vector<chat_message>& messages,
                        const chat_render_options& options);

} // namespace llamps
