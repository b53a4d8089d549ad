#pragma once
// UTF-8 as JSON and the app need it: which bytes may follow a lead byte
// (no overlong forms, no UTF-16 surrogates, nothing past U+10FFFF), and text
// made valid for output by replacing what is not.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace josi::base {

// What a byte starts: `need` continuation bytes (0 for ASCII, -1 when the
// byte cannot start a character), the range [lo, hi] of the first of them
// (later ones are 0x80..0xBF), and the lead's payload bits.
struct Utf8Lead {
  int need = -1;
  uint8_t lo = 0x80, hi = 0xBF;
  uint32_t bits = 0;
};
Utf8Lead utf8_lead(uint8_t byte);

// Length of the valid UTF-8 sequence at s[i], or 0 when the bytes there are not one.
size_t utf8_sequence(std::string_view s, size_t i);

// `text` with every byte that is not part of a valid sequence replaced by
// U+FFFD: a model's bytes (a token may end inside a character) made safe
// for JSON and for the app.
std::string valid_utf8(std::string_view text);

// Characters of UTF-8 text as Python's len() counts them (bytes that do not
// continue a sequence).
size_t code_points(std::string_view text);

}  // namespace josi::base
