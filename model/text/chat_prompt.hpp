#pragma once
// A conversation made into prompt ids: rendered with the chat template a request picks (or the
// model's own), then tokenized as the model's trainers did, special-token texts as tokens.
#include <cstdint>
#include <string>
#include <vector>

#include "model/text/chat_template.hpp"
#include "model/text/tokenizer.hpp"

namespace llamps {

struct chat_prompt {
  std::string template_name;        // the family used
  std::string text;                 // the rendered conversation
  std::vector<int32_t> ids;         // its tokens: a BOS first when the tokenizer adds one by
                                    // default and the text does not already start with it
  std::vector<int32_t> stop_tokens; // the template's end-of-turn token (when the vocabulary has it)
};

// `model_template`: the model's tokenizer.chat_template ("" = none); `name`: a family that
// overrides it ("" = none). Throws model_error as choose_chat_template and render_chat do.
chat_prompt make_chat_prompt(const tokenizer& tok, const std::string& model_template, const std::string& name,
                             const std::vector<chat_message>& messages, bool add_generation_prompt = true);

} // namespace llamps
