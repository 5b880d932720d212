#pragma once
// UTF-8 helpers of the tokenizer and of streamed text. No Unicode tables here: character
// classes are PCRE2's (model/text/pre_tokenizer.cpp).
#include <cstddef>
#include <string>
#include <string_view>

namespace llamps {

// The length of the longest prefix of `s` that does not end inside a UTF-8 character: the
// bytes after it are the start of a character whose remaining bytes have not arrived. Bytes
// that can never complete a character (a stray continuation byte, 0xF8..0xFF) are not held.
size_t utf8_complete_prefix(std::string_view s);

// `s` with every byte that does not start a well-formed UTF-8 character (RFC 3629: no
// overlong forms, no surrogates, nothing above U+10FFFF) replaced by U+FFFD, one per byte.
std::string utf8_valid(std::string_view s);

// Pieces of streamed text in, whole characters out: push() returns what may be shown now and
// keeps an incomplete character's first bytes until the rest arrives; flush() returns them.
class utf8_stream {
public:
  std::string push(const std::string& piece);
  std::string flush();

private:
  std::string pending_;
};

} // namespace llamps
