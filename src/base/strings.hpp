#pragma once
// Small text helpers shared by the layers. "Whitespace" is Python's str.split()
// notion restricted to ASCII, which is what the users' rules rely on.
#include <string>
#include <string_view>
#include <vector>

namespace josi::base {

bool is_space(char c);  // ASCII whitespace: space, \t, \n, \r, \f, \v
std::string_view trim(std::string_view text);
std::string to_lower_ascii(std::string_view text);
std::vector<std::string_view> split_whitespace(std::string_view text);
bool starts_with_ci(std::string_view text, std::string_view prefix);
// Text from an untrusted file (a tensor name, a key, a dtype), ready for a
// one-line error message: in double quotes, everything but printable ASCII
// (and the quote and backslash) as \xNN, cut at 80 bytes with "...".
std::string quoted(std::string_view text);
std::string join(const std::vector<std::string>& parts, std::string_view separator);

}  // namespace josi::base
