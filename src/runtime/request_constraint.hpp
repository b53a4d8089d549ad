#pragma once
// The interpreter's output constraint on one model's vocabulary: the
// GATCRequest schema (schemas/, built in) compiled once with the vocabulary's
// tries, and a fresh constraint for each generation.
#include <cstdint>
#include <memory>

#include "constrain/grammar.hpp"
#include "constrain/json_matcher.hpp"
#include "constrain/schema_constraint.hpp"
#include "constrain/token_index.hpp"
#include "text/tokenizer.hpp"

namespace josi::runtime {

class RequestConstraint {
 public:
  // `n_vocab`: the model's rows (the logits' size).
  RequestConstraint(const text::Tokenizer& tokenizer, size_t n_vocab);

  // Throws josi::Error when `max_tokens` cannot hold the shortest request.
  std::unique_ptr<constrain::SchemaConstraint> start(int32_t max_tokens) const;

 private:
  constrain::Grammar grammar_;
  constrain::JsonMatcher matcher_;
  constrain::TokenIndex index_;
};

}  // namespace josi::runtime
