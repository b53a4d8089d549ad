#pragma once
// Builds the sequential explainer dataset (the seed's prepare_sequential_data.py): each explainer
// example whose user turn the interpreter data also has, and whose
// interpreter action is explain or answer_question, becomes
//   system    = the explainer sequential prompt
//   user      = user turn + "\n\n[INTERPRETER]\n" + interpreter JSON (verbatim)
//   assistant = the explainer's answer
// written with Python json.dumps defaults, so it matches the users' files byte
// for byte.
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace josi::data {

struct SequentialStats {
  size_t interpreter_examples = 0;
  size_t explainer_examples = 0;
  size_t matched = 0;             // user turn found in the interpreter data
  size_t unmatched = 0;           // not found
  size_t skipped_by_action = 0;   // matched, but the action routes elsewhere
  size_t skipped_invalid = 0;     // not a usable single-turn example, or target not JSON
  size_t written = 0;
  std::map<std::string, size_t> actions;   // action distribution over matched examples
  std::vector<std::string> first_skipped;  // a few "<file>:<line>: reason" lines
};

// Reads both inputs (a malformed JSON line is an error naming file and line),
// writes `output` atomically, and returns the counts.
SequentialStats prepare_sequential(const std::filesystem::path& interpreter_data,
                                   const std::filesystem::path& explainer_data, const std::filesystem::path& output,
                                   const std::string& system_prompt);

// The explainer sequential user turn: `user` + "\n\n[INTERPRETER]\n" + `interpreter_json`.
std::string sequential_user_turn(const std::string& user, const std::string& interpreter_json);

}  // namespace josi::data
