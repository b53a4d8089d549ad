#include "knowledge/python_text.hpp"

#include <utf8proc.h>

#include "base/utf8.hpp"

namespace josi::knowledge {

CodePoint code_point_at(std::string_view text, size_t i) {
  const size_t n = base::utf8_sequence(text, i);
  if (n == 0) return {0xFFFD, 1};
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  char32_t c = n == 1 ? byte(0) : n == 2 ? byte(0) & 0x1F : n == 3 ? byte(0) & 0x0F : byte(0) & 0x07;
  for (size_t k = 1; k < n; ++k) c = (c << 6) | (byte(k) & 0x3F);
  return {c, n};
}

bool is_word_char(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(c))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

bool is_space(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F);
  return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
         c == 0x202F || c == 0x205F || c == 0x3000;
}

std::string_view rstrip(std::string_view text) {
  size_t end = 0;  // just past the last character that is not a space
  for (size_t i = 0; i < text.size();) {
    const auto cp = code_point_at(text, i);
    i += cp.bytes;
    if (!is_space(cp.value)) end = i;
  }
  return text.substr(0, end);
}

std::string_view strip(std::string_view text) {
  size_t start = 0;
  while (start < text.size()) {
    const auto cp = code_point_at(text, start);
    if (!is_space(cp.value)) break;
    start += cp.bytes;
  }
  return rstrip(text.substr(start));
}

std::string lower_for_keywords(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const auto cp = code_point_at(text, i);
    if (cp.value >= 'A' && cp.value <= 'Z') out += static_cast<char>(cp.value - 'A' + 'a');
    else if (cp.value == 0x130) out += "i\xCC\x87";
    else if (cp.value == 0x212A) out += 'k';
    else out.append(text.substr(i, cp.bytes));
    i += cp.bytes;
  }
  return out;
}

namespace {

bool is_cased_letter(char32_t c) {
  const auto category = utf8proc_category(static_cast<utf8proc_int32_t>(c));
  return category == UTF8PROC_CATEGORY_LU || category == UTF8PROC_CATEGORY_LL || category == UTF8PROC_CATEGORY_LT;
}

void append_utf8(std::string& out, char32_t c) {
  utf8proc_uint8_t bytes[4];
  const auto n = utf8proc_encode_char(static_cast<utf8proc_int32_t>(c), bytes);
  out.append(reinterpret_cast<const char*>(bytes), static_cast<size_t>(n));
}

}  // namespace

std::string python_lower(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool letter_before = false;
  for (size_t i = 0; i < text.size();) {
    const auto cp = code_point_at(text, i);
    const size_t next = i + cp.bytes;
    if (cp.value == 0x130) {
      out += "i\xCC\x87";
    } else if (cp.value == 0x3A3) {
      const bool letter_after = next < text.size() && is_cased_letter(code_point_at(text, next).value);
      append_utf8(out, letter_before && !letter_after ? 0x3C2 : 0x3C3);
    } else if (cp.value == 0xFFFD && cp.bytes == 1) {
      out.append(text.substr(i, 1));  // an invalid byte stays as it was
    } else {
      append_utf8(out, static_cast<char32_t>(utf8proc_tolower(static_cast<utf8proc_int32_t>(cp.value))));
    }
    letter_before = is_cased_letter(cp.value);
    i = next;
  }
  return out;
}

std::set<std::string> words_of(std::string_view text) {
  std::set<std::string> words;
  size_t start = std::string_view::npos;
  for (size_t i = 0; i <= text.size();) {
    const auto cp = i < text.size() ? code_point_at(text, i) : CodePoint{0, 1};
    const bool word = i < text.size() && is_word_char(cp.value);
    if (word && start == std::string_view::npos) start = i;
    if (!word && start != std::string_view::npos) {
      words.emplace(text.substr(start, i - start));
      start = std::string_view::npos;
    }
    i += cp.bytes;
  }
  return words;
}

}  // namespace josi::knowledge
