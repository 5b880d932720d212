#include "model/text/utf8.hpp"

namespace llamps {

namespace {

// Bytes of the character a lead byte starts: 1 for ASCII, 2..4 for a lead byte, 0 for a
// continuation byte or a byte that is never part of UTF-8.
size_t sequence_length(unsigned char b) {
  if (b < 0x80)
    return 1;
  if (b >= 0xC2 && b <= 0xDF)
    return 2;
  if (b >= 0xE0 && b <= 0xEF)
    return 3;
  if (b >= 0xF0 && b <= 0xF4)
    return 4;
  return 0;
}

bool continuation(unsigned char b) { return (b & 0xC0) == 0x80; }

// Whether the `n` bytes at s[0..n) (s holds at least n) are one well-formed character.
bool well_formed(const unsigned char* s, size_t n) {
  for (size_t i = 1; i < n; i++)
    if (!continuation(s[i]))
      return false;
  if (n == 3) {
    if (s[0] == 0xE0 && s[1] < 0xA0)
      return false; // overlong
    if (s[0] == 0xED && s[1] >= 0xA0)
      return false; // surrogate
  }
  if (n == 4) {
    if (s[0] == 0xF0 && s[1] < 0x90)
      return false; // overlong
    if (s[0] == 0xF4 && s[1] >= 0x90)
      return false; // above U+10FFFF
  }
  return true;
}

} // namespace

size_t utf8_complete_prefix(std::string_view s) {
  // Only the last three bytes can belong to an unfinished character.
  for (size_t back = 1; back <= 3 && back <= s.size(); back++) {
    const auto b = static_cast<unsigned char>(s[s.size() - back]);
    if (continuation(b))
      continue;
    const size_t need = sequence_length(b);
    return need > back ? s.size() - back : s.size();
  }
  return s.size();
}

std::string utf8_valid(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  for (size_t i = 0; i < s.size();) {
    const size_t n = sequence_length(p[i]);
    if (n > 0 && i + n <= s.size() && well_formed(p + i, n)) {
      out.append(s.data() + i, n);
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      i++;
    }
  }
  return out;
}

std::string utf8_stream::push(const std::string& piece) {
  pending_ += piece;
  const size_t n = utf8_complete_prefix(pending_);
  std::string out = pending_.substr(0, n);
  pending_.erase(0, n);
  return out;
}

std::string utf8_stream::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

} // namespace llamps
