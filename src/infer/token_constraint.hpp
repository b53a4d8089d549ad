#pragma once
// What the generation loop asks of an output constraint (a grammar, a JSON
// schema): which tokens may come next, and the token that was chosen. The
// loop adds its stop tokens when the constraint says the text may end.
#include <cstdint>

#include "infer/token_mask.hpp"

namespace josi::infer {

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
};

}  // namespace josi::infer
