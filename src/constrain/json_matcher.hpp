#pragma once
// Reads JSON text one byte at a time against a Grammar, accepting exactly the
// prefixes of texts that are valid for it: a stack of frames, one per open
// value. Two questions drive the output constraint: may this byte come next
// (step), and how many bytes at least finish the value from here
// (min_completion). A byte is refused as soon as no valid text can follow,
// so every state the matcher is in can still be completed.
#include <array>
#include <cstdint>

#include "constrain/grammar.hpp"
#include "constrain/object_cost.hpp"

namespace josi::constrain {

enum class FrameKind : uint8_t { value, object, map, array, string, integer, number, literal };

struct Frame {
  uint32_t node = 0;
  FrameKind kind = FrameKind::value;
  uint8_t phase = 0;
  uint16_t pos = 0;         // bytes of a literal, key or separator matched; hex digits of an escape
  uint32_t lo = 0, hi = 0;  // literal or key candidates [lo, hi)
  int32_t prop = -1;        // object: the property being written
  uint32_t count = 0;       // array items, string code points, integer digits
  uint64_t used = 0;        // object: properties written
  uint64_t value = 0;       // integer magnitude; string: \u code unit
  uint32_t cp = 0;          // string: the code point being decoded, or the high surrogate
  int32_t dfa = 0;          // string: pattern state
  uint8_t utf8_need = 0, utf8_lo = 0, utf8_hi = 0;  // string: continuation bytes still due and the next one's range
  uint8_t negative = 0;     // integer
  ConditionValues slots{kAbsent, kAbsent, kAbsent, kAbsent};
};

constexpr int kMaxDepth = 24;

struct MatchState {
  uint8_t depth = 0;
  std::array<Frame, kMaxDepth> frames;

  Frame& top() { return frames[depth - 1u]; }
  const Frame& top() const { return frames[depth - 1u]; }
  // Copies only the frames in use: states are copied for every trie node the
  // mask search visits.
  void assign(const MatchState& other) {
    depth = other.depth;
    for (uint8_t i = 0; i < depth; ++i) frames[i] = other.frames[i];
  }
};

class JsonMatcher {
 public:
  explicit JsonMatcher(const Grammar& grammar) : g_(grammar) {}

  MatchState start() const;
  // Feeds one byte; false (and `s` unusable) when no valid text continues so.
  bool step(MatchState& s, uint8_t byte) const;
  // The whole value is written: nothing but the end may follow.
  bool done(const MatchState& s) const { return s.depth == 0; }
  // The text so far is a complete value (a number at the top level may go on).
  bool can_end(const MatchState& s) const;
  // Fewest further bytes that complete the value.
  uint32_t min_completion(const MatchState& s) const;

  // The top frame is a plain string (no pattern, no maxLength) between
  // characters, whose minLength is met when `min_met`: any run of plain
  // content bytes keeps it so, which lets the mask search skip ~140k tokens.
  bool in_plain_string(const MatchState& s, bool& min_met) const;

  const Grammar& grammar() const { return g_; }

 private:
  bool start_value(MatchState& s, uint8_t c) const;
  bool step_object(MatchState& s, uint8_t c) const;
  bool step_array(MatchState& s, uint8_t c) const;
  bool step_string(MatchState& s, uint8_t c) const;
  bool step_integer(MatchState& s, uint8_t c, bool& retry) const;
  bool step_number(MatchState& s, uint8_t c, bool& retry) const;
  bool step_literal(MatchState& s, uint8_t c, bool& retry) const;
  bool code_point(Frame& f, uint32_t cp) const;
  bool start_declared_key(Frame& f, uint8_t c) const;
  bool narrow_key(Frame& f, uint8_t c) const;
  bool push(MatchState& s, uint32_t node) const;
  void pop(MatchState& s, uint8_t literal) const;

  bool frame_can_end(const Frame& f) const;
  uint64_t own_remaining(const Frame& f) const;
  uint64_t rest_after_child(const Frame& f) const;
  uint64_t object_rest_with(const Frame& f, uint64_t used, int32_t prop, uint8_t literal) const;
  uint64_t property_rest(const Frame& f, size_t prop) const;
  uint64_t integer_remaining(const Frame& f) const;

  const Grammar& g_;
};

}  // namespace josi::constrain
