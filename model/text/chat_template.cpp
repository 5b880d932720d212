#include "model/text/chat_template.hpp"

#include <functional>

#include "model/errors.hpp"

namespace llamps {

namespace {

using messages_t = std::vector<chat_message>;
using render_fn =
    std::function<std::string(const chat_template&, const messages_t&, const chat_render_options&)>;

const char* const whitespace = " \t\n\r\f\v";

// Python's str.strip / lstrip / rstrip (Jinja's trim filter is strip()).
std::string lstrip(const std::string& s, const char* chars = whitespace) {
  auto first = s.find_first_not_of(chars);
  return first == std::string::npos ? "" : s.substr(first);
}
std::string rstrip(const std::string& s, const char* chars = whitespace) {
  auto last = s.find_last_not_of(chars);
  return last == std::string::npos ? "" : s.substr(0, last + 1);
}
std::string strip(const std::string& s, const char* chars = whitespace) {
  return lstrip(rstrip(s, chars), chars);
}

bool contains(const std::string& text, const char* marker) { return text.find(marker) != std::string::npos; }

[[noreturn]] void unsupported_role(const chat_template& t, const chat_message& m) {
  throw model_error("the " + t.name + " chat template has no role '" + m.role + "'");
}

// The leading system message, if any, and the messages after it: the templates that place the
// system text somewhere inside a user turn take it out of the list first.
struct split_system {
  std::optional<std::string> system;
  messages_t rest;
  explicit split_system(const messages_t& messages) {
    auto from = messages.begin();
    if (from != messages.end() && from->role == "system")
      system = (from++)->content;
    rest.assign(from, messages.end());
  }
};

// ChatML (OpenHermes, Qwen 2/2.5): <|im_start|>role\ncontent<|im_end|>\n per message.
std::string render_chatml(const chat_template& t, const messages_t& messages, const chat_render_options& o) {
  std::string out;
  if (!t.default_system.empty() && messages.front().role != "system")
    out += "<|im_start|>system\n" + t.default_system + "<|im_end|>\n";
  for (auto& m : messages)
    out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (o.add_generation_prompt)
    out += "<|im_start|>assistant\n";
  return out;
}

// Qwen3: ChatML whose assistant turns may hold <think>reasoning</think>. The reasoning of
// turns before the last user message is dropped; later turns keep it in a normalised block.
std::string render_qwen3(const chat_template& t, const messages_t& messages, const chat_render_options& o) {
  auto is_tool_response = [](const std::string& c) {
    return c.rfind("<tool_response>", 0) == 0 && c.size() >= 16 &&
           c.compare(c.size() - 16, 16, "</tool_response>") == 0;
  };
  size_t last_query = messages.size() - 1;
  for (size_t i = messages.size(); i-- > 0;)
    if (messages[i].role == "user" && !is_tool_response(messages[i].content)) {
      last_query = i;
      break;
    }
  std::string out;
  for (size_t i = 0; i < messages.size(); ++i) {
    auto& m = messages[i];
    const bool last = i + 1 == messages.size();
    if (m.role == "user" || m.role == "system") {
      out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
    } else if (m.role == "assistant") {
      std::string content = m.content, reasoning;
      auto close = content.find("</think>");
      if (close != std::string::npos) {
        // content.split('</think>')[-1].lstrip('\n'), and the text between the last <think>
        // and the first </think>, without its surrounding newlines.
        content = lstrip(m.content.substr(m.content.rfind("</think>") + 8), "\n");
        auto before = rstrip(m.content.substr(0, close), "\n");
        auto open = before.rfind("<think>");
        reasoning = lstrip(open == std::string::npos ? before : before.substr(open + 7), "\n");
      }
      if (i > last_query && (last || !reasoning.empty()))
        out += "<|im_start|>assistant\n<think>\n" + strip(reasoning, "\n") + "\n</think>\n\n" +
               lstrip(content, "\n");
      else
        out += "<|im_start|>assistant\n" + content;
      out += "<|im_end|>\n";
    } else if (m.role == "tool") {
      if (i == 0 || messages[i - 1].role != "tool")
        out += "<|im_start|>user";
      out += "\n<tool_response>\n" + m.content + "\n</tool_response>";
      if (last || messages[i + 1].role != "tool")
        out += "<|im_end|>\n";
    } else {
      unsupported_role(t, m);
    }
  }
  if (o.add_generation_prompt) {
    out += "<|im_start|>assistant\n";
    if (!o.enable_thinking)
      out += "<think>\n\n</think>\n\n";
  }
  return out;
}

// Llama 3: header ids around the role, contents trimmed, BOS before the first message.
std::string render_llama3(const chat_template& t, const messages_t& messages, const chat_render_options& o) {
  std::string out = o.bos_text;
  for (auto& m : messages)
    out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + strip(m.content) + "<|eot_id|>";
  if (o.add_generation_prompt || t.always_generation_prompt)
    out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

// Llama 3.1: as Llama 3, but always a system turn that opens with the knowledge cut-off and a
// date (the template's default date: llamps passes none).
std::string render_llama31(const chat_template& t, const messages_t& messages, const chat_render_options& o) {
  split_system s(messages);
  chat_render_options rest = o;
  rest.bos_text.clear();
  return o.bos_text + "<|start_header_id|>system<|end_header_id|>\n\n" +
         "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n" + strip(s.system.value_or("")) +
         "<|eot_id|>" + render_llama3(t, s.rest, rest);
}

// Llama 2 chat (Meta's template): the system text in <<SYS>> inside the first user turn, BOS
// before every [INST], contents stripped, EOS after every answer.
std::string render_llama2(const chat_template& t, const messages_t& messages, const chat_render_options& o) {
  split_system s(messages);
  std::string out;
  for (size_t i = 0; i < s.rest.size(); ++i) {
    auto& m = s.rest[i];
    auto content = i == 0 && s.system ? "<<SYS>>\n" + *s.system + "\n<</SYS>>\n\n" + m.content : m.content;
    if (m.role == "user")
      out += o.bos_text + "[INST] " + strip(content) + " [/INST]";
    else if (m.role == "assistant")
      out += " " + strip(content) + " " + o.eos_text;
    else
      unsupported_role(t, m);
  }
  return out;
}

// The Mistral templates: [INST] user [/INST] answer</s>, BOS once at the start. They differ in
// the spaces around the markers, where the system text goes, and whether answers are trimmed.
struct mistral_style {
  const char* inst_open;     // before the user text
  const char* inst_close;    // after it
  const char* answer_prefix; // before the answer
  bool trim_answer = false;
  bool system_in_last_user = false; // v3: the system text joins the last user turn, not the first
};

std::string render_mistral_like(const chat_template& t, const messages_t& messages,
                                const chat_render_options& o, const mistral_style& style) {
  split_system s(messages);
  std::string out = o.bos_text;
  for (size_t i = 0; i < s.rest.size(); ++i) {
    auto& m = s.rest[i];
    if (m.role == "user") {
      bool with_system = s.system && (style.system_in_last_user ? i + 1 == s.rest.size() : i == 0);
      out += style.inst_open + (with_system ? *s.system + "\n\n" : "") + m.content + style.inst_close;
    } else if (m.role == "assistant") {
      out += style.answer_prefix + (style.trim_answer ? strip(m.content) : m.content) + o.eos_text;
    } else {
      unsupported_role(t, m);
    }
  }
  return out;
}

// Mistral v7: the system text has its own [SYSTEM_PROMPT] block, in place.
std::string render_mistral_v7(const chat_template& t, const messages_t& messages,
                              const chat_render_options& o) {
  std::string out = o.bos_text;
  for (auto& m : messages) {
    if (m.role == "system")
      out += "[SYSTEM_PROMPT] " + m.content + "[/SYSTEM_PROMPT]";
    else if (m.role == "user")
      out += "[INST] " + m.content + "[/INST]";
    else if (m.role == "assistant")
      out += " " + m.content + o.eos_text;
    else
      unsupported_role(t, m);
  }
  return out;
}

// Phi-3 / Phi-3.5: <|role|>\ncontent<|end|>\n; empty system messages are left out; without a
// generation prompt the text ends with EOS.
std::string render_phi3(const chat_template& t, const messages_t& messages, const chat_render_options& o) {
  std::string out;
  for (auto& m : messages) {
    if (m.role != "system" && m.role != "user" && m.role != "assistant")
      unsupported_role(t, m);
    if (m.role != "system" || !m.content.empty())
      out += "<|" + m.role + "|>\n" + m.content + "<|end|>\n";
  }
  return out + (o.add_generation_prompt ? "<|assistant|>\n" : o.eos_text);
}

// Gemma: <start_of_turn>user|model\ncontent<end_of_turn>\n, contents trimmed, BOS first.
std::string render_gemma(const chat_template& t, const messages_t& messages, const chat_render_options& o) {
  split_system s(messages);
  std::string out = o.bos_text;
  for (size_t i = 0; i < s.rest.size(); ++i) {
    auto& m = s.rest[i];
    if (m.role != "user" && m.role != "assistant")
      unsupported_role(t, m);
    auto content = strip(m.content);
    if (i == 0 && s.system && m.role == "user")
      content = strip(*s.system) + "\n\n" + content;
    out += "<start_of_turn>" + std::string(m.role == "assistant" ? "model" : "user") + "\n" + content +
           "<end_of_turn>\n";
  }
  if (o.add_generation_prompt)
    out += "<start_of_turn>model\n";
  return out;
}

// Zephyr: <|role|>\ncontent</s>\n per message.
std::string render_zephyr(const chat_template& t, const messages_t& messages, const chat_render_options& o) {
  std::string out;
  for (auto& m : messages) {
    if (m.role != "system" && m.role != "user" && m.role != "assistant")
      unsupported_role(t, m);
    out += "<|" + m.role + "|>\n" + m.content + o.eos_text + "\n";
  }
  if (o.add_generation_prompt)
    out += "<|assistant|>\n";
  return out;
}

// No template: the contents one per line (empty ones left out), roles unmarked.
std::string render_plain(const chat_template&, const messages_t& messages, const chat_render_options&) {
  std::string out;
  for (auto& m : messages)
    if (!m.content.empty())
      out += (out.empty() ? "" : "\n") + m.content;
  return out;
}

struct family {
  const char* name;
  const char* end_of_turn;
  render_fn render;
};

const std::vector<family>& families() {
  auto mistral = [](mistral_style style) {
    return [style](const chat_template& t, const messages_t& m, const chat_render_options& o) {
      return render_mistral_like(t, m, o, style);
    };
  };
  static const std::vector<family> all{
      {"chatml", "<|im_end|>", render_chatml},
      {"qwen3", "<|im_end|>", render_qwen3},
      {"llama2", "", render_llama2},
      {"llama3", "<|eot_id|>", render_llama3},
      {"llama3.1", "<|eot_id|>", render_llama31},
      {"mistral", "", mistral({"[INST] ", " [/INST]", "", false, false})},
      {"mistral-v1", "", mistral({" [INST] ", " [/INST]", " ", false, false})},
      {"mistral-v3", "", mistral({"[INST] ", "[/INST]", " ", true, true})},
      {"mistral-v3-tekken", "", mistral({"[INST]", "[/INST]", "", false, true})},
      {"mistral-v7", "", render_mistral_v7},
      {"phi3", "<|end|>", render_phi3},
      {"gemma", "<end_of_turn>", render_gemma},
      {"zephyr", "", render_zephyr},
      {"plain", "", render_plain},
  };
  return all;
}

const family* find_family(const std::string& name) {
  for (auto& f : families())
    if (f.name == name)
      return &f;
  return nullptr;
}

// The family name of a template text, from markers only its family's templates contain
// (the same evidence llama.cpp's llm_chat_detect_template uses); "" when none fits.
std::string detect_family(const std::string& t) {
  auto has = [&](const char* marker) { return contains(t, marker); };
  if (has("<|im_start|>")) {
    if (has("<|im_sep|>")) // Phi-4: ChatML markers, another layout
      return "";
    return has("<think>") ? "qwen3" : "chatml";
  }
  if (has("[INST]")) {
    if (has("[SYSTEM_PROMPT]"))
      return "mistral-v7";
    if (has("[AVAILABLE_TOOLS]"))
      return has("\"[INST]\"") ? "mistral-v3-tekken" : "mistral-v3";
    if (has("' [INST] ' + system_message"))
      return "mistral-v1";
    return has("<<SYS>>") ? "llama2" : "mistral";
  }
  if (has("<|start_header_id|>") && has("<|end_header_id|>"))
    return has("Cutting Knowledge Date") ? "llama3.1" : "llama3";
  if (has("<start_of_turn>"))
    return "gemma";
  if (has("<|assistant|>") && has("<|end|>"))
    return "phi3";
  if (has("<|user|>") && has("<|assistant|>") && has("eos_token"))
    return "zephyr";
  return "";
}

} // namespace

const std::vector<std::string>& chat_template_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (auto& f : families())
      out.push_back(f.name);
    return out;
  }();
  return names;
}

std::optional<chat_template> chat_template_named(const std::string& name) {
  auto f = find_family(name);
  if (!f)
    return std::nullopt;
  chat_template t;
  t.name = f->name;
  t.end_of_turn = f->end_of_turn;
  t.parse_special = t.name != "plain";
  return t;
}

std::optional<chat_template> detect_chat_template(const std::string& jinja) {
  auto name = detect_family(jinja);
  if (name.empty())
    return std::nullopt;
  auto t = *chat_template_named(name);
  t.prints_bos = contains(jinja, "bos_token");
  // The first Llama 3 template opens the assistant turn whatever add_generation_prompt says.
  t.always_generation_prompt = name == "llama3" && !contains(jinja, "add_generation_prompt");
  // Qwen 2.5 puts its own system message in front of a conversation that has none.
  const char* qwen_system = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";
  if (name == "chatml" && contains(jinja, qwen_system))
    t.default_system = qwen_system;
  return t;
}

chat_template choose_chat_template(const std::string& name, const std::string& jinja) {
  std::string known;
  for (auto& n : chat_template_names())
    known += (known.empty() ? "" : ", ") + n;
  if (!name.empty()) {
    if (auto t = chat_template_named(name))
      return *t;
    throw model_error("unknown chat template '" + name + "' (known: " + known + ")");
  }
  if (jinja.empty())
    return *chat_template_named("plain");
  if (auto t = detect_chat_template(jinja))
    return *t;
  throw model_error("the model's chat template (tokenizer.chat_template) is not one llamps recognises: "
                    "name one of " +
                    known + " instead");
}

std::string render_chat(const chat_template& tmpl, const std::vector<chat_message>& messages,
                        const chat_render_options& options) {
  if (messages.empty())
    throw model_error("a conversation needs at least one message");
  auto f = find_family(tmpl.name);
  if (!f)
    throw model_error("unknown chat template '" + tmpl.name + "'");
  if (tmpl.prints_bos)
    return f->render(tmpl, messages, options);
  auto without_bos = options;
  without_bos.bos_text.clear();
  return f->render(tmpl, messages, without_bos);
}

} // namespace llamps
