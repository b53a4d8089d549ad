#pragma once
// Dataset validation (pipeline.md §1): structure, the single-turn rule, and
// for the interpreter every target parsed and checked against GATCRequest;
// for the explainer every answer non-empty plain text and any [INTERPRETER]
// block a valid request. Problems keep their line numbers.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "json/json.hpp"

namespace josi::data {

enum class DatasetMode { interpreter, explainer };

struct DatasetProblem {
  size_t line = 0;
  std::string kind;    // invalid_json | bad_structure | not_single_turn | target_not_json | target_schema | ...
  std::string detail;  // one line
};

struct LengthStats {
  size_t count = 0, min = 0, max = 0;
  double mean = 0;
  size_t p95 = 0;
};

struct DatasetReport {
  std::string file;
  DatasetMode mode = DatasetMode::interpreter;
  size_t lines = 0;     // non-blank lines
  size_t examples = 0;  // usable single-turn examples with a valid target
  std::map<std::string, size_t> problem_counts;
  std::vector<DatasetProblem> problems;
  std::map<std::string, size_t> actions;  // interpreter: action distribution of parsed targets
  LengthStats prompt_chars;                 // system + user characters (UTF-8 code points)
  LengthStats target_chars;                 // assistant characters
  bool clean() const { return problems.empty(); }
};

// `mode` nullopt: interpreter when the first usable target is a JSON object
// with an "action", explainer otherwise.
DatasetReport validate_dataset(const std::filesystem::path& path, std::optional<DatasetMode> mode);

json::Json to_json(const DatasetReport& report);
std::string mode_name(DatasetMode mode);

}  // namespace josi::data
