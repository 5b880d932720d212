// The regular expressions are those of the models' tokenizer.json files as llama.cpp's
// llama-vocab.cpp lists them per pre-tokenizer type, written for PCRE2 (UTF + UCP, JIT):
//   * PCRE2's \s lacks U+0085 (NEL), which llama.cpp counts as whitespace (its tables follow
//     Unicode's White_Space): every \s below is [\s\x{85}] and every \S is [^\s\x{85}].
//   * $ is the end of the piece only (PCRE2_DOLLAR_ENDONLY), as in std::regex.
//   * Llama 3's case-insensitive contractions (?i:'s|'t|...) are spelled out as '[sS]|'[tT]|...,
//     the form llama.cpp runs: PCRE2's caseless matching would also take 'ſ (U+017F) for 's.
//   * llama.cpp runs the GPT-2 and Llama 3 expressions as hand-written loops and the others
//     with std::regex over a text whose non-ASCII characters are replaced by one byte per
//     Unicode category; for assigned characters both behave as these expressions do here.
//     Expressions without \p{..} it runs on the text itself, but with every non-ASCII
//     whitespace character replaced by U+000B: their explicit ranges (U+0800..U+4E00 holds
//     U+2028 and U+3000) never match whitespace, hence the (?![\s\x{85}]) before them.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "model/text/pre_tokenizer.hpp"

#include <pcre2.h>

#include <map>
#include <stdexcept>

namespace llamps {

namespace {

// GPT-2's expression; also the second step of several others.
const char* const gpt2 =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\x{85}\p{L}\p{N}]+|[\s\x{85}]+(?![^\s\x{85}]))";

// Llama 3's; Qwen2's is the same with single digits.
#define LLAMPS_LLAMA3_LIKE(digits)                                                                           \
  R"((?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|)" digits            \
  R"(| ?[^\s\x{85}\p{L}\p{N}]+[\r\n]*|[\s\x{85}]*[\r\n]+|[\s\x{85}]+(?![^\s\x{85}])|[\s\x{85}]+)"
const char* const llama3 = LLAMPS_LLAMA3_LIKE(R"(\p{N}{1,3})");
const char* const qwen2 = LLAMPS_LLAMA3_LIKE(R"(\p{N})");
#undef LLAMPS_LLAMA3_LIKE

const char* const cjk_hangul = R"((?:(?![\s\x{85}])[一-龥ࠀ-一가-퟿])+)";

// DeepSeek LLM's letters, from its tokenizer.json.
const char* const deepseek_letters =
    R"([\s\x{85}]?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳ)"
    R"(Ͷͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-)"
    R"(Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-)"
    R"(ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-)"
    R"(ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ)"
    R"(-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+)";

struct definition {
  std::vector<const char*> regexes;
  bool ignore_merges = false, add_bos = false;
};

// Name -> definition; aliases share one. The names are tokenizer.ggml.pre's, as llama.cpp
// reads them ("gpt-neox": GPT-NeoX's vocabulary, which llama.cpp's converter labels "mpt").
const std::map<std::string, definition>& definitions() {
  static const std::map<std::string, definition> d = [] {
    const definition default_def{{R"([\p{P}\$\+<=>\^~\|]+)", gpt2, R"(\p{N}+)", "[0-9][0-9][0-9]"}};
    const definition gpt2_def{{gpt2}};
    const definition llama3_def{{llama3}, true, true};
    const definition qwen2_def{{qwen2}};
    const definition starcoder_def{{R"(\p{N})", gpt2}};
    std::map<std::string, definition> m;
    m["default"] = default_def;
    for (const char* n : {"gpt-2", "gpt-neox", "mpt", "olmo", "phi-2", "jais", "roberta-bpe"})
      m[n] = gpt2_def;
    for (const char* n : {"llama-bpe", "llama3", "llama-v3", "falcon3"})
      m[n] = llama3_def;
    for (const char* n : {"dbrx", "smaug-bpe"})
      m[n] = {{llama3}}; // Llama 3's split only
    for (const char* n : {"qwen2", "deepseek-r1-qwen", "stablelm2", "megrez"})
      m[n] = qwen2_def;
    for (const char* n : {"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"})
      m[n] = starcoder_def;
    m["falcon"] = {{R"([\p{P}\$\+<=>\^~\|`]+)", gpt2, "[0-9][0-9][0-9]"}};
    m["deepseek-llm"] = {{R"([\r\n])", deepseek_letters,
                          R"([\s\x{85}]?(?:(?![\s\x{85}])[!-/:-~！-／：-～‘-‟　-。])+)", R"([\s\x{85}]+$)",
                          cjk_hangul, R"(\p{N}+)"}};
    m["deepseek-coder"] = {
        {R"([\r\n])", R"([\s\x{85}]?\p{L}+)", R"([\s\x{85}]?\p{P}+)", cjk_hangul, R"(\p{N})"}};
    return m;
  }();
  return d;
}

} // namespace

struct pre_tokenizer::compiled {
  pcre2_code* code = nullptr;
  ~compiled() { pcre2_code_free(code); }
};

pre_tokenizer::~pre_tokenizer() = default;

std::shared_ptr<const pre_tokenizer> pre_tokenizer::named(const std::string& name) {
  auto it = definitions().find(name);
  if (it == definitions().end())
    return nullptr;
  auto p = std::make_shared<pre_tokenizer>();
  p->ignore_merges_ = it->second.ignore_merges;
  p->add_bos_ = it->second.add_bos;
  for (const char* re : it->second.regexes) {
    int error = 0;
    PCRE2_SIZE at = 0;
    auto c = std::make_unique<compiled>();
    c->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(re), PCRE2_ZERO_TERMINATED,
                            PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY | PCRE2_NO_UTF_CHECK, &error, &at,
                            nullptr);
    if (!c->code) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof message);
      throw std::logic_error("pre-tokenizer " + name + ": regex does not compile at " + std::to_string(at) +
                             ": " + reinterpret_cast<const char*>(message));
    }
    pcre2_jit_compile(c->code, PCRE2_JIT_COMPLETE); // without JIT (unsupported CPU) it interprets
    p->regexes_.push_back(std::move(c));
  }
  return p;
}

std::string pre_tokenizer::known_names() {
  std::string s;
  for (const auto& [name, def] : definitions())
    s += (s.empty() ? "" : ", ") + name;
  return s;
}

void pre_tokenizer::split(std::string_view text, std::vector<std::string_view>& words) const {
  std::vector<std::string_view> pieces = {text}, next;
  for (const auto& re : regexes_) {
    pcre2_match_data* match = pcre2_match_data_create_from_pattern(re->code, nullptr);
    next.clear();
    for (std::string_view piece : pieces) {
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
      size_t at = 0, gap = 0; // `gap`: where the text not matched yet begins
      while (at < piece.size()) {
        const int rc = pcre2_match(re->code, subject, piece.size(), at, PCRE2_NO_UTF_CHECK, match, nullptr);
        if (rc == PCRE2_ERROR_NOMATCH)
          break;
        if (rc < 0) { // a resource limit: never a silently different split
          pcre2_match_data_free(match);
          PCRE2_UCHAR message[256];
          pcre2_get_error_message(rc, message, sizeof message);
          throw std::runtime_error(std::string("pre-tokenizer: ") + reinterpret_cast<const char*>(message));
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match);
        if (ov[1] == ov[0]) { // none of these expressions matches nothing, but never loop
          at = ov[0] + 1;
          while (at < piece.size() && (static_cast<unsigned char>(piece[at]) & 0xC0) == 0x80)
            at++;
          continue;
        }
        if (ov[0] > gap)
          next.push_back(piece.substr(gap, ov[0] - gap));
        next.push_back(piece.substr(ov[0], ov[1] - ov[0]));
        gap = at = ov[1];
      }
      if (gap < piece.size())
        next.push_back(piece.substr(gap));
    }
    pcre2_match_data_free(match);
    pieces.swap(next);
  }
  words.insert(words.end(), pieces.begin(), pieces.end());
}

} // namespace llamps
