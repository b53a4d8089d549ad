#pragma once
// A JSON Schema `pattern` compiled to a deterministic automaton over code
// points, so a string can be checked one character at a time while the model
// writes it. The subset: literals, `.`, classes `[a-z0-9_]` / `[^...]`, the
// escapes \d \D \w \W \s \S and escaped punctuation, groups `(...)` /
// `(?:...)`, alternation, and the quantifiers ? * + {n} {n,} {n,m}. `^` and
// `$` anchor; without them the pattern may match anywhere, as JSON Schema
// says. Backreferences, lookaround and \b are refused.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace josi::constrain {

class PatternDfa {
 public:
  static constexpr int32_t kDead = -1;

  // Throws josi::Error naming `what` and the unsupported construct.
  static PatternDfa compile(std::string_view pattern, std::string_view what);

  int32_t start() const { return 0; }
  // The state after code point `cp`, or kDead when no match can follow.
  int32_t next(int32_t state, uint32_t cp) const;
  bool accepting(int32_t state) const { return accepting_[static_cast<size_t>(state)]; }
  // Fewest UTF-8 bytes that take `state` to an accepting state.
  uint32_t distance(int32_t state) const { return distance_[static_cast<size_t>(state)]; }
  // Whether some code point in [lo, hi] leads to a live state, and the
  // fewest bytes to acceptance after one of them (UINT32_MAX: none).
  uint32_t distance_after_any(int32_t state, uint32_t lo, uint32_t hi) const;
  size_t states() const { return accepting_.size(); }

 private:
  size_t symbol_of(uint32_t cp) const;

  std::vector<uint32_t> boundaries_;  // symbol i covers [boundaries_[i], boundaries_[i + 1])
  std::vector<int32_t> next_;         // states x symbols
  std::vector<uint8_t> accepting_;
  std::vector<uint32_t> distance_;
};

}  // namespace josi::constrain
