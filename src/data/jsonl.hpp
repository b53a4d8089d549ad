#pragma once
// Reading JSONL files: one JSON value per line, blank lines ignored. Each
// record keeps its 1-based line number so every report can point at it.
#include <filesystem>
#include <string>
#include <vector>

#include "json/json.hpp"

namespace josi::data {

struct JsonlRecord {
  size_t line = 0;
  json::Json value;   // null when the line did not parse
  std::string error;  // "" when the line parsed
  bool ok() const { return error.empty(); }
};

// Every non-blank line of `path`. Throws josi::Error (io) when the file cannot
// be read; a line that is not JSON becomes a record with `error` set.
std::vector<JsonlRecord> read_jsonl(const std::filesystem::path& path);

// As read_jsonl, but the first malformed line throws "<path>:<line>: invalid JSON: ...".
std::vector<JsonlRecord> read_jsonl_strict(const std::filesystem::path& path);

}  // namespace josi::data
