#include "constrain/object_cost.hpp"

#include <algorithm>
#include <bit>

namespace josi::constrain {
namespace {

// What `if` says of slot values: an absent property passes the test unless
// the `if` also requires it, as JSON Schema's if/then reads.
uint64_t required_for(const Node& object, const ConditionValues& values) {
  uint64_t required = object.required;
  for (const auto& c : object.conditions) {
    const uint8_t v = values[c.slot];
    const bool holds = v == kAbsent ? !c.needs_presence : c.holds[v] != 0;
    required |= holds ? c.then_required : c.else_required;
  }
  return required;
}

struct Search {
  const Grammar& grammar;
  const Node& object;
  uint64_t used;
  bool has_key;
  std::array<uint8_t, kMaxConditionSlots> open{};  // slots whose property is not written
  int n_open = 0;
  ConditionValues values{};
  uint32_t best = kImpossible;

  uint32_t key_cost(size_t property, uint32_t value_bytes) const {
    return static_cast<uint32_t>(object.properties[property].key_text.size()) + 2 + value_bytes;
  }

  void run(int i, uint64_t added, uint64_t cost) {
    if (i == n_open) {
      finish(added, cost);
      return;
    }
    const uint8_t slot = open[static_cast<size_t>(i)];
    const size_t property = object.slot_property[slot];
    values[slot] = kAbsent;
    run(i + 1, added, cost);
    const auto& literals = grammar.node(object.properties[property].node).literals;
    for (size_t l = 0; l < literals.size(); ++l) {
      values[slot] = static_cast<uint8_t>(l);
      run(i + 1, added | uint64_t{1} << property, cost + key_cost(property, static_cast<uint32_t>(literals[l].size())));
    }
    values[slot] = kAbsent;
  }

  void finish(uint64_t added, uint64_t cost) {
    const uint64_t required = required_for(object, values);
    for (int i = 0; i < n_open; ++i) {
      const uint8_t slot = open[static_cast<size_t>(i)];
      if (values[slot] == kAbsent && (required >> object.slot_property[slot] & 1)) return;  // left out, yet required
    }
    const uint64_t missing = required & ~used & ~added;
    for (uint64_t m = missing; m; m &= m - 1) {
      const auto p = static_cast<size_t>(std::countr_zero(m));
      cost += key_cost(p, grammar.node(object.properties[p].node).min_bytes);
    }
    const int keys = std::popcount(added | missing);
    if (keys > 0) cost += 2ull * static_cast<uint64_t>(has_key ? keys : keys - 1);  // ", " separators
    best = static_cast<uint32_t>(std::min<uint64_t>(best, cost + 1));               // and "}"
  }
};

}  // namespace

uint64_t required_now(const Node& object, const ConditionValues& values) { return required_for(object, values); }

uint32_t object_rest(const Grammar& grammar, const Node& object, uint64_t used, const ConditionValues& values,
                     bool has_key) {
  Search s{grammar, object, used, has_key};
  s.values = values;
  for (size_t slot = 0; slot < object.slot_property.size(); ++slot)
    if (!(used >> object.slot_property[slot] & 1)) s.open[static_cast<size_t>(s.n_open++)] = static_cast<uint8_t>(slot);
  s.run(0, 0, 0);
  return s.best;
}

}  // namespace josi::constrain
