#include "base/utf8.hpp"

namespace josi::base {

Utf8Lead utf8_lead(uint8_t c) {
  if (c < 0x80) return {0, 0x80, 0xBF, c};
  if (c >= 0xC2 && c <= 0xDF) return {1, 0x80, 0xBF, c & 0x1Fu};
  if (c >= 0xE0 && c <= 0xEF) return {2, static_cast<uint8_t>(c == 0xE0 ? 0xA0 : 0x80), static_cast<uint8_t>(c == 0xED ? 0x9F : 0xBF), c & 0x0Fu};
  if (c >= 0xF0 && c <= 0xF4) return {3, static_cast<uint8_t>(c == 0xF0 ? 0x90 : 0x80), static_cast<uint8_t>(c == 0xF4 ? 0x8F : 0xBF), c & 0x07u};
  return {};
}

size_t utf8_sequence(std::string_view s, size_t i) {
  const Utf8Lead lead = utf8_lead(static_cast<uint8_t>(s[i]));
  if (lead.need < 0 || i + static_cast<size_t>(lead.need) >= s.size()) return 0;
  for (int k = 1; k <= lead.need; ++k) {
    const auto b = static_cast<uint8_t>(s[i + static_cast<size_t>(k)]);
    const uint8_t lo = k == 1 ? lead.lo : 0x80, hi = k == 1 ? lead.hi : 0xBF;
    if (b < lo || b > hi) return 0;
  }
  return static_cast<size_t>(lead.need) + 1;
}

std::string valid_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const size_t n = utf8_sequence(s, i);
    if (n == 0) {
      out += "\xef\xbf\xbd";  // U+FFFD
      ++i;
    } else {
      out.append(s.substr(i, n));
      i += n;
    }
  }
  return out;
}

size_t code_points(std::string_view text) {
  size_t n = 0;
  for (const char c : text) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

}  // namespace josi::base
