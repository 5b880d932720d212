#pragma once
// Byte-level BPE (GPT-2's): every byte of a word stands for one printable character (the
// byte-level alphabet below), a token is a string of those characters, and a word is encoded
// by merging adjacent symbols, always the pair of lowest merge rank (tokenizer.ggml.merges,
// strings "left right" in rank order) first, leftmost first among equal ranks.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "model/text/token_index.hpp"

namespace llamps {

// The byte-level alphabet: bytes 0x21..0x7E, 0xA1..0xAC and 0xAE..0xFF stand for the code point
// of the same number; the other 68 bytes (controls, space, 0x7F..0xA0, 0xAD), in increasing
// order, for U+0100, U+0101, ... So " " is "Ġ" (U+0120) and "\n" is "Ċ" (U+010A).
const std::string& byte_level_char(uint8_t byte);
// A token's text with every character of the alphabet turned back into its byte; characters
// outside the alphabet are kept as they are.
std::string byte_level_decode(const std::string& text);

class bpe_encoder {
public:
  // Throws model_error naming `path` and the merge at fault: a merge that is not two strings
  // separated by a space, that names a string that is not a token, or whose result is not one.
  // With `ignore_merges` (Llama 3), a word that is itself a token is that token.
  bpe_encoder(const std::string& path, const std::vector<std::string>& merges, const token_index& index,
              bool ignore_merges);

  // Appends the ids of one pre-tokenized word (raw bytes).
  void encode_word(std::string_view word, const token_index& index, std::vector<int32_t>& out) const;

private:
  // The merges as an open-addressing table on (left id, right id): rank -1 marks a free slot.
  struct merge {
    uint64_t pair;
    int32_t rank, result;
  };
  static uint64_t pair_key(int32_t left, int32_t right) {
    return static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32 | static_cast<uint32_t>(right);
  }
  uint64_t slot_of(uint64_t pair) const { return (pair * 0x9E3779B97F4A7C15ull >> 20) & mask_; }
  const merge* find(int32_t left, int32_t right) const;

  int32_t byte_token_[256]; // the token of each byte's character, -1 if the vocabulary lacks it
  std::vector<merge> merges_;
  uint64_t mask_ = 0;
  bool ignore_merges_;
};

} // namespace llamps
