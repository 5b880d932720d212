#pragma once
// The pre-tokenizers of byte-level BPE vocabularies, by their tokenizer.ggml.pre name: the
// text is cut into words before merging, so no token spans two words. A pre-tokenizer is a
// list of regular expressions applied in turn, as llama.cpp does: each one cuts every piece
// of the previous cut into its matches and the text between them.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace llamps {

class pre_tokenizer {
public:
  // Nothing for a name this code does not know.
  static std::shared_ptr<const pre_tokenizer> named(const std::string& name);
  static std::string known_names(); // "default, gpt-2, ..." for error messages
  ~pre_tokenizer();

  // Appends the words of `text` (valid UTF-8), in order; together they are all of it.
  void split(std::string_view text, std::vector<std::string_view>& words) const;

  bool ignore_merges() const { return ignore_merges_; } // a word that is a token stays whole
  bool add_bos() const { return add_bos_; }             // llama.cpp's default for add_bos_token

  struct compiled;

private:
  std::vector<std::unique_ptr<compiled>> regexes_;
  bool ignore_merges_ = false, add_bos_ = false;
};

} // namespace llamps
