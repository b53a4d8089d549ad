#pragma once
// Knowledge fidelity: does the coach say what its coaching cards say? A
// criteria file (the users' eval_knowledge_prompts.json) is a JSON array of
// cases, each an athlete message, its CONTEXT lines and rules on the answer:
//   must_contain / must_not_contain: substrings, compared after str.lower()
//     on both sides (knowledge::python_lower);
//   must_match_pattern / must_not_match_pattern: Python `re` patterns,
//     searched with IGNORECASE on the answer as written
//     (base::Regex::python_unicode).
// Each satisfied rule is a pass, each violated one a failure; a case passes
// only with no failure. A category is PASS at >= 80 % of its cases passed,
// WARN at >= 50 %, FAIL below; the whole eval is its worst category.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "json/json.hpp"
#include "scoring/grounding.hpp"

namespace josi::check {

struct FidelityCase {
  std::string id, category, card_id, rule_id, description;
  std::string user_message;
  std::string context;  // "- Sport: running\n- Level: beginner": CONTEXT lines without the header
  std::vector<std::string> must_contain, must_not_contain, must_match_pattern, must_not_match_pattern;
};

// Reads and checks a criteria file: a JSON array of cases with string ids
// (each once), messages and rule lists, and patterns that compile. Throws
// josi::Error with one line naming the file, the case and the key.
std::vector<FidelityCase> load_fidelity_cases(const std::filesystem::path& path);

struct CaseScore {
  size_t passes = 0;
  std::vector<std::string> failures;  // e.g. "must_contain \"recovery\"", "must_not_match_pattern /\\d+ bpm/: \"150 bpm\""
  bool passed() const { return failures.empty(); }
  double score() const;               // passes / max(passes + failures, 1)
};

// Scores one answer by the case's rules.
CaseScore score_answer(const FidelityCase& c, const std::string& answer);

// The user turn a case stands for: the message, then its CONTEXT block.
std::string case_user_turn(const FidelityCase& c);

struct CaseResult {
  std::string id, category;
  std::string answer;
  CaseScore score;
  scoring::Grounding grounding;  // the answer against the user turn it answered
  // No coach answer (the replay has none, the turn went elsewhere) is a
  // failure of its own, named first: a release check does not pass on silence.
  void fail_unanswered(const std::string& why) { score.failures.insert(score.failures.begin(), why); }
};

struct CategoryStatus {
  size_t passed = 0, total = 0;
  double percent() const { return total ? 100.0 * static_cast<double>(passed) / static_cast<double>(total) : 0.0; }
  std::string status() const;  // PASS | WARN | FAIL
};

struct FidelityReport {
  std::string criteria, source;  // the criteria file; the model or the replayed answers
  std::vector<CaseResult> cases;
  std::map<std::string, CategoryStatus> categories;
  scoring::GroundingSummary grounding;
  size_t passed() const;
  std::string status() const;  // the worst category's; FAIL with no cases
  bool ok() const { return status() == "PASS"; }
  void add(CaseResult result);
};

// Replayed answers: JSONL, one {"id": case id, "answer": text} per line,
// each case at most once. A case without an answer fails. Throws josi::Error naming the file and line for bad lines or an
// id no case has.
std::map<std::string, std::string> load_replay_answers(const std::filesystem::path& path,
                                                       const std::vector<FidelityCase>& cases);

json::Json to_json(const FidelityReport& report);
std::string to_table(const FidelityReport& report);

}  // namespace josi::check
