// A deterministic SentencePiece-style vocabulary for generated models. It is not trained, but
// it is valid for llama.cpp's "llama" tokenizer: special tokens, the 256 byte-fallback tokens,
// then merged pieces whose every prefix is also a token (so bigram merging can reach them),
// then single characters.
#include <set>

#include "model/shapes/presets.hpp"

namespace llamps {

namespace {

const char* const space = "\xE2\x96\x81"; // U+2581, SentencePiece's word boundary "▁"

// Common English words (taken with a leading "▁") and word pieces, most frequent first.
const char* const words[] = {
    "the",    "a",       "and",  "to",   "was",   "he",     "she",   "it",    "of",    "in",   "they",
    "her",    "his",     "said", "day",  "with",  "you",    "that",  "on",    "for",   "saw",  "big",
    "one",    "time",    "upon", "once", "there", "little", "girl",  "boy",   "named", "play", "happy",
    "friend", "friends", "mom",  "is",   "were",  "had",    "not",   "but",   "so",    "very", "all",
    "went",   "park",    "ball", "tree", "dog",   "cat",    "be",    "at",    "as",    "we",   "have",
    "are",    "from",    "this", "what", "like",  "wanted", "could", "loved", "found", "help", "home",
    "sun",    "fun",     "lily", "tom",  "ben",
};
const char* const pieces[] = {
    "in", "er", "on", "re", "an", "at", "en", "ed", "ing", "es",  "or",  "ar", "is", "ou", "it",
    "le", "al", "ly", "st", "nd", "ve", "se", "ll", "ut",  "ent", "ion", "ay", "ow", "ke", "ch",
};

// Every prefix of `s` of two or more bytes, then `s` itself, each once. `first` is the
// length of the leading unit that must not be split (the 3-byte "▁").
void add_with_prefixes(std::vector<std::string>& out, std::set<std::string>& seen, const std::string& s,
                       size_t first) {
  for (size_t n = first + 1; n <= s.size(); ++n)
    if (seen.insert(s.substr(0, n)).second)
      out.push_back(s.substr(0, n));
}

// Letter strings "aa", "ab", ... then "aaa", ..., each also with a leading "▁": filler for
// large vocabularies, prefix-closed by construction (shorter strings come first).
void add_filler(std::vector<std::string>& out, std::set<std::string>& seen, size_t want) {
  for (size_t len = 2; out.size() < want; ++len) {
    std::string s(len, 'a');
    for (;;) {
      for (const std::string& t : {s, space + s})
        if (out.size() < want && seen.insert(t).second)
          out.push_back(t);
      if (out.size() >= want)
        return;
      size_t i = len; // next string in lexicographic order over a..z
      while (i > 0 && s[i - 1] == 'z')
        s[--i] = 'a';
      if (i == 0)
        break;
      ++s[i - 1];
    }
  }
}

std::vector<std::string> single_chars() {
  std::vector<std::string> out = {space};
  for (char c = 33; c < 127; ++c)
    out.emplace_back(1, c);
  return out;
}

} // namespace

vocab make_vocab(int n_vocab) {
  vocab v;
  auto add = [&](std::string token, float score, int32_t type) {
    v.tokens.push_back(std::move(token));
    v.scores.push_back(score);
    v.types.push_back(type);
  };
  add("<unk>", 0.f, 2);
  add("<s>", 0.f, 3);
  add("</s>", 0.f, 3);
  static const char hex[] = "0123456789ABCDEF";
  for (int b = 0; b < 256; ++b)
    add(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">", 0.f, 6);

  const std::vector<std::string> chars = single_chars();
  const int budget = n_vocab - int(v.tokens.size());
  if (budget < int(chars.size()))
    throw model_error("vocabulary size " + std::to_string(n_vocab) + " is too small (at least " +
                      std::to_string(v.tokens.size() + chars.size()) + ")");
  const size_t n_merges = size_t(budget) - chars.size();
  std::vector<std::string> merges;
  std::set<std::string> seen(chars.begin(), chars.end());
  for (const char* w : words)
    add_with_prefixes(merges, seen, space + std::string(w), 3);
  for (const char* p : pieces)
    add_with_prefixes(merges, seen, p, 1);
  add_filler(merges, seen, n_merges);
  merges.resize(n_merges); // prefix-closed lists stay prefix-closed when cut

  // Higher scores merge first: the order above, then the single characters last.
  float score = 0.f;
  for (const auto& m : merges)
    add(m, score -= 1.f, 1);
  for (const auto& c : chars)
    add(c, score -= 1.f, 1);
  return v;
}

} // namespace llamps
