#pragma once
// The few pieces of Python's text handling the card selector was written
// with and the trained models saw the results of: \w and \s as Python's re
// matches them on str, str.rstrip(), and str.lower() as far as it can turn
// text into the ASCII keywords are written in.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace josi::knowledge {

// The code point at text[i] and its length in bytes; an invalid byte is
// U+FFFD, one byte long.
struct CodePoint {
  char32_t value;
  size_t bytes;
};
CodePoint code_point_at(std::string_view text, size_t i);

bool is_word_char(char32_t c);   // re's \w: letters, digits, numerics and '_'
bool is_space(char32_t c);       // re's \s and str.isspace()

std::string_view rstrip(std::string_view text);
std::string_view strip(std::string_view text);

// `text` lower-cased for matching ASCII keywords: ASCII letters lowered,
// U+0130 to "i" + U+0307 and U+212A (Kelvin) to "k" as Python does, every
// other character as it is (its lower case is not ASCII either).
std::string lower_for_keywords(std::string_view text);

// str.lower(): each code point's Unicode lower case, U+0130 as "i" + U+0307,
// and a capital sigma that ends a word (a letter before it, none after) as
// the final form U+03C2. The users' fidelity eval compares text this way.
std::string python_lower(std::string_view text);

// The matches of \b\w+\b: maximal runs of word characters.
std::set<std::string> words_of(std::string_view text);

}  // namespace josi::knowledge
