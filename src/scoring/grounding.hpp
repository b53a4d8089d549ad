#pragma once
// The grounding check: does a coach answer stay within what its prompt gave
// it? The v6 coach must not invent training numbers (heart rates, paces,
// watts, distances, rep schemes) that the athlete's context does not hold,
// must not write prescriptions (the engine writes workouts), and must not
// leak the system behind it (GATC, the interpreter, the cards). Answers that
// point the athlete to their own numbers earn a little.
//
// The rules are the users' validator's (docs/release_checks.md lists them),
// written in Python `re` terms (base::Regex::python_unicode, IGNORECASE):
//  * invented number: an error unless every digit run in the match is one
//    of the context numbers of the user text;
//  * prescription: a warning (an error when strict);
//  * system leak: an error.
// Score: 1 - 0.3 per error - 0.1 per warning, counted as in strict mode (so
// a prescription costs 0.3, as in the users' score) + min(0.05 per signal,
// 0.2), clamped to [0, 1] and rounded to 2 decimals.
//
// One library, three users: `josi data validate` (training targets), `josi
// eval` (generated answers) and the turn itself (its result's "grounding").
#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "json/json.hpp"

namespace josi::scoring {

enum class ViolationKind { invented_number, prescription, system_leak };
std::string_view kind_name(ViolationKind kind);  // "invented_number" | "prescription" | "system_leak"

struct Violation {
  ViolationKind kind;
  std::string rule;  // which rule, e.g. "hr_target"
  std::string text;  // what the answer says
  bool error = false;
};

struct Grounding {
  std::vector<Violation> violations;  // in rule order, each match once
  std::vector<std::string> signals;   // the positive rules that matched
  size_t errors = 0, warnings = 0;
  double score = 1.0;
  bool invents_numbers() const;
};

// The numbers the user text puts in front of the model (case-sensitive):
// "Z2" tokens, the digits of "45 min", of "150 bpm" / "150 beats", of "85%",
// and "5:30" paces before "/km" or "/mi". A pace is kept whole, so an answer's
// digit runs ("5", "30") never match it: the users' rule, kept as it is.
std::set<std::string> context_numbers(std::string_view user_text);

// Checks `answer` (the coach's text) against `user_text` (the user turn it
// answered: message, CONTEXT, cards, [INTERPRETER]).
Grounding check_grounding(std::string_view user_text, std::string_view answer, bool strict = false);

json::Json to_json(const Grounding& grounding);

// Over many answers: per file PASS (no violations), WARN (no errors), FAIL.
struct GroundingSummary {
  size_t answers = 0, answers_with_violations = 0, errors = 0, warnings = 0;
  double score_sum = 0;
  void add(const Grounding& grounding);
  double mean_score() const { return answers ? score_sum / static_cast<double>(answers) : 1.0; }
  std::string status() const;
};

json::Json to_json(const GroundingSummary& summary);
// "grounding: 40 coach rows, 3 with violations (2 errors, 1 warnings), mean score 0.934: FAIL",
// `what` naming the things checked.
std::string summary_line(const GroundingSummary& summary, const std::string& what = "answers");

}  // namespace josi::scoring
