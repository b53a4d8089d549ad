#include "json/json.hpp"

#include "base/error.hpp"

namespace josi::json {

namespace {

// Building an order-preserving tree recurses per nesting level, so hostile
// input like [[[[... 100k deep overflows the stack; no real document nests
// anywhere near this deep.
constexpr int kMaxDepth = 512;

bool too_deep(std::string_view text) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

}  // namespace

Json parse(std::string_view text, std::string_view what) {
  if (too_deep(text))
    throw Error(std::string(what) + ": invalid JSON: nested deeper than " + std::to_string(kMaxDepth) + " levels");
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
  if (too_deep(text)) return false;
  Json value = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) return false;
  out = std::move(value);
  return true;
}

size_t syntax_error_offset(std::string_view text) {
  if (too_deep(text)) return text.size();
  try {
    Json ignored = Json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    return e.byte;  // bytes read when the error was found
  } catch (const nlohmann::json::exception&) {
  }
  return text.size();
}

std::string type_name(const Json& value) {
  if (value.is_number_integer()) return "integer";
  if (value.is_number()) return "number";
  return value.type_name();
}

}  // namespace josi::json
