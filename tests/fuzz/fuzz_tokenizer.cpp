// libFuzzer target: any bytes, tokenized with the five reference vocabularies (with and without
// special tokens), must never crash; byte-level BPE must decode back to the text (broken UTF-8
// as U+FFFD); the streamed pieces must be valid UTF-8 when the text is, and must concatenate to
// the decoding.
// FUZZ_SOURCES: model/text/tokenizer.cpp model/text/spm_encoder.cpp model/text/bpe_encoder.cpp model/text/pre_tokenizer.cpp model/text/token_index.cpp model/text/utf8.cpp model/gguf/gguf.cpp model/gguf/gguf_parse.cpp model/gguf/gguf_types.cpp model/quant/formats.cpp
// FUZZ_LIBS: -lpcre2-8 -lcrypto
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "model/gguf/gguf.hpp"
#include "model/text/tokenizer.hpp"
#include "model/text/utf8.hpp"

namespace {

const std::vector<llamps::tokenizer>& vocabularies() {
  static const std::vector<llamps::tokenizer> all = [] {
    std::vector<llamps::tokenizer> v;
    // The reference vocabularies beside the source tree (run_fuzz.sh compiles this file by
    // its absolute path), or where LLAMPS_FUZZ_VOCAB_DIR says.
    std::string dir = __FILE__;
    dir = dir.substr(0, dir.rfind("/tests/fuzz/")) + "/../shared/models/families/vocab";
    if (const char* env = std::getenv("LLAMPS_FUZZ_VOCAB_DIR"))
      dir = env;
    const std::string base = dir + "/ggml-vocab-";
    for (const char* name : {"llama3", "qwen3", "gpt-2", "llama-spm", "phi-3"})
      v.push_back(llamps::tokenizer::from_gguf(llamps::gguf::file::open(base + name + ".gguf")));
    return v;
  }();
  return all;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // 4 KiB is enough for every path; the 1 MB seeds would only run them slowly under ASan.
  const std::string text(reinterpret_cast<const char*>(data), std::min<size_t>(size, 4096));
  const bool valid = llamps::utf8_valid(text) == text;
  for (const auto& tok : vocabularies()) {
    for (bool special : {false, true}) {
      const std::vector<int32_t> ids = tok.encode(text, true, special);
      llamps::utf8_stream stream;
      std::string streamed;
      for (size_t i = 1; i < ids.size(); i++) {
        if (ids[i] < 0 || ids[i] >= tok.vocab_size())
          std::abort();
        const std::string chunk = stream.push(tok.piece(ids[i - 1], ids[i]));
        if (valid && llamps::utf8_valid(chunk) != chunk)
          std::abort();
        streamed += chunk;
      }
      streamed += stream.flush();
      if (streamed != tok.decode(ids))
        std::abort();
      if (tok.model_kind() == llamps::tokenizer::kind::bpe && !special &&
          tok.decode(ids) != llamps::utf8_valid(text))
        std::abort();
    }
  }
  return 0;
}
