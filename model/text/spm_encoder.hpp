#pragma once
// SentencePiece BPE, as llama.cpp's llm_tokenizer_spm and llama2.c's encode: start from one
// symbol per UTF-8 character and keep merging the adjacent pair whose concatenation is the
// best-scoring token; characters left outside the vocabulary become byte tokens <0xNN>.
#include <cstdint>
#include <string>
#include <vector>

#include "model/text/token_index.hpp"

namespace llamps {

// `text` is already escaped (spaces as U+2581 and the space prefix added). Appends to `out`.
void spm_encode(const std::string& text, const token_index& index, const std::vector<float>& scores,
                const int32_t (&byte_tokens)[256], std::vector<int32_t>& out);

} // namespace llamps
