#include "check/fidelity_eval.hpp"

#include <iostream>

#include "base/error.hpp"
#include "base/strings.hpp"
#include "runtime/coach.hpp"

namespace josi::check {

namespace fs = std::filesystem;
using json::Json;

namespace {

// "green (Productive)" -> {"level": "Green", "state": "Productive"}; the
// state only when it is one the ChatContext knows.
void set_readiness(Json& readiness, const std::string& value) {
  const std::string lowered = base::to_lower_ascii(value);
  const auto starts = [&](const char* word) { return lowered.rfind(word, 0) == 0; };
  if (starts("green")) readiness["level"] = "Green";
  else if (starts("yellow") || starts("amber")) readiness["level"] = "Yellow";
  else if (starts("orange")) readiness["level"] = "Orange";
  else if (starts("red")) readiness["level"] = "Red";
  const auto open = value.find('('), close = value.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return;
  const std::string state = value.substr(open + 1, close - open - 1);
  for (const char* known : {"Recovered", "Productive", "Accumulated", "Overreached", "IllnessRisk"})
    if (state == known) readiness["state"] = state;
}

bool is_zone(const std::string& s) {
  return s == "R" || (s.size() == 2 && s[0] == 'Z' && s[1] >= '1' && s[1] <= '8');
}

bool all_digits(const std::string& s) { return !s.empty() && s.size() <= 3 && s.find_first_not_of("0123456789") == std::string::npos; }

// A case's answer: the reply the athlete got, checked for grounding against
// the coach's user turn (the turn's own check) or, when the coach did not
// answer, against the case's message and context.
void take_reply(const runtime::TurnResult& turn, CaseResult& result, const std::string& case_turn) {
  result.answer = turn.reply.value_or("");
  result.grounding = turn.grounding ? *turn.grounding : scoring::check_grounding(case_turn, result.answer);
}

}  // namespace

Json context_of_case_lines(const std::string& lines, const std::string& where) {
  Json context = {{"athlete_id", "fidelity-eval"},
                  {"tier", "coach"},
                  {"mode", "coach"},
                  {"persona_id", "balanced"},
                  {"today", "2026-01-05"},
                  {"readiness", {{"state", "Productive"}, {"confidence", 0.0}, {"level", "Green"}, {"data_tier", "None"}}},
                  {"has_session_context", false},
                  {"history", Json::array()},
                  {"profile_summary", Json::object()}};
  Json grounding = Json::object();
  Json extra = Json::array();
  size_t start = 0;
  while (start <= lines.size()) {
    size_t end = lines.find('\n', start);
    if (end == std::string::npos) end = lines.size();
    const std::string line(base::trim(std::string_view(lines).substr(start, end - start)));
    start = end + 1;
    if (line.empty()) continue;
    const auto colon = line.find(": ");
    if (line.rfind("- ", 0) != 0 || colon == std::string::npos)
      throw Error(where + ": context line " + base::quoted(line) + " is not \"- Name: value\"");
    const std::string name = line.substr(2, colon - 2), value = line.substr(colon + 2);
    if (name == "Readiness") set_readiness(context["readiness"], value);
    else if (name == "Sport") context["profile_summary"]["sport"] = value;
    else if (name == "Level") context["profile_summary"]["level"] = value;
    else if (name == "Age" && all_digits(value) && std::stoi(value) >= 1 && std::stoi(value) <= 120) grounding["age"] = std::stoi(value);
    else if (name == "Max zone allowed" && is_zone(value)) grounding["max_zone_allowed"] = value;
    else if (name == "Phase") grounding["phase"] = value;
    else if (name == "Meso position") grounding["meso_position"] = value;
    else if (name == "Zone cap reason") grounding["zone_cap_reason"] = value;
    else if (name == "Weekly load") grounding["weekly_load"] = value;
    else if (extra.size() < 10) extra.push_back(line);
    else throw Error(where + ": more than 10 context lines the ChatContext has no field for");
  }
  if (!extra.empty()) grounding["extra_lines"] = extra;
  if (!grounding.empty()) context["grounding"] = grounding;
  return context;
}

FidelityReport score_replayed_answers(const fs::path& criteria, const fs::path& replay) {
  const auto cases = load_fidelity_cases(criteria);
  const auto answers = load_replay_answers(replay, cases);
  FidelityReport report;
  report.criteria = criteria.string();
  report.source = replay.string();
  for (const auto& c : cases) {
    CaseResult r{c.id, c.category, "", {}, {}};
    const auto it = answers.find(c.id);
    if (it != answers.end()) r.answer = it->second;
    r.score = score_answer(c, r.answer);
    if (it == answers.end()) r.fail_unanswered("no answer in the replay file");
    r.grounding = scoring::check_grounding(case_user_turn(c), r.answer);
    report.add(std::move(r));
  }
  return report;
}

FidelityReport run_fidelity_eval(const FidelityEvalOptions& o) {
  const auto cases = load_fidelity_cases(o.criteria);
  std::vector<runtime::TurnInput> turns;  // every case's turn checked before the model loads
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const std::string where = o.criteria.string() + ": case " + base::quoted(c.id);
    const Json input = {{"message", c.user_message},
                        {"context", context_of_case_lines(c.context, where)},
                        {"options", {{"seed", o.seed + i}}}};
    try {
      turns.push_back(runtime::parse_turn(input));
    } catch (const Error& e) {
      throw Error(where + ": " + e.what());
    }
  }
  runtime::CoachOptions co;
  co.interpreter_model = o.model;
  co.interpreter_adapter = o.adapter;
  co.explainer_model = o.explainer_model;
  co.explainer_adapter = o.explainer_model.empty() && o.explainer_adapter.empty() ? o.adapter : o.explainer_adapter;
  co.knowledge = o.knowledge;
  co.preset = o.preset;
  co.threads = o.threads;
  co.kv_type = o.kv_type;
  runtime::Coach coach(co);
  FidelityReport report;
  report.criteria = o.criteria.string();
  const auto named = [](const fs::path& model, const fs::path& adapter) {
    return model.string() + (adapter.empty() ? "" : " + " + adapter.string());
  };
  report.source = named(o.model, o.adapter);
  if (!o.explainer_model.empty() || !o.explainer_adapter.empty())
    report.source += ", coach " + named(o.explainer_model.empty() ? o.model : o.explainer_model, co.explainer_adapter);
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& c = cases[i];
    const auto turn = coach.run(turns[i]);
    CaseResult r{c.id, c.category, "", {}, {}};
    take_reply(turn, r, case_user_turn(c));
    r.score = score_answer(c, r.answer);
    if (!turn.explainer)
      r.fail_unanswered("no coach answer: the interpreter chose " +
                        (turn.action.empty() ? std::string("nothing valid") : turn.action) + " (route " + turn.route + ")");
    if (o.progress)
      std::cerr << "eval: " << i + 1 << "/" << cases.size() << " " << c.id << ": " << (r.score.passed() ? "pass" : "fail")
                << "\n";
    report.add(std::move(r));
  }
  return report;
}

}  // namespace josi::check
