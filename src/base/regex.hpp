#pragma once
// A small PCRE2 wrapper for the coach rules and the tokenizer. Patterns are
// UTF-8; `\b`, `\w`, `\d` and `\s` keep their ASCII meaning (the coach rules
// are specified on ASCII word characters) unless the pattern is compiled
// with `python_unicode`. Compiled once, thread-safe to use.
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace josi::base {

struct RegexMatch {
  size_t begin = 0;  // byte offsets of the whole match in the subject
  size_t end = 0;
  std::vector<std::optional<std::string>> groups;  // capture groups 1..n
};

class Regex {
 public:
  enum Flags : unsigned {
    none = 0,
    caseless = 1,
    // Python's `re` on str, which the users' eval patterns are written in:
    // `\d`, `\w`, `\s` and `\b` on Unicode classes (PCRE2_UCP; without it a
    // "\u0661\u0665\u0660 bpm" would not match \d and "\u00e9150" would have a
    // word boundary inside it), and `.` stopping at "\n" only (newline LF,
    // whatever PCRE2 was built with).
    python_unicode = 2,
  };
  explicit Regex(std::string_view pattern, unsigned flags = caseless);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

  // True when the pattern matches anywhere in `text`.
  bool search(std::string_view text) const { return find(text).has_value(); }
  // True when the pattern matches the whole of `text`.
  bool full_match(std::string_view text) const;
  // The first match at or after byte `start`.
  std::optional<RegexMatch> find(std::string_view text, size_t start = 0) const;
  // Every non-overlapping match, left to right.
  std::vector<RegexMatch> find_all(std::string_view text) const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace josi::base
