#pragma once
// The shape every `josi coach` filter shares: one JSON object per input line,
// one JSON line out per input line, in order. A bad line yields
// {"error": "..."} in its place (and a line on stderr); the rest go on, and
// the exit code is non-zero if any line failed.
#include <functional>
#include <iosfwd>
#include <string>

#include "json/json.hpp"

namespace josi::cli {

using LineHandler = std::function<json::Json(const json::Json& input)>;

// Reads `input_path` ("-" = standard input); returns the process exit code.
int run_jsonl_filter(const std::string& command, const std::string& input_path, const LineHandler& handler);

// The same loop for any JSON value per line, with the output line's text
// made by `handler` (tokenize prints ids or counts, not only JSON).
int run_jsonl_lines(const std::string& command, const std::string& input_path,
                    const std::function<std::string(const json::Json& input)>& handler);

}  // namespace josi::cli
