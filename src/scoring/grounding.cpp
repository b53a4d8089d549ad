#include "scoring/grounding.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "base/regex.hpp"

namespace josi::scoring {

namespace {

using base::Regex;

struct Rule {
  const char* name;
  Regex pattern;
};

Regex python(const char* pattern) { return Regex(pattern, Regex::caseless | Regex::python_unicode); }

// Training numbers the engine sets, written into an answer.
const std::vector<Rule>& invented_number_rules() {
  static const std::vector<Rule> rules = [] {
    std::vector<Rule> r;
    r.push_back({"hr_target", python(R"(\b(?:aim|keep|target|hold|stay|maintain)\b.{0,20}?\b\d{2,3}\s*(?:bpm|beats|heartbeats|HR)\b)")});
    r.push_back({"hr_value", python(R"(\bHR\s+(?:of|at|around|between|should\s+be)\s+\d{2,3})")});
    r.push_back({"hr_range", python(R"(\b\d{2,3}\s*(?:to|-)\s*\d{2,3}\s*bpm)")});
    r.push_back({"pace_target", python(R"(\b(?:run|aim|go|hold|target)\b.{0,20}?\d:\d{2}\s*/\s*(?:km|mi)\b)")});
    r.push_back({"pace_value", python(R"(\b\d:\d{2}\s*(?:per\s+|/\s*)(?:km|mi|kilometer|mile)\b)")});
    r.push_back({"pace_phrase", python(R"(\bpace\s+(?:of|at|around)\s+\d:\d{2})")});
    r.push_back({"power_target", python(R"(\b(?:ride|aim|hold|target|do)\b.{0,20}?\b\d{2,3}\s*(?:W|watts|watt)\b)")});
    r.push_back({"power_range", python(R"(\b\d{2,3}\s*(?:to|-)\s*\d{2,3}\s*(?:W|watts|watt)\b)")});
    r.push_back({"distance", python(R"(\b(?:run|do|complete)\s+\d+\s*(?:km|mi|kilometers|miles)\b)")});
    r.push_back({"intervals", python(R"(\bdo\s+\d+\s*x\s*\d+)")});
    r.push_back({"intensity_percent", python(R"(\bat\s+\d{2,3}%\s*(?:max|of|FTP|threshold))")});
    r.push_back({"weekly_volume", python(R"(\b(?:run|ride|do|aim\s+for)\s+\d{2,3}\s*(?:km|mi|hours?)\s+(?:this|per|a)\s+week)")});
    return r;
  }();
  return rules;
}

// A workout written by the coach, which only the engine writes.
const std::vector<Rule>& prescription_rules() {
  static const std::vector<Rule> rules = [] {
    std::vector<Rule> r;
    r.push_back({"you_should", python(R"(\byou\s+should\s+(?:run|ride|do|train|go)\s+(?:at|for)\s+\d)")});
    r.push_back({"recommend_sets", python(R"(\b(?:I\s+recommend|I\s+suggest|try\s+doing|you\s+need\s+to\s+do)\s+\d+\s*x)")});
    r.push_back({"session_is", python(R"(\byour\s+(?:workout|session)\s+(?:should\s+be|is|will\s+be)\s*:?\s*\d+\s*x)")});
    r.push_back({"here_is_plan", python(R"(\bhere(?:'s|s)?\s+(?:your|the|a)\s+(?:workout|plan)\s*:)")});
    return r;
  }();
  return rules;
}

// The machinery behind the coach, which the athlete never sees.
const std::vector<Rule>& system_leak_rules() {
  static const std::vector<Rule> rules = [] {
    std::vector<Rule> r;
    r.push_back({"engine_terms", python(R"(\b(?:GATC|Viterbi|HMM|ACWR|EWMA|TSS|CTL|ATL|TSB)\b)")});
    r.push_back({"prompt_parts", python(R"(\b(?:knowledge\s+card|knowledge\s+block|interpreter|GATCRequest))")});
    r.push_back({"system_voice", python(R"(\b(?:the\s+algorithm|my\s+programming|the\s+system\s+says|decided|classified)\b)")});
    return r;
  }();
  return rules;
}

// Pointing the athlete to their own numbers and the engine: what a grounded answer does.
const std::vector<Rule>& signal_rules() {
  static const std::vector<Rule> rules = [] {
    std::vector<Rule> r;
    r.push_back({"check_your", python(R"(\bcheck\s+(?:your|the)\s+(?:app|zones?|profile|settings|overview)\b)")});
    r.push_back({"engine_will", python(R"(\b(?:the\s+)?engine\s+(?:will|has|knows|designed|set))")});
    r.push_back({"your_numbers", python(R"(\byour\s+(?:personal|specific|individual)\s+(?:zones?|targets?|numbers?)\b)")});
    r.push_back({"app_places", python(R"(\b(?:zone\s+overview|zone\s+settings|profile|weekly\s+overview)\b)")});
    r.push_back({"depends", python(R"(\b(?:depends\s+on|based\s+on|specific\s+to\s+your)\b)")});
    return r;
  }();
  return rules;
}

void add_all(std::set<std::string>& into, const Regex& pattern, std::string_view text) {
  for (const auto& m : pattern.find_all(text))
    into.insert(m.groups.at(0).value_or(std::string(text.substr(m.begin, m.end - m.begin))));
}

// The digit runs of a match (\d+, Unicode digits included, as Python's).
std::vector<std::string> digit_runs(std::string_view text) {
  static const Regex digits(R"(\d+)", Regex::python_unicode);
  std::vector<std::string> runs;
  for (const auto& m : digits.find_all(text)) runs.emplace_back(text.substr(m.begin, m.end - m.begin));
  return runs;
}

double round2(double x) { return std::round(x * 100.0) / 100.0; }

}  // namespace

std::string_view kind_name(ViolationKind kind) {
  switch (kind) {
    case ViolationKind::invented_number: return "invented_number";
    case ViolationKind::prescription: return "prescription";
    case ViolationKind::system_leak: return "system_leak";
  }
  return "";
}

bool Grounding::invents_numbers() const {
  return std::any_of(violations.begin(), violations.end(),
                     [](const Violation& v) { return v.kind == ViolationKind::invented_number; });
}

std::set<std::string> context_numbers(std::string_view user_text) {
  static const Regex zone(R"((Z\d))", Regex::python_unicode);
  static const Regex minutes(R"((\d+)\s*min)", Regex::python_unicode);
  static const Regex heart_rate(R"((\d{2,3})\s*(?:bpm|beats))", Regex::python_unicode);
  static const Regex pace(R"((\d:\d{2})\s*/(?:km|mi))", Regex::python_unicode);
  static const Regex percent(R"((\d{2,3})%)", Regex::python_unicode);
  std::set<std::string> numbers;
  for (const Regex* pattern : {&zone, &minutes, &heart_rate, &pace, &percent}) add_all(numbers, *pattern, user_text);
  return numbers;
}

Grounding check_grounding(std::string_view user_text, std::string_view answer, bool strict) {
  Grounding g;
  const auto known = context_numbers(user_text);
  const auto matched = [&](const base::RegexMatch& m) { return std::string(answer.substr(m.begin, m.end - m.begin)); };
  for (const auto& rule : invented_number_rules()) {
    for (const auto& m : rule.pattern.find_all(answer)) {
      const auto runs = digit_runs(matched(m));
      const bool covered = std::all_of(runs.begin(), runs.end(), [&](const std::string& run) { return known.count(run) > 0; });
      if (!covered) g.violations.push_back({ViolationKind::invented_number, rule.name, matched(m), true});
    }
  }
  for (const auto& rule : prescription_rules())
    for (const auto& m : rule.pattern.find_all(answer))
      g.violations.push_back({ViolationKind::prescription, rule.name, matched(m), strict});
  for (const auto& rule : system_leak_rules())
    for (const auto& m : rule.pattern.find_all(answer))
      g.violations.push_back({ViolationKind::system_leak, rule.name, matched(m), true});
  for (const auto& rule : signal_rules())
    if (rule.pattern.search(answer)) g.signals.push_back(rule.name);
  for (const auto& v : g.violations) ++(v.error ? g.errors : g.warnings);
  // The score is the strict one: every violation, prescriptions included, costs 0.3.
  const double bonus = std::min(0.05 * static_cast<double>(g.signals.size()), 0.2);
  g.score = round2(std::clamp(1.0 - 0.3 * static_cast<double>(g.violations.size()) + bonus, 0.0, 1.0));
  return g;
}

json::Json to_json(const Grounding& g) {
  json::Json violations = json::Json::array();
  for (const auto& v : g.violations)
    violations.push_back({{"kind", kind_name(v.kind)}, {"rule", v.rule}, {"text", v.text}, {"error", v.error}});
  return {{"score", g.score},          {"errors", g.errors},   {"warnings", g.warnings},
          {"invents_numbers", g.invents_numbers()}, {"violations", violations}, {"signals", g.signals}};
}

void GroundingSummary::add(const Grounding& g) {
  ++answers;
  answers_with_violations += !g.violations.empty();
  errors += g.errors;
  warnings += g.warnings;
  score_sum += g.score;
}

std::string GroundingSummary::status() const {
  if (answers_with_violations == 0) return "PASS";
  return errors == 0 ? "WARN" : "FAIL";
}

json::Json to_json(const GroundingSummary& s) {
  return {{"answers", s.answers},   {"answers_with_violations", s.answers_with_violations},
          {"errors", s.errors},     {"warnings", s.warnings},
          {"mean_score", std::round(s.mean_score() * 1000.0) / 1000.0}, {"status", s.status()}};
}

std::string summary_line(const GroundingSummary& s, const std::string& what) {
  return fmt::format("grounding: {} {}, {} with violations ({} errors, {} warnings), mean score {:.3f}: {}", s.answers, what,
                     s.answers_with_violations, s.errors, s.warnings, s.mean_score(), s.status());
}

}  // namespace josi::scoring
