#pragma once
// Dataset validation: structure; every row unrolled into one example per
// assistant turn (data::unroll), as training takes it; for the interpreter
// every target parsed and checked against GATCRequest; for the explainer
// every answer non-empty plain text and any [INTERPRETER] block a valid
// request; in unified data each example by its target. Problems (which
// fail the file) and warnings (where the data cannot match what the app
// sends: rows without a system prompt, coach turns without CONTEXT or
// [INTERPRETER], coach answers under the interpreter's prompt, two
// [KNOWLEDGE] blocks in a turn, examples over the length limit) keep their
// line numbers. Every coach target (a row whose last answer is plain text)
// gets the grounding check on its last user and assistant messages
// (scoring/grounding.hpp): a quality report beside the problems, which
// does not fail the file.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "json/json.hpp"
#include "scoring/grounding.hpp"
#include "text/tokenizer.hpp"

namespace josi::data {

// interpreter: GATCRequest targets; explainer: plain-text answers; unified:
// both roles in one file, each row's system prompt saying which.
enum class DatasetMode { interpreter, explainer, unified };

struct DatasetProblem {
  size_t line = 0;
  std::string kind;    // invalid_json | bad_structure | no_answer | target_not_json | target_schema | ...
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
  size_t lines = 0;              // non-blank lines: rows
  size_t unrolled_examples = 0;  // one per assistant turn of the well-formed rows
  size_t examples = 0;           // of those, with a valid target
  size_t multi_turn_rows = 0;    // rows with more than one assistant turn
  std::map<size_t, size_t> rows_by_messages;  // message count -> rows
  size_t rows_without_system_prompt = 0;
  size_t rows_with_interpreter_prompt = 0;  // the interpreter's system prompt (it asks for GATCRequest JSON)
  size_t rows_with_other_prompt = 0;
  size_t request_targets_under_interpreter_prompt = 0;
  size_t coach_answers_under_interpreter_prompt = 0;  // rows
  size_t coach_rows_without_context = 0;
  size_t coach_rows_without_interpreter = 0;
  size_t rows_with_knowledge = 0;
  size_t rows_with_two_knowledge_blocks = 0;  // in one user turn
  struct {
    size_t total = 0, selector = 0;  // selector: "[KNOWLEDGE]\n\n" + cards; the rest one-line hints
  } knowledge_blocks;
  bool length_checked = false;
  size_t over_length_examples = 0;
  std::map<std::string, size_t> problem_counts;
  std::vector<DatasetProblem> problems;
  std::map<std::string, size_t> warning_counts;
  std::vector<DatasetProblem> warnings;
  std::map<std::string, size_t> actions;  // interpreter: action distribution of parsed targets
  scoring::GroundingSummary grounding;  // over the coach targets
  struct GroundedRow {
    size_t line = 0;
    scoring::Grounding grounding;
  };
  std::vector<GroundedRow> grounding_violations;  // the rows with any, in line order
  LengthStats prompt_chars;                 // every prompt message's characters (UTF-8 code points)
  LengthStats target_chars;                 // assistant characters
  bool clean() const { return problems.empty(); }
};

// Token lengths are checked when a tokenizer is given: an example of
// max_seq_length tokens or more is cut in training.
struct LengthCheck {
  const text::Tokenizer* tokenizer = nullptr;
  int64_t max_seq_length = 4096;
};

// `mode` nullopt: interpreter when nine in ten targets or more are JSON
// objects with an "action", explainer when one in ten or fewer are,
// unified otherwise.
DatasetReport validate_dataset(const std::filesystem::path& path, std::optional<DatasetMode> mode,
                               const LengthCheck& length = {});

json::Json to_json(const DatasetReport& report);
std::string mode_name(DatasetMode mode);
// "interpreter", "explainer", "unified"; throws a usage error naming `flag` otherwise.
DatasetMode dataset_mode_from_name(const std::string& name, const std::string& flag = "--mode");

}  // namespace josi::data
