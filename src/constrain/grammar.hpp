#pragma once
// A JSON Schema, compiled into the graph of value shapes that the output
// constraint walks while a model writes JSON. The subset is what model-output
// contracts use:
//   type (one or several), enum, const, properties, required,
//   additionalProperties (false, or a schema for objects without properties),
//   allOf of if/then/else whose `if` tests one property's value and whose
//   branches add `required` keys, items, minItems, maxItems, minLength,
//   maxLength, pattern, integer minimum/maximum (exclusive too), oneOf/anyOf
//   whose branches start with different characters (null or an object, say),
//   and the annotations (description, default, ...).
// Anything else is refused with the keyword and its JSON path, rather than
// silently not enforced. The text is JSON as Python's json.dumps writes it
// (", " and ": " separators, non-ASCII in enum literals escaped), which is
// how the training data is written.
#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "constrain/pattern_dfa.hpp"
#include "json/json.hpp"

namespace josi::constrain {

constexpr uint32_t kUnbounded = std::numeric_limits<uint32_t>::max();
// Bytes of a value that cannot be written (an unsatisfiable schema).
constexpr uint32_t kImpossible = std::numeric_limits<uint32_t>::max() / 4;
constexpr int kMaxConditionSlots = 4;
constexpr uint8_t kAbsent = 0xFF;  // a condition slot whose property is not written yet

enum class NodeKind : uint8_t {
  any_of,    // one of several nodes, told apart by the first byte
  object,    // declared properties only (additionalProperties: false)
  map,       // no declared properties; any keys, values of one node
  array,
  string,
  integer,
  number,
  literals,  // enum / const / true / false / null: a fixed set of texts
};

struct Property {
  std::string key_text;  // the key as written, quotes included: "free_text"
  uint32_t node = 0;
  int8_t slot = -1;      // the condition slot that records its value, or -1
};

// allOf: {if: {properties: {p: {const|enum}}}, then: {required}, else: {required}}.
struct Condition {
  uint8_t slot = 0;
  bool needs_presence = false;       // `if` also requires p: an absent p fails the test
  std::vector<uint8_t> holds;        // per literal of p's node: does `if` hold
  uint64_t then_required = 0, else_required = 0;
};

struct Node {
  NodeKind kind = NodeKind::literals;
  uint32_t min_bytes = kImpossible;  // the shortest value's text
  // any_of
  std::vector<uint32_t> alternatives;
  std::array<int16_t, 256> alternative_by_byte{};  // -1: no alternative starts so
  // object (properties sorted by key_text) and map
  std::vector<Property> properties;
  uint64_t required = 0;
  std::vector<uint8_t> slot_property;  // property index of each condition slot
  std::vector<Condition> conditions;
  uint32_t values = 0;                 // map: node of every value
  // array
  uint32_t items = 0, min_items = 0, max_items = kUnbounded;
  // string
  uint32_t min_length = 0, max_length = kUnbounded;
  int32_t pattern = -1;
  // integer
  int64_t minimum = std::numeric_limits<int64_t>::min(), maximum = std::numeric_limits<int64_t>::max();
  // literals, sorted
  std::vector<std::string> literals;
};

class Grammar {
 public:
  // Throws josi::Error naming `what` and the JSON path of anything outside
  // the subset, or a schema that admits no value.
  static Grammar compile(const json::Json& schema, std::string_view what);

  const Node& node(uint32_t id) const { return nodes_[id]; }
  uint32_t root() const { return root_; }
  uint32_t key_node() const { return key_node_; }  // map keys: any string
  const PatternDfa& pattern(int32_t id) const { return patterns_[static_cast<size_t>(id)]; }
  size_t size() const { return nodes_.size(); }

 private:
  friend class GrammarBuilder;
  std::vector<Node> nodes_;
  std::vector<PatternDfa> patterns_;
  uint32_t root_ = 0, key_node_ = 0;
};

}  // namespace josi::constrain
