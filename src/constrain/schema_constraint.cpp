#include "constrain/schema_constraint.hpp"

#include "base/error.hpp"

namespace josi::constrain {

SchemaConstraint::SchemaConstraint(const JsonMatcher& matcher, const TokenIndex& index)
    : matcher_(matcher), index_(index), state_(matcher.start()) {}

bool SchemaConstraint::allowed(int32_t remaining, infer::TokenMask& mask) {
  mask.clear();
  const bool may_end = matcher_.can_end(state_);
  if (remaining <= 0 || matcher_.done(state_)) return may_end;
  const auto budget = static_cast<uint32_t>(remaining - 1);  // bytes (tokens) left after this token
  bool min_met = false;
  if (matcher_.in_plain_string(state_, min_met)) {
    const uint32_t here = matcher_.min_completion(state_);
    // Content tokens leave the string open, with up to 3 bytes of a last
    // character due. With the minimum length met they add exactly those
    // bytes to the completion; below it, at most those (they may shorten it).
    if (min_met || here + 3 <= budget) {
      for (int pending = 0; pending < 4; ++pending)
        if (here + static_cast<uint32_t>(pending) <= budget) mask.merge(index_.string_content(pending));
      // The rest start with plain content and then end or escape the string:
      // walked from their first special byte. Below the minimum length this
      // ignores the characters before it, and so may refuse a token that
      // would just have reached it; it never allows a wrong one.
      search(index_.string_tail(), budget, mask);
      return may_end;
    }
  }
  search(index_.all(), budget, mask);
  return may_end;
}

void SchemaConstraint::search(const TokenTrie& trie, uint32_t budget, infer::TokenMask& mask) {
  if (path_.size() < trie.max_depth() + 1u) path_.resize(trie.max_depth() + 1u);
  path_[0].assign(state_);
  const auto& nodes = trie.nodes();
  for (uint32_t k = 0; k < nodes.size();) {
    const auto& node = nodes[k];
    MatchState& s = path_[node.depth];
    s.assign(path_[node.depth - 1u]);
    if (!matcher_.step(s, node.byte)) {
      k = node.subtree_end;
      continue;
    }
    const auto tokens = trie.tokens_at(k);
    if (!tokens.empty() && matcher_.min_completion(s) <= budget)
      for (int32_t id : tokens) mask.set(id);
    ++k;
  }
}

infer::FixedText SchemaConstraint::fixed_text(size_t limit) const {
  infer::FixedText fixed;
  MatchState here, trial, next;
  here.assign(state_);
  const auto opens_string = [&] {
    bool min_met = false;
    return matcher_.in_plain_string(here, min_met) && here.top().count == 0;
  };
  while (fixed.text.size() < limit && !matcher_.done(here) && !matcher_.can_end(here)) {
    int only = -1;
    for (int byte = 0; byte < 256 && only != -2; ++byte) {
      trial.assign(here);
      if (!matcher_.step(trial, static_cast<uint8_t>(byte))) continue;
      if (only >= 0) only = -2;  // a second byte fits: the text is open here
      else {
        only = byte;
        next.assign(trial);
      }
    }
    if (only < 0) break;
    fixed.text.push_back(static_cast<char>(only));
    here.assign(next);
  }
  fixed.string_opens = !matcher_.done(here) && opens_string();
  return fixed;
}

size_t SchemaConstraint::accepts(std::span<const int32_t> tokens) const {
  MatchState s;
  s.assign(state_);
  for (size_t i = 0; i < tokens.size(); ++i) {
    const auto bytes = index_.bytes(tokens[i]);
    if (bytes.empty()) return i;
    for (char c : bytes)
      if (!matcher_.step(s, static_cast<uint8_t>(c))) return i;
  }
  return tokens.size();
}

void SchemaConstraint::accept(int32_t token) {
  const auto bytes = index_.bytes(token);
  if (bytes.empty()) throw Error("output constraint: token " + std::to_string(token) + " cannot continue the JSON");
  MatchState next;
  next.assign(state_);
  for (char c : bytes) {
    if (!matcher_.step(next, static_cast<uint8_t>(c)))
      throw Error("output constraint: token " + std::to_string(token) + " cannot continue the JSON");
  }
  state_.assign(next);
  text_.append(bytes);
}

}  // namespace josi::constrain
