#pragma once
// The GATCRequest post-processor: parse the interpreter's text,
// apply the deterministic fixups, validate against the GATCRequest schema.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json/json.hpp"

namespace josi::coach {

// The fixups in order, on a copy of `request`. `user_turn` is
// the full user turn (message plus CONTEXT/PROFILE/... blocks).
json::Json apply_fixups(json::Json request, std::string_view user_turn);

struct PostprocessResult {
  std::optional<json::Json> request;  // nullopt when the text did not parse
  bool valid = false;                 // parsed and schema-valid
  std::vector<std::string> errors;    // parse failure or schema errors, one line each
};

PostprocessResult postprocess(std::string_view raw, std::string_view user_turn);

// The athlete's message: the user turn up to the first "\n\nCONTEXT:", trimmed.
std::string message_part(std::string_view user_turn);

}  // namespace josi::coach
