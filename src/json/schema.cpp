#include "json/schema.hpp"

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
};

namespace {

// valijson's adapter reads nlohmann's unordered json type.
nlohmann::json to_plain(const Json& value) { return nlohmann::json::parse(value.dump()); }

// valijson context ["<root>", "[action]", "[0]"] -> "$.action[0]".
std::string json_path(const std::vector<std::string>& context) {
  std::string path = "$";
  for (size_t i = 1; i < context.size(); ++i) {
    const std::string& part = context[i];
    if (part.size() >= 2 && part.front() == '[' && part.back() == ']') {
      std::string inner = part.substr(1, part.size() - 2);
      bool index = !inner.empty() && inner.find_first_not_of("0123456789") == std::string::npos;
      path += index ? "[" + inner + "]" : "." + inner;
    } else {
      path += "." + part;
    }
  }
  return path;
}

}  // namespace

Schema::Schema(const Json& document, std::string_view what) : compiled_(std::make_unique<Compiled>()) {
  try {
    nlohmann::json plain = to_plain(document);
    valijson::adapters::NlohmannJsonAdapter adapter(plain);
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    parser.populateSchema(adapter, compiled_->schema);
  } catch (const std::exception& e) {
    throw Error(std::string(what) + ": invalid JSON Schema: " + e.what());
  }
}

Schema::~Schema() = default;
Schema::Schema(Schema&&) noexcept = default;

std::vector<std::string> Schema::validate(const Json& value) const {
  nlohmann::json plain = to_plain(value);
  valijson::adapters::NlohmannJsonAdapter adapter(plain);
  valijson::Validator validator;
  valijson::ValidationResults results;
  std::vector<std::string> errors;
  if (validator.validate(compiled_->schema, adapter, &results)) return errors;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) errors.push_back(json_path(error.context) + ": " + error.description);
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
