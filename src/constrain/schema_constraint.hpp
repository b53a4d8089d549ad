#pragma once
// The output constraint of one generation: the tokens a model may write next
// so that its text stays a prefix of a value valid for the schema, and stays
// completable within the tokens left. When the budget gets short, only
// tokens on a way to the shortest completion remain (the open string is
// closed, the required keys written, the object closed), so a long-winded
// model still ends with a complete value. The end of the text is allowed only
// when the value is complete.
//
// The mask is found by walking the vocabulary's trie with the matcher, which
// prunes a subtree at the first refused byte. Inside a free string, where
// nearly every token is allowed, the precomputed content sets stand in for
// the walk and only the tokens that end or escape the string are walked.
#include <cstdint>
#include <string>
#include <vector>

#include "constrain/json_matcher.hpp"
#include "constrain/token_index.hpp"
#include "infer/token_constraint.hpp"

namespace josi::constrain {

class SchemaConstraint final : public infer::TokenConstraint {
 public:
  // Both must outlive the constraint.
  SchemaConstraint(const JsonMatcher& matcher, const TokenIndex& index);

  bool allowed(int32_t remaining, infer::TokenMask& mask) override;
  // Throws josi::Error when `token` cannot continue the text.
  void accept(int32_t token) override;
  // Found byte by byte: while exactly one byte may follow and the text may
  // not end. Ignores the token budget (a draft only, verified by the model).
  infer::FixedText fixed_text(size_t limit) const override;
  // By the schema alone, not the token budget.
  size_t accepts(std::span<const int32_t> tokens) const override;

  // Tokens that at least a value still needs (one per byte: every byte is a
  // token of a byte-level vocabulary).
  uint32_t min_tokens() const { return matcher_.min_completion(state_); }
  bool complete() const { return matcher_.can_end(state_); }
  const std::string& text() const { return text_; }

 private:
  void search(const TokenTrie& trie, uint32_t budget, infer::TokenMask& mask);

  const JsonMatcher& matcher_;
  const TokenIndex& index_;
  MatchState state_;
  std::string text_;
  std::vector<MatchState> path_;  // matcher states along the trie walk, by depth
};

}  // namespace josi::constrain
