#include "constrain/grammar.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <functional>
#include <set>

#include "base/error.hpp"
#include "constrain/object_cost.hpp"
#include "json/python_dumps.hpp"
#include "json/schema.hpp"

namespace josi::constrain {

using json::Json;

namespace {

const std::set<std::string> kAnnotations = {"description", "title",      "default",  "examples", "$schema", "$id",
                                            "$comment",    "deprecated", "readOnly", "writeOnly", "format"};
const std::set<std::string> kObjectKeywords = {"properties", "required", "additionalProperties", "allOf"};
const std::set<std::string> kArrayKeywords = {"items", "minItems", "maxItems"};
const std::set<std::string> kStringKeywords = {"minLength", "maxLength", "pattern"};
const std::set<std::string> kNumberKeywords = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"};

uint32_t digits(uint64_t v) {
  uint32_t n = 1;
  while (v >= 10) {
    v /= 10;
    ++n;
  }
  return n;
}

Node node_of(NodeKind kind) {
  Node n;
  n.kind = kind;
  return n;
}

// The shortest decimal text of an integer in [lo, hi].
uint32_t shortest_integer(int64_t lo, int64_t hi) {
  if (lo > hi) return kImpossible;
  if (lo <= 0 && hi >= 0) return 1;
  if (lo > 0) return digits(static_cast<uint64_t>(lo));
  return 1 + digits(static_cast<uint64_t>(-(hi + 1)) + 1);  // hi < 0: the value nearest zero
}

}  // namespace

class GrammarBuilder {
 public:
  explicit GrammarBuilder(std::string_view what) : what_(what) {}

  Grammar run(const Json& schema) {
    g_.key_node_ = add(node_of(NodeKind::string));
    g_.root_ = build(schema, "$");
    settle_min_bytes();
    if (g_.nodes_[g_.root_].min_bytes >= kImpossible) fail("$", "the schema admits no value");
    return std::move(g_);
  }

 private:
  [[noreturn]] void fail(const std::string& path, const std::string& why) const {
    throw Error(what_ + ": " + path + ": " + why);
  }

  uint32_t add(Node n) {
    g_.nodes_.push_back(std::move(n));
    return static_cast<uint32_t>(g_.nodes_.size() - 1);
  }

  static Json without(const Json& schema, std::initializer_list<const char*> keys) {
    Json copy = schema;
    for (const char* k : keys) copy.erase(k);
    return copy;
  }

  uint32_t build(const Json& schema, const std::string& path) {
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) fail(path, "the schema false admits no value");
      return any();
    }
    if (!schema.is_object()) fail(path, "a schema must be an object or a boolean");
    for (const auto& [key, _] : schema.items()) {
      if (kAnnotations.count(key) || kObjectKeywords.count(key) || kArrayKeywords.count(key) ||
          kStringKeywords.count(key) || kNumberKeywords.count(key) || key == "type" || key == "enum" ||
          key == "const" || key == "oneOf" || key == "anyOf")
        continue;
      fail(path, "keyword \"" + key + "\" is not supported by the output constraint");
    }
    if (schema.contains("enum") || schema.contains("const")) return literals(schema, path);
    for (const char* union_key : {"oneOf", "anyOf"}) {
      if (!schema.contains(union_key)) continue;
      for (const auto& [key, _] : schema.items()) {
        if (key != union_key && !kAnnotations.count(key)) fail(path, std::string(union_key) + " beside \"" + key + "\"");
      }
      const Json& branches = schema[union_key];
      if (!branches.is_array() || branches.empty()) fail(path, std::string(union_key) + " must be a non-empty array");
      std::vector<uint32_t> alts;
      for (size_t i = 0; i < branches.size(); ++i)
        alts.push_back(build(branches[i], path + "." + union_key + "[" + std::to_string(i) + "]"));
      return any_of(std::move(alts), path);
    }

    std::vector<std::string> types;
    if (schema.contains("type")) {
      const Json& t = schema["type"];
      if (t.is_string()) {
        types.push_back(t.get<std::string>());
      } else if (t.is_array() && !t.empty()) {
        for (const auto& v : t) {
          if (!v.is_string()) fail(path, "type entries must be strings");
          types.push_back(v.get<std::string>());
        }
      } else {
        fail(path, "type must be a string or a non-empty array");
      }
    } else {
      const auto has_any = [&](const std::set<std::string>& keys) {
        return std::any_of(keys.begin(), keys.end(), [&](const std::string& k) { return schema.contains(k); });
      };
      if (has_any(kObjectKeywords)) types.push_back("object");
      if (has_any(kArrayKeywords)) types.push_back("array");
      if (has_any(kStringKeywords)) types.push_back("string");
      if (has_any(kNumberKeywords)) fail(path, "minimum/maximum without \"type\": \"integer\"");
      if (types.empty()) return any();
    }
    if (types.size() > 1) {
      std::vector<uint32_t> alts;
      for (const auto& t : types) alts.push_back(typed(schema, t, path));
      return any_of(std::move(alts), path);
    }
    return typed(schema, types[0], path);
  }

  void refuse_others(const Json& schema, const std::string& path, const std::string& type,
                     const std::set<std::string>& own) {
    for (const auto& [key, _] : schema.items()) {
      if (key == "type" || kAnnotations.count(key) || own.count(key)) continue;
      fail(path, "keyword \"" + key + "\" does not apply to type " + type);
    }
  }

  uint32_t typed(const Json& schema, const std::string& type, const std::string& path) {
    if (type == "object") return object(schema, path);
    if (type == "array") return array(schema, path);
    if (type == "string") return string(schema, path);
    if (type == "integer") return integer(schema, path);
    if (type == "number") {
      refuse_others(schema, path, type, {});
      return add(node_of(NodeKind::number));
    }
    if (type == "boolean") return literal_node({Json(false), Json(true)});
    if (type == "null") return literal_node({Json(nullptr)});
    fail(path, "unknown type \"" + type + "\"");
  }

  uint32_t literal_node(const std::vector<Json>& values) {
    Node n = node_of(NodeKind::literals);
    for (const auto& v : values) n.literals.push_back(json::python_dumps(v));
    std::sort(n.literals.begin(), n.literals.end());
    n.literals.erase(std::unique(n.literals.begin(), n.literals.end()), n.literals.end());
    return add(std::move(n));
  }

  // enum/const: the values that also pass the rest of the schema.
  uint32_t literals(const Json& schema, const std::string& path) {
    std::vector<Json> candidates;
    if (schema.contains("const")) candidates.push_back(schema["const"]);
    if (schema.contains("enum")) {
      if (!schema["enum"].is_array() || schema["enum"].empty()) fail(path, "enum must be a non-empty array");
      for (const auto& v : schema["enum"]) candidates.push_back(v);
    }
    const json::Schema check(schema, what_ + " " + path);
    std::vector<Json> values;
    for (const auto& v : candidates)
      if (check.is_valid(v)) values.push_back(v);
    if (values.empty()) fail(path, "no enum/const value passes the schema");
    if (values.size() > 254) fail(path, "more than 254 enum values");
    return literal_node(values);
  }

  uint32_t any_of(std::vector<uint32_t> alts, const std::string& path) {
    Node n = node_of(NodeKind::any_of);
    n.alternative_by_byte.fill(-1);
    for (size_t i = 0; i < alts.size(); ++i) {
      for (int b = 0; b < 256; ++b) {
        if (!first_bytes(alts[i])[static_cast<size_t>(b)]) continue;
        if (n.alternative_by_byte[static_cast<size_t>(b)] >= 0)
          fail(path, "oneOf/anyOf/type branches that can start with the same character ('" +
                         std::string(1, static_cast<char>(b)) + "')");
        n.alternative_by_byte[static_cast<size_t>(b)] = static_cast<int16_t>(i);
      }
    }
    n.alternatives = std::move(alts);
    return add(std::move(n));
  }

  std::array<bool, 256> first_bytes(uint32_t id) const {
    std::array<bool, 256> out{};
    const Node& n = g_.nodes_[id];
    switch (n.kind) {
      case NodeKind::any_of:
        for (uint32_t a : n.alternatives) {
          const auto sub = first_bytes(a);
          for (size_t b = 0; b < 256; ++b) out[b] = out[b] || sub[b];
        }
        break;
      case NodeKind::object: case NodeKind::map: out['{'] = true; break;
      case NodeKind::array: out['['] = true; break;
      case NodeKind::string: out['"'] = true; break;
      case NodeKind::integer: case NodeKind::number:
        out['-'] = true;
        for (int d = '0'; d <= '9'; ++d) out[static_cast<size_t>(d)] = true;
        break;
      case NodeKind::literals:
        for (const auto& l : n.literals) out[static_cast<unsigned char>(l[0])] = true;
        break;
    }
    return out;
  }

  uint32_t object(const Json& schema, const std::string& path) {
    refuse_others(schema, path, "object", kObjectKeywords);
    const Json empty = Json::object();
    const Json& props = schema.contains("properties") ? schema["properties"] : empty;
    if (!props.is_object()) fail(path, "properties must be an object");
    const bool closed = schema.contains("additionalProperties") && schema["additionalProperties"].is_boolean() &&
                        !schema["additionalProperties"].get<bool>();
    if (!closed) {
      if (!props.empty())
        fail(path, "declared properties need \"additionalProperties\": false (open objects with declared keys are not supported)");
      if (schema.contains("required") || schema.contains("allOf")) fail(path, "required/allOf on an open object");
      Node n = node_of(NodeKind::map);
      const uint32_t id = add(std::move(n));
      const uint32_t values =
          schema.contains("additionalProperties") ? build(schema["additionalProperties"], path + ".additionalProperties") : any();
      g_.nodes_[id].values = values;
      return id;
    }
    if (props.size() > 64) fail(path, "more than 64 properties");
    Node n = node_of(NodeKind::object);
    std::vector<std::pair<std::string, std::string>> names;  // key text, name
    for (const auto& [name, _] : props.items()) names.emplace_back(json::python_dumps(Json(name)), name);
    std::sort(names.begin(), names.end());
    const uint32_t id = add(node_of(NodeKind::object));
    for (const auto& [key_text, name] : names) {
      Property p;
      p.key_text = key_text;
      p.node = build(props[name], path + "." + name);
      n.properties.push_back(std::move(p));
    }
    const auto index_of = [&](const Json& name, const std::string& where) -> size_t {
      if (!name.is_string()) fail(where, "required entries must be strings");
      for (size_t i = 0; i < names.size(); ++i)
        if (names[i].second == name.get<std::string>()) return i;
      fail(where, "required property \"" + name.get<std::string>() + "\" is not declared");
    };
    const auto required_mask = [&](const Json& list, const std::string& where) {
      if (!list.is_array()) fail(where, "required must be an array");
      uint64_t mask = 0;
      for (const auto& name : list) mask |= uint64_t{1} << index_of(name, where);
      return mask;
    };
    if (schema.contains("required")) n.required = required_mask(schema["required"], path + ".required");
    if (schema.contains("allOf")) {
      const Json& all = schema["allOf"];
      if (!all.is_array()) fail(path, "allOf must be an array");
      for (size_t i = 0; i < all.size(); ++i)
        n.conditions.push_back(condition(all[i], path + ".allOf[" + std::to_string(i) + "]", n, index_of, required_mask));
      size_t combinations = 1;
      for (uint8_t p : n.slot_property) combinations *= 1 + g_.nodes_[n.properties[p].node].literals.size();
      if (combinations > 4096) fail(path, "too many combinations of conditional values");
    }
    g_.nodes_[id] = std::move(n);
    return id;
  }

  template <typename IndexOf, typename RequiredMask>
  Condition condition(const Json& entry, const std::string& path, Node& n, const IndexOf& index_of,
                      const RequiredMask& required_mask) {
    if (!entry.is_object() || !entry.contains("if") || !entry.contains("then"))
      fail(path, "allOf entries must be if/then(/else)");
    for (const auto& [key, _] : entry.items())
      if (key != "if" && key != "then" && key != "else" && !kAnnotations.count(key)) fail(path, "allOf entry keyword \"" + key + "\"");
    const Json& test = entry["if"];
    if (!test.is_object() || !test.contains("properties") || !test["properties"].is_object() ||
        test["properties"].size() != 1)
      fail(path + ".if", "`if` must test exactly one property");
    for (const auto& [key, _] : test.items())
      if (key != "properties" && key != "required") fail(path + ".if", "`if` keyword \"" + key + "\"");
    const auto tested_it = test["properties"].begin();
    const std::string name = tested_it.key();
    const Json& value_schema = tested_it.value();
    const size_t prop = index_of(Json(name), path + ".if");
    Condition c;
    if (test.contains("required")) {
      if (test["required"] != Json::array({name})) fail(path + ".if", "`if` may only require its own property");
      c.needs_presence = true;
    }
    std::vector<std::string> wanted;
    if (value_schema.is_object() && value_schema.size() == 1 && value_schema.contains("const")) {
      wanted.push_back(json::python_dumps(value_schema["const"]));
    } else if (value_schema.is_object() && value_schema.size() == 1 && value_schema.contains("enum") &&
               value_schema["enum"].is_array()) {
      for (const auto& v : value_schema["enum"]) wanted.push_back(json::python_dumps(v));
    } else {
      fail(path + ".if", "`if` must compare the property with const or enum");
    }
    const Node& tested = g_.nodes_[n.properties[prop].node];
    if (tested.kind != NodeKind::literals) fail(path + ".if", "the tested property \"" + name + "\" must be an enum or const");
    auto slot_it = std::find(n.slot_property.begin(), n.slot_property.end(), static_cast<uint8_t>(prop));
    if (slot_it == n.slot_property.end()) {
      if (n.slot_property.size() >= kMaxConditionSlots) fail(path, "conditions on more than 4 properties");
      n.slot_property.push_back(static_cast<uint8_t>(prop));
      slot_it = n.slot_property.end() - 1;
    }
    c.slot = static_cast<uint8_t>(slot_it - n.slot_property.begin());
    n.properties[prop].slot = static_cast<int8_t>(c.slot);
    for (const auto& literal : tested.literals)
      c.holds.push_back(std::find(wanted.begin(), wanted.end(), literal) != wanted.end());
    const auto branch = [&](const char* key) -> uint64_t {
      if (!entry.contains(key)) return 0;
      const Json& b = entry[key];
      if (!b.is_object()) fail(path + "." + key, "must be an object");
      for (const auto& [k, _] : b.items())
        if (k != "required") fail(path + "." + key, "only `required` is supported in then/else");
      return b.contains("required") ? required_mask(b["required"], path + "." + key + ".required") : 0;
    };
    c.then_required = branch("then");
    c.else_required = branch("else");
    return c;
  }

  uint32_t array(const Json& schema, const std::string& path) {
    refuse_others(schema, path, "array", kArrayKeywords);
    Node n = node_of(NodeKind::array);
    n.min_items = count_keyword(schema, "minItems", path, 0);
    n.max_items = count_keyword(schema, "maxItems", path, kUnbounded);
    if (schema.contains("items") && schema["items"].is_array()) fail(path, "tuple `items` is not supported");
    const uint32_t id = add(node_of(NodeKind::array));
    n.items = schema.contains("items") ? build(schema["items"], path + "[]") : any();
    g_.nodes_[id] = std::move(n);
    return id;
  }

  uint32_t string(const Json& schema, const std::string& path) {
    refuse_others(schema, path, "string", kStringKeywords);
    Node n = node_of(NodeKind::string);
    n.min_length = count_keyword(schema, "minLength", path, 0);
    n.max_length = count_keyword(schema, "maxLength", path, kUnbounded);
    if (n.min_length > n.max_length) fail(path, "minLength above maxLength");
    if (schema.contains("pattern")) {
      if (!schema["pattern"].is_string()) fail(path, "pattern must be a string");
      if (schema.contains("minLength") || schema.contains("maxLength"))
        fail(path, "pattern together with minLength/maxLength");
      g_.patterns_.push_back(PatternDfa::compile(schema["pattern"].get<std::string>(), what_ + " " + path));
      n.pattern = static_cast<int32_t>(g_.patterns_.size() - 1);
    }
    return add(std::move(n));
  }

  uint32_t integer(const Json& schema, const std::string& path) {
    refuse_others(schema, path, "integer", kNumberKeywords);
    Node n = node_of(NodeKind::integer);
    const auto bound = [&](const char* key, bool lower, bool exclusive) {
      if (!schema.contains(key)) return;
      const Json& v = schema[key];
      if (!v.is_number()) fail(path, std::string(key) + " must be a number");
      double d = v.get<double>();
      d = lower ? (exclusive ? std::floor(d) + 1 : std::ceil(d)) : (exclusive ? std::ceil(d) - 1 : std::floor(d));
      const double lim = 9.2e18;
      const int64_t b = static_cast<int64_t>(std::clamp(d, -lim, lim));
      if (lower) n.minimum = std::max(n.minimum, b);
      else n.maximum = std::min(n.maximum, b);
    };
    // Bounds of int64 texts keep every value within 19 digits.
    n.minimum = -999999999999999999;
    n.maximum = 999999999999999999;
    bound("minimum", true, false);
    bound("exclusiveMinimum", true, true);
    bound("maximum", false, false);
    bound("exclusiveMaximum", false, true);
    if (n.minimum > n.maximum) fail(path, "the integer range is empty");
    return add(std::move(n));
  }

  uint32_t count_keyword(const Json& schema, const char* key, const std::string& path, uint32_t fallback) {
    if (!schema.contains(key)) return fallback;
    const Json& v = schema[key];
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
      fail(path, std::string(key) + " must be a non-negative integer");
    return static_cast<uint32_t>(std::min<uint64_t>(v.get<uint64_t>(), kUnbounded - 1));
  }

  // Any JSON value: made once, and shared (it refers to itself).
  uint32_t any() {
    if (any_ != UINT32_MAX) return any_;
    const uint32_t map = add(node_of(NodeKind::map));
    const uint32_t arr = add(node_of(NodeKind::array));
    const uint32_t str = add(node_of(NodeKind::string));
    const uint32_t num = add(node_of(NodeKind::number));
    const uint32_t lit = literal_node({Json(false), Json(true), Json(nullptr)});
    any_ = any_of({map, arr, str, num, lit}, "$");
    g_.nodes_[map].values = any_;
    g_.nodes_[arr].items = any_;
    return any_;
  }

  // Shortest text of every node, relaxed to a fixed point (schemas that
  // refer to themselves, such as "any value", need more than one pass).
  void settle_min_bytes() {
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t i = 0; i < g_.nodes_.size(); ++i) {
        const uint32_t m = min_bytes_of(g_.nodes_[i]);
        if (m < g_.nodes_[i].min_bytes) {
          g_.nodes_[i].min_bytes = m;
          changed = true;
        }
      }
    }
  }

  uint32_t min_bytes_of(const Node& n) const {
    const auto& nodes = g_.nodes_;
    switch (n.kind) {
      case NodeKind::any_of: {
        uint32_t best = kImpossible;
        for (uint32_t a : n.alternatives) best = std::min(best, nodes[a].min_bytes);
        return best;
      }
      case NodeKind::object: {
        std::array<uint8_t, kMaxConditionSlots> slots;
        slots.fill(kAbsent);
        return std::min<uint32_t>(kImpossible, 1 + object_rest(g_, n, 0, slots, false));
      }
      case NodeKind::map: return 2;
      case NodeKind::array: {
        if (n.min_items == 0) return 2;
        const uint64_t item = nodes[n.items].min_bytes;
        return static_cast<uint32_t>(std::min<uint64_t>(kImpossible, 2 + n.min_items * item + (n.min_items - 1) * 2ull));
      }
      case NodeKind::string:
        return n.pattern >= 0 ? 2 + g_.patterns_[static_cast<size_t>(n.pattern)].distance(0)
                              : static_cast<uint32_t>(std::min<uint64_t>(kImpossible, 2ull + n.min_length));
      case NodeKind::integer: return shortest_integer(n.minimum, n.maximum);
      case NodeKind::number: return 1;
      case NodeKind::literals: {
        size_t best = kImpossible;
        for (const auto& l : n.literals) best = std::min(best, l.size());
        return static_cast<uint32_t>(best);
      }
    }
    return kImpossible;
  }

  std::string what_;
  Grammar g_;
  uint32_t any_ = UINT32_MAX;
};

Grammar Grammar::compile(const json::Json& schema, std::string_view what) { return GrammarBuilder(what).run(schema); }

}  // namespace josi::constrain
