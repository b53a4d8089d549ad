#include "json/json.hpp"

#include "base/error.hpp"

namespace josi::json {

Json parse(std::string_view text, std::string_view what) {
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    std::string reason = e.what();
    // nlohmann prefixes "[json.exception.parse_error.101] parse error at ..."; keep the part after "] ".
    if (auto pos = reason.find("] "); pos != std::string::npos) reason = reason.substr(pos + 2);
    throw Error(std::string(what) + ": invalid JSON: " + reason);
  }
}

bool try_parse(std::string_view text, Json& out) {
  Json value = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return false;
  out = std::move(value);
  return true;
}

std::string type_name(const Json& value) {
  if (value.is_number_integer()) return "integer";
  if (value.is_number()) return "number";
  return value.type_name();
}

}  // namespace josi::json
