#pragma once
// The v3 LLMIntent parser: repairs the usual small-model JSON
// mistakes and accepts only a complete, valid intent.
#include <optional>
#include <string_view>

#include "json/json.hpp"

namespace josi::coach {

// The intent with defaults filled in (source_cards, guardrail_reason,
// replan_request, tool_call), or nullopt when nothing valid can be recovered.
std::optional<json::Json> parse_legacy_intent(std::string_view raw);

}  // namespace josi::coach
