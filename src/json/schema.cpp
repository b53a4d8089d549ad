#include "json/schema.hpp"

#include <algorithm>

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "base/error.hpp"
#include "embedded/schemas.hpp"

namespace josi::json {

struct Schema::Compiled {
  valijson::Schema schema;
  Json document;
};

namespace {

// valijson's adapter reads nlohmann's unordered json type.
nlohmann::json to_plain(const Json& value) {
  switch (value.type()) {
    case Json::value_t::object: {
      nlohmann::json out = nlohmann::json::object();
      for (const auto& [key, item] : value.items()) out[key] = to_plain(item);
      return out;
    }
    case Json::value_t::array: {
      nlohmann::json out = nlohmann::json::array();
      for (const auto& item : value) out.push_back(to_plain(item));
      return out;
    }
    case Json::value_t::string: return value.get_ref<const std::string&>();
    case Json::value_t::boolean: return value.get<bool>();
    case Json::value_t::number_integer: return value.get<int64_t>();
    case Json::value_t::number_unsigned: return value.get<uint64_t>();
    case Json::value_t::number_float: return value.get<double>();
    default: return nullptr;  // null (a parsed document holds no binary values)
  }
}

struct Location {
  std::string path = "$";                  // "$.constraints.injury", "$.missing[0]"
  nlohmann::json::json_pointer pointer;    // the same place in the instance
};

// valijson context ["<root>", "[action]", "[0]"] -> "$.action[0]".
Location locate(const std::vector<std::string>& context) {
  Location at;
  for (size_t i = 1; i < context.size(); ++i) {
    std::string part = context[i];
    if (part.size() >= 2 && part.front() == '[' && part.back() == ']') part = part.substr(1, part.size() - 2);
    bool index = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    at.path += index ? "[" + part + "]" : "." + part;
    at.pointer /= part;
  }
  return at;
}

// valijson also reports every enclosing schema that failed because a child
// did; those lines repeat the leaf errors and are dropped.
bool is_wrapper(const std::string& description) {
  static const char* const kWrappers[] = {"Failed to validate against schema associated with property name",
                                          "Failed to validate item #", "Failed to validate against child schema",
                                          "Failed to validate against a conditional schema"};
  for (const char* w : kWrappers)
    if (description.rfind(w, 0) == 0) return true;
  return false;
}

// Names the JSON Schema keyword a valijson description comes from.
std::string rule_of(const std::string& d) {
  static const std::pair<const char*, const char*> kRules[] = {
      {"enum values", "enum"},          {"Missing required property", "required"},
      {"'type' constraint", "type"},    {"'pattern' constraint", "pattern"},
      {"additionalProperties", "additionalProperties"},
      {"greater than or equal", "minimum"}, {"less than or equal", "maximum"},
      {"greater than", "exclusiveMinimum"}, {"less than", "exclusiveMaximum"},
      {"no fewer than", "minLength"},   {"no greater than", "maxLength"},
      {"at least", "minItems"},         {"at most", "maxItems"},
      {"const", "const"},               {"exactly one", "oneOf"},
      {"any child schemas", "anyOf"},   {"not", "not"}};
  for (const auto& [phrase, rule] : kRules)
    if (d.find(phrase) != std::string::npos) return rule;
  return "schema";
}

std::string describe(const nlohmann::json& instance, const std::vector<std::string>& context,
                     const std::string& description) {
  Location at = locate(context);
  std::string rule = rule_of(description);
  std::string line = at.path + ": " + rule + ": " + description;
  if (rule == "enum" || rule == "type" || rule == "pattern" || rule == "const") {
    if (instance.contains(at.pointer)) {
      std::string value = instance.at(at.pointer).dump();
      if (value.size() > 60) value = value.substr(0, 57) + "...";
      line += " (got " + value + ")";
    }
  }
  return line;
}

}  // namespace

Schema::Schema(const Json& document, std::string_view what) : compiled_(std::make_unique<Compiled>()) {
  try {
    nlohmann::json plain = to_plain(document);
    valijson::adapters::NlohmannJsonAdapter adapter(plain);
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    parser.populateSchema(adapter, compiled_->schema);
    compiled_->document = document;
  } catch (const std::exception& e) {
    throw Error(std::string(what) + ": invalid JSON Schema: " + e.what());
  }
}

Schema::~Schema() = default;
const Json& Schema::document() const { return compiled_->document; }
Schema::Schema(Schema&&) noexcept = default;

std::vector<std::string> Schema::validate(const Json& value) const {
  nlohmann::json plain = to_plain(value);
  valijson::adapters::NlohmannJsonAdapter adapter(plain);
  // One validator per thread keeps its compiled "pattern" regexes between calls.
  thread_local valijson::Validator validator;
  valijson::ValidationResults results;
  std::vector<std::string> errors;
  if (validator.validate(compiled_->schema, adapter, &results)) return errors;
  std::vector<valijson::ValidationResults::Error> all(results.begin(), results.end());
  bool has_leaf = std::any_of(all.begin(), all.end(), [](const auto& e) { return !is_wrapper(e.description); });
  for (const auto& e : all)
    if (!has_leaf || !is_wrapper(e.description)) errors.push_back(describe(plain, e.context, e.description));
  return errors;
}

namespace {
Schema load_embedded(std::string_view text, std::string_view name) { return Schema(parse(text, name), name); }
}  // namespace

const Schema& Schema::gatc_request() {
  static const Schema schema = load_embedded(embedded::schemas::gatc_request(), "gatc_request.schema.json");
  return schema;
}
const Schema& Schema::chat_context() {
  static const Schema schema = load_embedded(embedded::schemas::chat_context(), "chat_context.schema.json");
  return schema;
}
const Schema& Schema::llm_intent() {
  static const Schema schema = load_embedded(embedded::schemas::llm_intent(), "llm_intent.schema.json");
  return schema;
}

}  // namespace josi::json
