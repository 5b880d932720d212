#include "model/text/chat_prompt.hpp"

namespace llamps {

chat_prompt make_chat_prompt(const tokenizer& tok, const std::string& model_template, const std::string& name,
                             const std::vector<chat_message>& messages, bool add_generation_prompt) {
  auto tmpl = choose_chat_template(name, model_template);
  chat_render_options options;
  options.add_generation_prompt = add_generation_prompt;
  options.bos_text = tok.token_text(tok.bos());
  options.eos_text = tok.token_text(tok.eos());
  chat_prompt out;
  out.template_name = tmpl.name;
  out.text = render_chat(tmpl, messages, options);
  // Templates that print bos_token (Llama 2 and 3, Mistral, Gemma) already start with it: a
  // second BOS would be a prompt the model never saw.
  bool starts_with_bos =
      tmpl.parse_special && !options.bos_text.empty() && out.text.rfind(options.bos_text, 0) == 0;
  out.ids = tok.encode(out.text, tok.add_bos_by_default() && !starts_with_bos, tmpl.parse_special);
  if (!tmpl.end_of_turn.empty())
    if (auto eot = tok.find_token(tmpl.end_of_turn))
      out.stop_tokens.push_back(*eot);
  return out;
}

} // namespace llamps
