#pragma once
// What the generation loop asks of an output constraint (a grammar, a JSON
// schema): which tokens may come next, and the token that was chosen. The
// loop adds its stop tokens when the constraint says the text may end.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "infer/token_mask.hpp"

namespace josi::infer {

struct FixedText {
  // The bytes every valid continuation starts with, up to a limit (the
  // schema's fixed text: the rest of the only key that fits, its `": "`);
  // empty where the next byte is open.
  std::string text;
  // After them a string's content begins, where an answer may copy text.
  bool string_opens = false;
};

class TokenConstraint {
 public:
  virtual ~TokenConstraint() = default;
  // Fills `mask` with the tokens allowed next, when at most `remaining`
  // tokens (this one included) may still be generated; returns whether the
  // text may end here. A constraint keeps its text completable within the
  // budget, so whenever `remaining` reaches 0 the text may end.
  virtual bool allowed(int32_t remaining, TokenMask& mask) = 0;
  // Takes the chosen token (one `allowed` offered).
  virtual void accept(int32_t token) = 0;
  // What the text is sure to go on with, for drafting (infer/generator.hpp).
  virtual FixedText fixed_text(size_t /*limit*/) const { return {}; }
  // How many of `tokens`, in order, may follow the text: a draft cut there
  // loses only tokens the constraint would refuse anyway.
  virtual size_t accepts(std::span<const int32_t> tokens) const { return tokens.size(); }
};

}  // namespace josi::infer
