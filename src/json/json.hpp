#pragma once
// The project's JSON value: nlohmann's order-preserving object, because the
// users' data and the interpreter's output are compared and re-serialised
// with their keys in the order they were written.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace josi::json {

using Json = nlohmann::ordered_json;

// Parses `text`; on failure throws josi::Error "<what>: invalid JSON: <reason>".
Json parse(std::string_view text, std::string_view what);

// Parses `text`, returning false (and leaving `out` untouched) on failure.
bool try_parse(std::string_view text, Json& out);

// How many bytes of `text` a parser reads before it meets a syntax error;
// text.size() when it meets none, or fails for another reason (nesting
// too deep, a number out of range such as 1e999).
size_t syntax_error_offset(std::string_view text);

// A short name for a value's type, for error messages ("string", "object"...).
std::string type_name(const Json& value);

}  // namespace josi::json
