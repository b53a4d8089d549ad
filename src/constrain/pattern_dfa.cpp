#include "constrain/pattern_dfa.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <memory>
#include <set>

#include "base/error.hpp"

namespace josi::constrain {
namespace {

constexpr uint32_t kMaxCodePoint = 0x10FFFF;
constexpr uint32_t kInfinite = std::numeric_limits<uint32_t>::max();
constexpr size_t kMaxNfaStates = 20000;
constexpr size_t kMaxDfaStates = 4096;

using Ranges = std::vector<std::pair<uint32_t, uint32_t>>;  // inclusive, sorted, disjoint

uint32_t utf8_length(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

Ranges normalized(Ranges r) {
  std::sort(r.begin(), r.end());
  Ranges out;
  for (const auto& [lo, hi] : r) {
    if (!out.empty() && lo <= out.back().second + 1) {
      out.back().second = std::max(out.back().second, hi);
    } else {
      out.emplace_back(lo, hi);
    }
  }
  return out;
}

// Every code point a JSON string can hold that is not in `r`.
Ranges complement(const Ranges& r) {
  Ranges out;
  uint32_t next = 0;
  for (const auto& [lo, hi] : normalized(r)) {
    if (lo > next) out.emplace_back(next, lo - 1);
    next = hi + 1;
  }
  if (next <= kMaxCodePoint) out.emplace_back(next, kMaxCodePoint);
  Ranges without_surrogates;
  for (const auto& [lo, hi] : out) {
    if (hi < 0xD800 || lo > 0xDFFF) {
      without_surrogates.emplace_back(lo, hi);
    } else {
      if (lo < 0xD800) without_surrogates.emplace_back(lo, 0xD7FF);
      if (hi > 0xDFFF) without_surrogates.emplace_back(0xE000, hi);
    }
  }
  return without_surrogates;
}

Ranges digit_ranges() { return {{'0', '9'}}; }
Ranges word_ranges() { return normalized({{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}); }
// ECMA-262 white space and line terminators, which JSON Schema's regular
// expressions follow.
Ranges space_ranges() {
  return normalized({{'\t', '\r'}, {' ', ' '}, {0xA0, 0xA0}, {0x1680, 0x1680}, {0x2000, 0x200A}, {0x2028, 0x2029},
                     {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000}, {0xFEFF, 0xFEFF}});
}
// `.`: anything but a line terminator.
Ranges dot_ranges() { return complement({{'\n', '\n'}, {'\r', '\r'}, {0x2028, 0x2029}}); }
Ranges any_ranges() { return complement({}); }

// The pattern as a tree: a class of code points, a sequence, a choice, or a
// repetition of one sub-tree.
struct Ast {
  enum class Kind { chars, sequence, choice, repeat } kind = Kind::sequence;
  Ranges chars;
  std::vector<std::unique_ptr<Ast>> parts;
  uint32_t min = 0, max = 0;  // repeat; max == kInfinite: unbounded
};

class Parser {
 public:
  Parser(std::string_view pattern, std::string_view what) : what_(what) {
    // The pattern as code points (patterns come from JSON, so valid UTF-8).
    for (size_t i = 0; i < pattern.size();) {
      const auto b = static_cast<unsigned char>(pattern[i]);
      const size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
      uint32_t cp = n == 1 ? b : b & (0xFF >> (n + 1));
      for (size_t k = 1; k < n && i + k < pattern.size(); ++k) cp = cp << 6 | (pattern[i + k] & 0x3F);
      cps_.push_back(cp);
      i += n;
    }
  }

  std::unique_ptr<Ast> parse(bool& anchored_start, bool& anchored_end) {
    anchored_start = !cps_.empty() && cps_.front() == '^';
    if (anchored_start) pos_ = 1;
    size_t end = cps_.size();
    anchored_end = end > pos_ && cps_[end - 1] == '$' && !(end >= 2 && cps_[end - 2] == '\\');
    if (anchored_end) --end;
    end_ = end;
    auto tree = choice();
    if (pos_ != end_) fail("unbalanced ')'");
    if ((anchored_start || anchored_end) && tree->kind == Ast::Kind::choice)
      fail("anchors around a top-level '|' (write ^(a|b)$)");
    return tree;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(std::string(what_) + ": pattern: " + why + " is not supported");
  }
  bool more() const { return pos_ < end_; }
  uint32_t peek() const { return cps_[pos_]; }

  std::unique_ptr<Ast> choice() {
    auto first = sequence();
    if (!more() || peek() != '|') return first;
    auto node = std::make_unique<Ast>();
    node->kind = Ast::Kind::choice;
    node->parts.push_back(std::move(first));
    while (more() && peek() == '|') {
      ++pos_;
      node->parts.push_back(sequence());
    }
    return node;
  }

  std::unique_ptr<Ast> sequence() {
    auto node = std::make_unique<Ast>();
    while (more() && peek() != '|' && peek() != ')') node->parts.push_back(repeated());
    return node;
  }

  std::unique_ptr<Ast> repeated() {
    auto atom_node = atom();
    while (more()) {
      uint32_t min, max;
      const uint32_t c = peek();
      if (c == '*') { min = 0; max = kInfinite; ++pos_; }
      else if (c == '+') { min = 1; max = kInfinite; ++pos_; }
      else if (c == '?') { min = 0; max = 1; ++pos_; }
      else if (c == '{' && braces(min, max)) {}
      else break;
      if (more() && peek() == '?') ++pos_;  // lazy: the same language
      if (max != kInfinite && max > 1000) fail("a repetition count above 1000");
      auto node = std::make_unique<Ast>();
      node->kind = Ast::Kind::repeat;
      node->min = min;
      node->max = max;
      node->parts.push_back(std::move(atom_node));
      atom_node = std::move(node);
    }
    return atom_node;
  }

  // {n}, {n,}, {n,m}; false (nothing consumed) when the brace is a literal.
  bool braces(uint32_t& min, uint32_t& max) {
    size_t p = pos_ + 1;
    auto number = [&](uint32_t& out) {
      size_t start = p;
      uint64_t v = 0;
      while (p < end_ && cps_[p] >= '0' && cps_[p] <= '9') v = std::min<uint64_t>(v * 10 + (cps_[p++] - '0'), 1u << 30);
      out = static_cast<uint32_t>(v);
      return p > start;
    };
    if (!number(min)) return false;
    max = min;
    if (p < end_ && cps_[p] == ',') {
      ++p;
      if (!number(max)) max = kInfinite;
    }
    if (p >= end_ || cps_[p] != '}') return false;
    if (max < min) fail("a repetition {n,m} with m < n");
    pos_ = p + 1;
    return true;
  }

  std::unique_ptr<Ast> chars(Ranges r) {
    auto node = std::make_unique<Ast>();
    node->kind = Ast::Kind::chars;
    node->chars = normalized(std::move(r));
    return node;
  }

  std::unique_ptr<Ast> atom() {
    const uint32_t c = cps_[pos_++];
    switch (c) {
      case '(': {
        if (more() && peek() == '?') {
          if (pos_ + 1 < end_ && cps_[pos_ + 1] == ':') {
            pos_ += 2;
          } else {
            fail("lookaround and named groups");
          }
        }
        auto inner = choice();
        if (!more() || peek() != ')') fail("an unclosed '('");
        ++pos_;
        return inner;
      }
      case '[': return chars(char_class());
      case '.': return chars(dot_ranges());
      case '\\': return chars(escape(false));
      case '^': case '$': fail("an anchor inside the pattern");
      case '*': case '+': case '?': fail("a quantifier with nothing to repeat");
      case ')': fail("unbalanced ')'");
      default: return chars({{c, c}});
    }
  }

  // After a backslash. `in_class`: inside [...], where \b would be backspace.
  Ranges escape(bool in_class) {
    if (!more()) fail("a trailing backslash");
    const uint32_t c = cps_[pos_++];
    switch (c) {
      case 'd': return digit_ranges();
      case 'D': return complement(digit_ranges());
      case 'w': return word_ranges();
      case 'W': return complement(word_ranges());
      case 's': return space_ranges();
      case 'S': return complement(space_ranges());
      case 'n': return {{'\n', '\n'}};
      case 'r': return {{'\r', '\r'}};
      case 't': return {{'\t', '\t'}};
      case 'f': return {{'\f', '\f'}};
      case 'v': return {{'\v', '\v'}};
      case 'b':
        if (in_class) return {{'\b', '\b'}};
        fail("\\b (word boundary)");
      case 'u': {
        uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
          if (!more()) fail("a short \\u escape");
          const uint32_t h = cps_[pos_++];
          const int d = h >= '0' && h <= '9' ? int(h - '0') : h >= 'a' && h <= 'f' ? int(h - 'a' + 10)
                        : h >= 'A' && h <= 'F' ? int(h - 'A' + 10) : -1;
          if (d < 0) fail("a malformed \\u escape");
          v = v * 16 + static_cast<uint32_t>(d);
        }
        return {{v, v}};
      }
      default:
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
          fail(std::string("the escape \\") + static_cast<char>(c));
        return {{c, c}};  // escaped punctuation stands for itself
    }
  }

  Ranges char_class() {
    bool negate = more() && peek() == '^';
    if (negate) ++pos_;
    Ranges r;
    bool first = true;
    for (;;) {
      if (!more()) fail("an unclosed '['");
      uint32_t c = cps_[pos_++];
      if (c == ']' && !first) break;
      first = false;
      Ranges item;
      if (c == '\\') {
        item = escape(true);
      } else {
        item = {{c, c}};
      }
      // A range a-b between two single characters.
      if (item.size() == 1 && item[0].first == item[0].second && more() && peek() == '-' && pos_ + 1 < end_ &&
          cps_[pos_ + 1] != ']') {
        ++pos_;
        uint32_t hi = cps_[pos_++];
        if (hi == '\\') {
          auto e = escape(true);
          if (e.size() != 1 || e[0].first != e[0].second) fail("a class range ending in a class escape");
          hi = e[0].first;
        }
        if (hi < item[0].first) fail("a class range out of order");
        item = {{item[0].first, hi}};
      }
      r.insert(r.end(), item.begin(), item.end());
    }
    return negate ? complement(r) : normalized(r);
  }

  std::string_view what_;
  std::vector<uint32_t> cps_;
  size_t pos_ = 0, end_ = 0;
};

// Thompson construction: each state either moves on a class of code points
// or has epsilon edges.
class Nfa {
 public:
  struct State {
    std::vector<uint32_t> epsilon;
    Ranges chars;
    uint32_t target = UINT32_MAX;
  };
  struct Fragment {
    uint32_t start, end;
  };

  explicit Nfa(std::string_view what) : what_(what) {}

  uint32_t add() {
    if (states.size() >= kMaxNfaStates) throw Error(std::string(what_) + ": pattern: too large to compile");
    states.emplace_back();
    return static_cast<uint32_t>(states.size() - 1);
  }

  Fragment build(const Ast& node) {
    switch (node.kind) {
      case Ast::Kind::chars: {
        const uint32_t s = add(), e = add();
        states[s].chars = node.chars;
        states[s].target = e;
        return {s, e};
      }
      case Ast::Kind::sequence: {
        const uint32_t s = add();
        uint32_t end = s;
        for (const auto& part : node.parts) {
          const Fragment f = build(*part);
          states[end].epsilon.push_back(f.start);
          end = f.end;
        }
        return {s, end};
      }
      case Ast::Kind::choice: {
        const uint32_t s = add(), e = add();
        for (const auto& part : node.parts) {
          const Fragment f = build(*part);
          states[s].epsilon.push_back(f.start);
          states[f.end].epsilon.push_back(e);
        }
        return {s, e};
      }
      case Ast::Kind::repeat: {
        const uint32_t s = add();
        uint32_t end = s;
        for (uint32_t i = 0; i < node.min; ++i) {
          const Fragment f = build(*node.parts[0]);
          states[end].epsilon.push_back(f.start);
          end = f.end;
        }
        if (node.max == kInfinite) {
          const Fragment f = build(*node.parts[0]);
          const uint32_t e = add();
          states[end].epsilon.push_back(f.start);
          states[end].epsilon.push_back(e);
          states[f.end].epsilon.push_back(f.start);
          states[f.end].epsilon.push_back(e);
          return {s, e};
        }
        const uint32_t e = add();
        for (uint32_t i = node.min; i < node.max; ++i) {
          const Fragment f = build(*node.parts[0]);
          states[end].epsilon.push_back(e);
          states[end].epsilon.push_back(f.start);
          end = f.end;
        }
        states[end].epsilon.push_back(e);
        return {s, e};
      }
    }
    return {0, 0};
  }

  std::vector<uint32_t> closure(std::vector<uint32_t> set) const {
    std::vector<uint8_t> seen(states.size(), 0);
    std::vector<uint32_t> stack = set;
    for (uint32_t s : set) seen[s] = 1;
    while (!stack.empty()) {
      const uint32_t s = stack.back();
      stack.pop_back();
      for (uint32_t t : states[s].epsilon) {
        if (!seen[t]) {
          seen[t] = 1;
          set.push_back(t);
          stack.push_back(t);
        }
      }
    }
    std::sort(set.begin(), set.end());
    return set;
  }

  std::vector<State> states;

 private:
  std::string_view what_;
};

}  // namespace

PatternDfa PatternDfa::compile(std::string_view pattern, std::string_view what) {
  bool anchored_start = false, anchored_end = false;
  Parser parser(pattern, what);
  auto tree = parser.parse(anchored_start, anchored_end);

  // Unanchored ends may match anything before or after.
  Ast whole;
  auto anything = [] {
    auto any = std::make_unique<Ast>();
    any->kind = Ast::Kind::chars;
    any->chars = any_ranges();
    auto star = std::make_unique<Ast>();
    star->kind = Ast::Kind::repeat;
    star->max = kInfinite;
    star->parts.push_back(std::move(any));
    return star;
  };
  if (!anchored_start) whole.parts.push_back(anything());
  whole.parts.push_back(std::move(tree));
  if (!anchored_end) whole.parts.push_back(anything());

  Nfa nfa(what);
  const auto frag = nfa.build(whole);
  const uint32_t accept_state = frag.end;

  PatternDfa dfa;
  std::set<uint32_t> points = {0, kMaxCodePoint + 1};
  for (const auto& s : nfa.states) {
    for (const auto& [lo, hi] : s.chars) {
      points.insert(lo);
      points.insert(hi + 1);
    }
  }
  dfa.boundaries_.assign(points.begin(), points.end());
  const size_t symbols = dfa.boundaries_.size() - 1;

  std::map<std::vector<uint32_t>, int32_t> ids;
  std::vector<std::vector<uint32_t>> sets = {nfa.closure({frag.start})};
  ids[sets[0]] = 0;
  for (size_t d = 0; d < sets.size(); ++d) {
    const auto current = sets[d];
    dfa.accepting_.push_back(std::binary_search(current.begin(), current.end(), accept_state));
    for (size_t sym = 0; sym < symbols; ++sym) {
      const uint32_t cp = dfa.boundaries_[sym];
      std::vector<uint32_t> moved;
      for (uint32_t s : current) {
        const auto& st = nfa.states[s];
        for (const auto& [lo, hi] : st.chars) {
          if (cp >= lo && cp <= hi) {
            moved.push_back(st.target);
            break;
          }
        }
      }
      int32_t target = kDead;
      if (!moved.empty()) {
        auto closed = nfa.closure(moved);
        auto [it, inserted] = ids.emplace(closed, static_cast<int32_t>(sets.size()));
        if (inserted) {
          if (sets.size() >= kMaxDfaStates) throw Error(std::string(what) + ": pattern: too complex to compile");
          sets.push_back(std::move(closed));
        }
        target = it->second;
      }
      dfa.next_.push_back(target);
    }
  }

  // Fewest bytes to acceptance (each code point costs its shortest UTF-8
  // length), relaxed until stable; states that cannot reach acceptance die.
  const size_t n = dfa.accepting_.size();
  dfa.distance_.assign(n, kInfinite);
  for (size_t s = 0; s < n; ++s)
    if (dfa.accepting_[s]) dfa.distance_[s] = 0;
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t s = 0; s < n; ++s) {
      for (size_t sym = 0; sym < symbols; ++sym) {
        const int32_t t = dfa.next_[s * symbols + sym];
        if (t == kDead || dfa.distance_[static_cast<size_t>(t)] == kInfinite) continue;
        const uint32_t d = utf8_length(dfa.boundaries_[sym]) + dfa.distance_[static_cast<size_t>(t)];
        if (d < dfa.distance_[s]) {
          dfa.distance_[s] = d;
          changed = true;
        }
      }
    }
  }
  if (dfa.distance_[0] == kInfinite) throw Error(std::string(what) + ": pattern matches no string");
  for (auto& t : dfa.next_)
    if (t != kDead && dfa.distance_[static_cast<size_t>(t)] == kInfinite) t = kDead;
  return dfa;
}

size_t PatternDfa::symbol_of(uint32_t cp) const {
  return static_cast<size_t>(std::upper_bound(boundaries_.begin(), boundaries_.end(), cp) - boundaries_.begin()) - 1;
}

int32_t PatternDfa::next(int32_t state, uint32_t cp) const {
  if (cp > kMaxCodePoint) return kDead;
  return next_[static_cast<size_t>(state) * (boundaries_.size() - 1) + symbol_of(cp)];
}

uint32_t PatternDfa::distance_after_any(int32_t state, uint32_t lo, uint32_t hi) const {
  uint32_t best = kInfinite;
  const size_t symbols = boundaries_.size() - 1;
  for (size_t sym = symbol_of(lo); sym < symbols && boundaries_[sym] <= hi; ++sym) {
    const int32_t t = next_[static_cast<size_t>(state) * symbols + sym];
    if (t != kDead) best = std::min(best, distance_[static_cast<size_t>(t)]);
  }
  return best;
}

}  // namespace josi::constrain
