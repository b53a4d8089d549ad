#pragma once
// Recovering a JSON object from the interpreter's raw text (the post-processor's
// "Parsing"): markdown fences, surrounding prose, and truncated output.
#include <optional>
#include <string_view>

#include "json/json.hpp"

namespace josi::coach {

// The parsed object, or nullopt when no step yields a JSON object.
std::optional<json::Json> parse_interpreter_output(std::string_view raw);

}  // namespace josi::coach
