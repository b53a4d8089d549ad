#pragma once
// The fewest bytes that finish a partly written object of declared
// properties: the keys still required (which depend, through allOf if/then,
// on the values written so far, or on the values chosen for conditional
// properties not written yet), and the closing brace. The output constraint
// needs it exact: it decides whether the object still fits in the tokens left.
#include <array>
#include <cstdint>

#include "constrain/grammar.hpp"

namespace josi::constrain {

using ConditionValues = std::array<uint8_t, kMaxConditionSlots>;  // literal index per slot, or kAbsent

// Bytes after the last written value (or after "{" when `has_key` is false),
// closing brace included; kImpossible when no completion exists.
uint32_t object_rest(const Grammar& grammar, const Node& object, uint64_t used, const ConditionValues& values,
                     bool has_key);

// The keys that must be present before the object may close.
uint64_t required_now(const Node& object, const ConditionValues& values);

}  // namespace josi::constrain
