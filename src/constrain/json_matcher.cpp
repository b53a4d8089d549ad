#include "constrain/json_matcher.hpp"

#include <algorithm>

#include "base/utf8.hpp"

namespace josi::constrain {
namespace {

// Phases of each frame kind.
enum ObjectPhase : uint8_t { kOpen, kKeyStart, kKey, kColon, kValue, kAfter, kComma };
enum ArrayPhase : uint8_t { kArrayOpen, kNext, kItem, kArrayAfter, kArrayComma };
enum StringPhase : uint8_t { kContent, kEscape, kHex, kLowBackslash, kLowU, kLowHex };
enum IntegerPhase : uint8_t { kSign, kDigits };
enum NumberPhase : uint8_t { kNumSign, kZero, kInt, kDot, kFrac, kExp, kExpSign, kExpDigits };

// At most this many digits per part of a number, so every text parses to a
// finite double and every integer to an int64.
constexpr uint32_t kMaxNumberDigits = 15;
constexpr uint32_t kMaxExponentDigits = 2;
constexpr uint32_t kMaxIntegerDigits = 18;

enum class Result { reject, accept, retry };

int hex_value(uint8_t c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_digit(uint8_t c) { return c >= '0' && c <= '9'; }

uint64_t pow10(uint32_t k) {
  uint64_t p = 1;
  while (k--) p *= 10;
  return p;
}

bool overlaps(int64_t a_lo, int64_t a_hi, int64_t lo, int64_t hi) { return a_lo <= hi && a_hi >= lo; }

// Signed values [lo, hi] of magnitudes [m_lo, m_hi].
bool magnitudes_overlap(bool negative, uint64_t m_lo, uint64_t m_hi, int64_t lo, int64_t hi) {
  const auto a = static_cast<int64_t>(m_lo), b = static_cast<int64_t>(m_hi);
  return negative ? overlaps(-b, -a, lo, hi) : overlaps(a, b, lo, hi);
}

// Fewest further digits after magnitude `v` (of `count` digits) that land in
// [lo, hi]; kImpossible when none do.
uint64_t extension_digits(bool negative, uint64_t v, uint32_t count, int64_t lo, int64_t hi) {
  if (v == 0) return magnitudes_overlap(negative, 0, 0, lo, hi) && !negative ? 0 : kImpossible;
  for (uint32_t k = 0; count + k <= kMaxIntegerDigits; ++k) {
    const uint64_t p = pow10(k);
    if (magnitudes_overlap(negative, v * p, v * p + p - 1, lo, hi)) return k;
  }
  return kImpossible;
}

// Code point range of the completions of a partly decoded UTF-8 sequence.
void completion_range(const Frame& f, uint32_t& lo, uint32_t& hi) {
  const uint32_t rest = 6u * (f.utf8_need - 1u);
  lo = ((f.cp << 6) | (f.utf8_lo & 0x3Fu)) << rest;
  hi = (((f.cp << 6) | (f.utf8_hi & 0x3Fu)) << rest) | ((1u << rest) - 1u);
}

}  // namespace

MatchState JsonMatcher::start() const {
  MatchState s;
  s.depth = 1;
  s.frames[0] = Frame{};
  s.frames[0].node = g_.root();
  return s;
}

bool JsonMatcher::push(MatchState& s, uint32_t node) const {
  if (s.depth >= kMaxDepth) return false;
  s.frames[s.depth] = Frame{};
  s.frames[s.depth].node = node;
  ++s.depth;
  return true;
}

// The top frame is complete; its parent takes note. `literal`: which literal
// a literal frame matched (conditions record it).
void JsonMatcher::pop(MatchState& s, uint8_t literal) const {
  --s.depth;
  if (s.depth == 0) return;
  Frame& parent = s.top();
  switch (parent.kind) {
    case FrameKind::object: {
      parent.used |= uint64_t{1} << parent.prop;
      const int8_t slot = g_.node(parent.node).properties[static_cast<size_t>(parent.prop)].slot;
      if (slot >= 0) parent.slots[static_cast<size_t>(slot)] = literal;
      parent.phase = kAfter;
      break;
    }
    case FrameKind::map:
      if (parent.phase == kKey) {
        parent.phase = kColon;
        parent.pos = 0;
      } else {
        parent.phase = kAfter;
      }
      break;
    case FrameKind::array:
      ++parent.count;
      parent.phase = kArrayAfter;
      break;
    default: break;
  }
}

bool JsonMatcher::step(MatchState& s, uint8_t c) const {
  for (;;) {
    if (s.depth == 0) return false;
    Result r = Result::reject;
    bool retry = false;
    switch (s.top().kind) {
      case FrameKind::value: {
        if (!start_value(s, c)) return false;
        const FrameKind k = s.top().kind;
        if (k == FrameKind::value || k == FrameKind::literal) continue;  // an any_of branch chosen / literals to match
        return true;
      }
      case FrameKind::object: return step_object(s, c);
      case FrameKind::map: return step_object(s, c);
      case FrameKind::array: {
        Frame& f = s.top();
        const Node& n = g_.node(f.node);
        if (f.phase == kArrayOpen && c == ']') {
          if (n.min_items > 0) return false;
          pop(s, kAbsent);
          return true;
        }
        if (f.phase == kArrayOpen || f.phase == kNext) {
          if (f.phase == kArrayOpen && n.max_items == 0) return false;
          f.phase = kItem;
          if (!push(s, n.items)) return false;
          continue;
        }
        return step_array(s, c);
      }
      case FrameKind::string: return step_string(s, c);
      case FrameKind::integer: r = step_integer(s, c, retry) ? Result::accept : Result::reject; break;
      case FrameKind::number: r = step_number(s, c, retry) ? Result::accept : Result::reject; break;
      case FrameKind::literal: r = step_literal(s, c, retry) ? Result::accept : Result::reject; break;
    }
    if (!retry) return r == Result::accept;
  }
}

// The top frame is a value not started yet: `c` decides what it is.
bool JsonMatcher::start_value(MatchState& s, uint8_t c) const {
  Frame& f = s.top();
  const Node& n = g_.node(f.node);
  switch (n.kind) {
    case NodeKind::any_of: {
      const int16_t alt = n.alternative_by_byte[c];
      if (alt < 0) return false;
      f.node = n.alternatives[static_cast<size_t>(alt)];
      return true;
    }
    case NodeKind::object:
    case NodeKind::map:
      if (c != '{') return false;
      f.kind = n.kind == NodeKind::object ? FrameKind::object : FrameKind::map;
      f.phase = kOpen;
      return true;
    case NodeKind::array:
      if (c != '[') return false;
      f.kind = FrameKind::array;
      f.phase = kArrayOpen;
      return true;
    case NodeKind::string:
      if (c != '"') return false;
      f.kind = FrameKind::string;
      f.phase = kContent;
      f.dfa = 0;
      return true;
    case NodeKind::integer:
      f.kind = FrameKind::integer;
      if (c == '-') {
        if (n.minimum >= 0) return false;
        f.phase = kSign;
        f.negative = 1;
        return true;
      }
      if (!is_digit(c)) return false;
      f.phase = kDigits;
      f.value = c - '0';
      f.count = 1;
      return extension_digits(false, f.value, 1, n.minimum, n.maximum) != kImpossible;
    case NodeKind::number:
      f.kind = FrameKind::number;
      f.count = 1;
      if (c == '-') f.phase = kNumSign;
      else if (c == '0') f.phase = kZero;
      else if (is_digit(c)) f.phase = kInt;
      else return false;
      return true;
    case NodeKind::literals:
      f.kind = FrameKind::literal;
      f.lo = 0;
      f.hi = static_cast<uint32_t>(n.literals.size());
      f.pos = 0;
      return true;
  }
  return false;
}

bool JsonMatcher::start_declared_key(Frame& f, uint8_t c) const {
  f.phase = kKey;
  f.lo = 0;
  f.hi = static_cast<uint32_t>(g_.node(f.node).properties.size());
  f.pos = 0;
  return narrow_key(f, c);
}

bool JsonMatcher::narrow_key(Frame& f, uint8_t c) const {
  const auto& props = g_.node(f.node).properties;
  uint32_t a = f.lo;
  while (a < f.hi && !(props[a].key_text.size() > f.pos && static_cast<uint8_t>(props[a].key_text[f.pos]) == c)) ++a;
  uint32_t b = a;
  while (b < f.hi && props[b].key_text.size() > f.pos && static_cast<uint8_t>(props[b].key_text[f.pos]) == c) ++b;
  bool any_unused = false;
  for (uint32_t i = a; i < b && !any_unused; ++i) any_unused = !(f.used >> i & 1);
  if (!any_unused) return false;
  f.lo = a;
  f.hi = b;
  ++f.pos;
  if (props[a].key_text.size() == f.pos) {  // the closing quote: this key, alone in the range
    f.prop = static_cast<int32_t>(a);
    f.phase = kColon;
    f.pos = 0;
  }
  return true;
}

// Objects of declared properties and free-form maps share their punctuation;
// they differ in their keys (one of the unused declared names, or any
// string), in when they may close (the required keys, or always) and in the
// node of each value.
bool JsonMatcher::step_object(MatchState& s, uint8_t c) const {
  Frame& f = s.top();
  const Node& n = g_.node(f.node);
  const bool declared = f.kind == FrameKind::object;
  const auto start_key = [&] {
    if (declared) return start_declared_key(f, c);
    f.phase = kKey;
    if (!push(s, g_.key_node())) return false;
    Frame& key = s.top();
    key.kind = FrameKind::string;
    key.phase = kContent;
    return true;
  };
  const auto close = [&] {
    if (declared && (required_now(n, f.slots) & ~f.used)) return false;
    pop(s, kAbsent);
    return true;
  };
  switch (f.phase) {
    case kOpen:
      if (c == '}') return close();
      return c == '"' && start_key();
    case kKeyStart: return c == '"' && start_key();
    case kKey: return declared && narrow_key(f, c);
    case kColon:
      if (f.pos == 0) {
        if (c != ':') return false;
        f.pos = 1;
        return true;
      }
      if (c != ' ') return false;
      f.phase = kValue;
      return push(s, declared ? n.properties[static_cast<size_t>(f.prop)].node : n.values);
    case kAfter:
      if (c == ',') {
        const uint64_t all = n.properties.size() == 64 ? ~uint64_t{0} : (uint64_t{1} << n.properties.size()) - 1;
        if (declared && f.used == all) return false;  // no key left to write after the comma
        f.phase = kComma;
        return true;
      }
      return c == '}' && close();
    case kComma:
      if (c != ' ') return false;
      f.phase = kKeyStart;
      return true;
    default: return false;
  }
}

bool JsonMatcher::step_array(MatchState& s, uint8_t c) const {
  Frame& f = s.top();
  const Node& n = g_.node(f.node);
  switch (f.phase) {
    case kArrayAfter:
      if (c == ',') {
        if (f.count >= n.max_items) return false;
        f.phase = kArrayComma;
        return true;
      }
      if (c == ']') {
        if (f.count < n.min_items) return false;
        pop(s, kAbsent);
        return true;
      }
      return false;
    case kArrayComma:
      if (c != ' ') return false;
      f.phase = kNext;
      return true;
    default: return false;
  }
}

bool JsonMatcher::code_point(Frame& f, uint32_t cp) const {
  const Node& n = g_.node(f.node);
  if (f.count >= n.max_length) return false;
  if (n.pattern >= 0) {
    const int32_t next = g_.pattern(n.pattern).next(f.dfa, cp);
    if (next == PatternDfa::kDead) return false;
    f.dfa = next;
  }
  ++f.count;
  return true;
}

bool JsonMatcher::step_string(MatchState& s, uint8_t c) const {
  Frame& f = s.top();
  const Node& n = g_.node(f.node);
  const bool pattern = n.pattern >= 0;
  // A multi-byte character under a pattern: some completion must still match.
  const auto viable_under_pattern = [&] {
    if (!pattern) return true;
    uint32_t lo, hi;
    completion_range(f, lo, hi);
    return g_.pattern(n.pattern).distance_after_any(f.dfa, lo, hi) < kImpossible;
  };
  switch (f.phase) {
    case kContent:
      if (f.utf8_need > 0) {
        if (c < f.utf8_lo || c > f.utf8_hi) return false;
        f.cp = f.cp << 6 | (c & 0x3Fu);
        --f.utf8_need;
        f.utf8_lo = 0x80;
        f.utf8_hi = 0xBF;
        if (f.utf8_need == 0) return code_point(f, f.cp);
        return viable_under_pattern();
      }
      if (c == '"') {
        if (f.count < n.min_length) return false;
        if (pattern && !g_.pattern(n.pattern).accepting(f.dfa)) return false;
        pop(s, kAbsent);
        return true;
      }
      if (c == '\\') {
        if (pattern || f.count >= n.max_length) return false;  // pattern strings are written without escapes
        f.phase = kEscape;
        return true;
      }
      if (c < 0x20) return false;
      if (c < 0x80) return code_point(f, c);
      if (f.count >= n.max_length) return false;
      {
        // A lead byte: how many continuation bytes, and the range of the first.
        const base::Utf8Lead lead = base::utf8_lead(c);
        if (lead.need <= 0) return false;
        f.utf8_need = static_cast<uint8_t>(lead.need);
        f.utf8_lo = lead.lo;
        f.utf8_hi = lead.hi;
        f.cp = lead.bits;
      }
      return viable_under_pattern();
    case kEscape: {
      uint32_t v;
      switch (c) {
        case '"': v = '"'; break;
        case '\\': v = '\\'; break;
        case '/': v = '/'; break;
        case 'b': v = '\b'; break;
        case 'f': v = '\f'; break;
        case 'n': v = '\n'; break;
        case 'r': v = '\r'; break;
        case 't': v = '\t'; break;
        case 'u':
          f.phase = kHex;
          f.pos = 0;
          f.value = 0;
          return true;
        default: return false;
      }
      f.phase = kContent;
      return code_point(f, v);
    }
    case kHex:
    case kLowHex: {
      const int d = hex_value(c);
      if (d < 0) return false;
      f.value = f.value * 16 + static_cast<uint64_t>(d);
      ++f.pos;
      if (f.phase == kHex) {
        if (f.pos == 2 && f.value >= 0xDC && f.value <= 0xDF) return false;  // a low surrogate alone
        if (f.pos < 4) return true;
        if (f.value >= 0xD800 && f.value <= 0xDBFF) {
          f.cp = static_cast<uint32_t>(f.value);
          f.phase = kLowBackslash;
          return true;
        }
        f.phase = kContent;
        return code_point(f, static_cast<uint32_t>(f.value));
      }
      if (f.pos == 1 && f.value != 0xD) return false;
      if (f.pos == 2 && (f.value < 0xDC || f.value > 0xDF)) return false;
      if (f.pos < 4) return true;
      f.phase = kContent;
      return code_point(f, 0x10000 + ((f.cp - 0xD800) << 10) + (static_cast<uint32_t>(f.value) - 0xDC00));
    }
    case kLowBackslash:
      if (c != '\\') return false;
      f.phase = kLowU;
      return true;
    case kLowU:
      if (c != 'u') return false;
      f.phase = kLowHex;
      f.pos = 0;
      f.value = 0;
      return true;
    default: return false;
  }
}

bool JsonMatcher::step_integer(MatchState& s, uint8_t c, bool& retry) const {
  Frame& f = s.top();
  const Node& n = g_.node(f.node);
  const bool neg = f.negative != 0;
  if (is_digit(c)) {
    const uint64_t d = c - '0';
    if (f.phase == kSign) {
      if (d == 0) return false;  // no "-0"
      f.phase = kDigits;
      f.value = d;
      f.count = 1;
      return extension_digits(neg, d, 1, n.minimum, n.maximum) != kImpossible;
    }
    if (f.value == 0 || f.count >= kMaxIntegerDigits) return false;  // no leading zeros; int64 texts
    const uint64_t v = f.value * 10 + d;
    if (extension_digits(neg, v, f.count + 1, n.minimum, n.maximum) == kImpossible) return false;
    f.value = v;
    ++f.count;
    return true;
  }
  if (!frame_can_end(f)) return false;
  pop(s, kAbsent);
  retry = true;
  return false;
}

bool JsonMatcher::step_number(MatchState& s, uint8_t c, bool& retry) const {
  Frame& f = s.top();
  const bool digit = is_digit(c);
  const auto next = [&](uint8_t phase, uint32_t count) {
    f.phase = phase;
    f.count = count;
    return true;
  };
  switch (f.phase) {
    case kNumSign:
      if (c == '0') return next(kZero, 1);
      if (digit) return next(kInt, 1);
      return false;
    case kZero:
    case kInt:
      if (digit) return f.phase == kInt && f.count < kMaxNumberDigits && next(kInt, f.count + 1);
      if (c == '.') return next(kDot, 0);
      if (c == 'e' || c == 'E') return next(kExp, 0);
      break;
    case kDot: return digit && next(kFrac, 1);
    case kFrac:
      if (digit) return f.count < kMaxNumberDigits && next(kFrac, f.count + 1);
      if (c == 'e' || c == 'E') return next(kExp, 0);
      break;
    case kExp:
      if (c == '+' || c == '-') return next(kExpSign, 0);
      return digit && next(kExpDigits, 1);
    case kExpSign: return digit && next(kExpDigits, 1);
    case kExpDigits:
      if (digit) return f.count < kMaxExponentDigits && next(kExpDigits, f.count + 1);
      break;
    default: return false;
  }
  pop(s, kAbsent);  // a complete number; `c` is its parent's
  retry = true;
  return false;
}

bool JsonMatcher::step_literal(MatchState& s, uint8_t c, bool& retry) const {
  Frame& f = s.top();
  const auto& lits = g_.node(f.node).literals;
  uint32_t a = f.lo;
  while (a < f.hi && !(lits[a].size() > f.pos && static_cast<uint8_t>(lits[a][f.pos]) == c)) ++a;
  uint32_t b = a;
  while (b < f.hi && lits[b].size() > f.pos && static_cast<uint8_t>(lits[b][f.pos]) == c) ++b;
  if (a == b) {
    if (lits[f.lo].size() != f.pos) return false;
    pop(s, static_cast<uint8_t>(f.lo));  // "1" of {1, 10}, then something else
    retry = true;
    return false;
  }
  f.lo = a;
  f.hi = b;
  ++f.pos;
  if (b - a == 1 && lits[a].size() == f.pos) pop(s, static_cast<uint8_t>(a));
  return true;
}

bool JsonMatcher::frame_can_end(const Frame& f) const {
  switch (f.kind) {
    case FrameKind::integer: {
      if (f.phase != kDigits) return false;
      const Node& n = g_.node(f.node);
      const int64_t v = f.negative ? -static_cast<int64_t>(f.value) : static_cast<int64_t>(f.value);
      return v >= n.minimum && v <= n.maximum;
    }
    case FrameKind::number: return f.phase == kZero || f.phase == kInt || f.phase == kFrac || f.phase == kExpDigits;
    case FrameKind::literal: return g_.node(f.node).literals[f.lo].size() == f.pos;
    default: return false;
  }
}

bool JsonMatcher::can_end(const MatchState& s) const {
  return s.depth == 0 || (s.depth == 1 && frame_can_end(s.frames[0]));
}

bool JsonMatcher::in_plain_string(const MatchState& s, bool& min_met) const {
  if (s.depth == 0) return false;
  const Frame& f = s.top();
  if (f.kind != FrameKind::string || f.phase != kContent || f.utf8_need != 0) return false;
  const Node& n = g_.node(f.node);
  if (n.pattern >= 0 || n.max_length != kUnbounded) return false;
  min_met = f.count >= n.min_length;
  return true;
}

uint64_t JsonMatcher::object_rest_with(const Frame& f, uint64_t used, int32_t prop, uint8_t literal) const {
  const Node& n = g_.node(f.node);
  ConditionValues slots = f.slots;
  const int8_t slot = n.properties[static_cast<size_t>(prop)].slot;
  if (slot >= 0) slots[static_cast<size_t>(slot)] = literal;
  return object_rest(g_, n, used, slots, true);
}

// Bytes of property `prop`'s value and everything after it in the object.
uint64_t JsonMatcher::property_rest(const Frame& f, size_t prop) const {
  const Node& n = g_.node(f.node);
  const Property& p = n.properties[prop];
  const uint64_t used = f.used | uint64_t{1} << prop;
  const Node& value = g_.node(p.node);
  if (p.slot < 0) return value.min_bytes + object_rest_with(f, used, static_cast<int32_t>(prop), kAbsent);
  uint64_t best = kImpossible;
  for (size_t l = 0; l < value.literals.size(); ++l)
    best = std::min(best, value.literals[l].size() + object_rest_with(f, used, static_cast<int32_t>(prop), static_cast<uint8_t>(l)));
  return best;
}

uint64_t JsonMatcher::integer_remaining(const Frame& f) const {
  const Node& n = g_.node(f.node);
  if (f.phase == kDigits) return extension_digits(f.negative != 0, f.value, f.count, n.minimum, n.maximum);
  for (uint32_t k = 1; k <= kMaxIntegerDigits; ++k)  // after "-": the shortest negative in range
    if (magnitudes_overlap(true, pow10(k - 1), pow10(k) - 1, n.minimum, n.maximum)) return k;
  return kImpossible;
}

uint64_t JsonMatcher::own_remaining(const Frame& f) const {
  const Node& n = g_.node(f.node);
  switch (f.kind) {
    case FrameKind::value: return n.min_bytes;
    case FrameKind::object: {
      const auto add_key = [&](uint32_t lo, uint32_t hi, uint16_t typed) {
        uint64_t best = kImpossible;
        for (uint32_t p = lo; p < hi; ++p) {
          if (f.used >> p & 1) continue;
          best = std::min(best, n.properties[p].key_text.size() - typed + 2 + property_rest(f, p));
        }
        return best;
      };
      const auto all = static_cast<uint32_t>(n.properties.size());
      switch (f.phase) {
        case kOpen: return object_rest(g_, n, 0, f.slots, false);
        case kKeyStart: return add_key(0, all, 0);
        case kKey: return add_key(f.lo, f.hi, f.pos);
        case kColon: return 2u - f.pos + property_rest(f, static_cast<size_t>(f.prop));
        case kAfter: return object_rest(g_, n, f.used, f.slots, true);
        case kComma: return 1 + add_key(0, all, 0);
        default: return kImpossible;
      }
    }
    case FrameKind::map: {
      const uint64_t entry = 2 + 2 + g_.node(n.values).min_bytes;  // "": value
      switch (f.phase) {
        case kOpen: case kAfter: return 1;
        case kKeyStart: return entry + 1;
        case kComma: return 1 + entry + 1;
        case kColon: return 2u - f.pos + g_.node(n.values).min_bytes + 1;
        default: return kImpossible;
      }
    }
    case FrameKind::array: {
      const uint64_t item = g_.node(n.items).min_bytes;
      const auto tail = [&](uint64_t count) {  // after `count` items: more up to minItems, then "]"
        const uint64_t need = count < n.min_items ? n.min_items - count : 0;
        return need * (2 + item) + 1;
      };
      switch (f.phase) {
        case kArrayOpen: return n.min_items == 0 ? 1 : item + tail(1);
        case kNext: return item + tail(f.count + 1ull);
        case kArrayComma: return 1 + item + tail(f.count + 1ull);
        case kArrayAfter: return tail(f.count);
        default: return kImpossible;
      }
    }
    case FrameKind::string: {
      if (n.pattern >= 0) {
        const PatternDfa& dfa = g_.pattern(n.pattern);
        if (f.utf8_need == 0) return dfa.distance(f.dfa) + 1ull;
        uint32_t lo, hi;
        completion_range(f, lo, hi);
        return f.utf8_need + static_cast<uint64_t>(dfa.distance_after_any(f.dfa, lo, hi)) + 1;
      }
      uint64_t pending_bytes = 0, pending_cp = 1;  // the character being written, if any
      switch (f.phase) {
        case kContent:
          pending_bytes = f.utf8_need;
          pending_cp = f.utf8_need > 0;
          break;
        case kEscape: pending_bytes = 1; break;
        case kHex: {
          const bool high = f.pos >= 2 && (f.value >> (4 * (f.pos - 2))) >= 0xD8 && (f.value >> (4 * (f.pos - 2))) <= 0xDB;
          pending_bytes = 4u - f.pos + (high ? 6 : 0);
          break;
        }
        case kLowBackslash: pending_bytes = 6; break;
        case kLowU: pending_bytes = 5; break;
        case kLowHex: pending_bytes = 4u - f.pos; break;
        default: return kImpossible;
      }
      const uint64_t written = f.count + pending_cp;
      return pending_bytes + (n.min_length > written ? n.min_length - written : 0) + 1;
    }
    case FrameKind::integer: return integer_remaining(f);
    case FrameKind::number:
      return f.phase == kNumSign || f.phase == kDot || f.phase == kExp || f.phase == kExpSign ? 1 : 0;
    case FrameKind::literal: {
      uint64_t best = kImpossible;
      for (uint32_t i = f.lo; i < f.hi; ++i) best = std::min<uint64_t>(best, n.literals[i].size() - f.pos);
      return best;
    }
  }
  return kImpossible;
}

uint64_t JsonMatcher::rest_after_child(const Frame& f) const {
  const Node& n = g_.node(f.node);
  switch (f.kind) {
    case FrameKind::object: return object_rest(g_, n, f.used | uint64_t{1} << f.prop, f.slots, true);
    case FrameKind::map: return f.phase == kKey ? 2 + g_.node(n.values).min_bytes + 1 : 1;
    case FrameKind::array: {
      const uint64_t count = f.count + 1ull;
      const uint64_t need = count < n.min_items ? n.min_items - count : 0;
      return need * (2 + g_.node(n.items).min_bytes) + 1;
    }
    default: return 0;
  }
}

uint32_t JsonMatcher::min_completion(const MatchState& s) const {
  if (s.depth == 0) return 0;
  int i = s.depth - 1;
  const Frame& top = s.frames[static_cast<size_t>(i)];
  uint64_t total;
  // A value that a condition of its object tests: each literal leads to a
  // different rest of the object.
  const bool literal_top = top.kind == FrameKind::literal ||
                           (top.kind == FrameKind::value && g_.node(top.node).kind == NodeKind::literals);
  const Frame* parent = i > 0 ? &s.frames[static_cast<size_t>(i - 1)] : nullptr;
  if (literal_top && parent && parent->kind == FrameKind::object &&
      g_.node(parent->node).properties[static_cast<size_t>(parent->prop)].slot >= 0) {
    const auto& lits = g_.node(top.node).literals;
    const bool started = top.kind == FrameKind::literal;
    const uint32_t lo = started ? top.lo : 0, hi = started ? top.hi : static_cast<uint32_t>(lits.size());
    const uint16_t pos = started ? top.pos : 0;
    const uint64_t used = parent->used | uint64_t{1} << parent->prop;
    total = kImpossible;
    for (uint32_t l = lo; l < hi; ++l)
      total = std::min(total, lits[l].size() - pos + object_rest_with(*parent, used, parent->prop, static_cast<uint8_t>(l)));
    i -= 2;
  } else {
    total = own_remaining(top);
    i -= 1;
  }
  for (; i >= 0 && total < kImpossible; --i) total += rest_after_child(s.frames[static_cast<size_t>(i)]);
  return static_cast<uint32_t>(std::min<uint64_t>(total, kImpossible));
}

}  // namespace josi::constrain
