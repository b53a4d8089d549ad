#pragma once
// JSON Schema validation (valijson, draft 7 keywords) for the three contracts
// the models and the app exchange. Each error is one line naming the JSON
// path and the rule that failed, e.g. `$.sport: enum: "cycling" is not one of
// the allowed values`.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "json/json.hpp"

namespace josi::json {

class Schema {
 public:
  // Parses a schema document; throws josi::Error naming `what` if it is invalid.
  Schema(const Json& document, std::string_view what);
  ~Schema();
  Schema(Schema&&) noexcept;

  // Empty when `value` conforms.
  std::vector<std::string> validate(const Json& value) const;
  bool is_valid(const Json& value) const { return validate(value).empty(); }
  // The schema document itself (for compiling it into an output constraint).
  const Json& document() const;

  // The contracts, compiled once from the copies built into the binary.
  static const Schema& gatc_request();  // interpreter output
  static const Schema& chat_context();  // runtime input
  static const Schema& llm_intent();    // legacy v3 output

 private:
  struct Compiled;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace josi::json
