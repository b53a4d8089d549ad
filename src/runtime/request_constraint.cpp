#include "runtime/request_constraint.hpp"

#include "base/error.hpp"
#include "json/schema.hpp"

namespace josi::runtime {

RequestConstraint::RequestConstraint(const text::Tokenizer& tokenizer, size_t n_vocab)
    : grammar_(constrain::Grammar::compile(json::Schema::gatc_request().document(), "GATCRequest schema")),
      matcher_(grammar_),
      index_(tokenizer, n_vocab) {}

std::unique_ptr<constrain::SchemaConstraint> RequestConstraint::start(int32_t max_tokens) const {
  auto constraint = std::make_unique<constrain::SchemaConstraint>(matcher_, index_);
  if (constraint->min_tokens() > static_cast<uint32_t>(max_tokens))
    throw Error("max_tokens " + std::to_string(max_tokens) + " cannot hold the shortest GATCRequest (" +
                std::to_string(constraint->min_tokens()) + " tokens)");
  return constraint;
}

}  // namespace josi::runtime
