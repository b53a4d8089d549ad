#include "check/fidelity_criteria.hpp"

#include <fmt/format.h>

#include <set>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/regex.hpp"
#include "base/strings.hpp"
#include "data/jsonl.hpp"
#include "knowledge/python_text.hpp"

namespace josi::check {

namespace fs = std::filesystem;
using json::Json;

namespace {

constexpr size_t kMaxCriteriaBytes = 16u << 20;

const std::set<std::string>& case_keys() {
  static const std::set<std::string> keys = {"id", "category", "card_id", "rule_id", "description",
                                             "user_message", "context", "criteria"};
  return keys;
}

const char* const kRuleLists[] = {"must_contain", "must_not_contain", "must_match_pattern", "must_not_match_pattern"};

base::Regex python_pattern(const std::string& pattern) {
  return base::Regex(pattern, base::Regex::caseless | base::Regex::python_unicode);
}

// One case from its JSON; throws naming `where` and the key.
FidelityCase read_case(const Json& c, const std::string& where) {
  if (!c.is_object()) throw Error(where + ": expected an object, got " + json::type_name(c));
  for (const auto& [key, _] : c.items())
    if (!case_keys().count(key)) throw Error(where + ": unknown key " + base::quoted(key));
  const auto text = [&](const char* key, bool required) {
    const auto it = c.find(key);
    if (it == c.end()) {
      if (required) throw Error(where + ": missing \"" + key + "\"");
      return std::string();
    }
    if (!it->is_string()) throw Error(where + ": \"" + key + "\": expected a string, got " + json::type_name(*it));
    return it->get<std::string>();
  };
  FidelityCase out;
  out.id = text("id", true);
  if (out.id.empty()) throw Error(where + ": \"id\" is empty");
  out.category = text("category", true);
  if (out.category.empty()) throw Error(where + ": \"category\" is empty");
  out.card_id = text("card_id", false);
  out.rule_id = text("rule_id", false);
  out.description = text("description", false);
  out.user_message = text("user_message", true);
  if (base::trim(out.user_message).empty()) throw Error(where + ": \"user_message\" is empty");
  out.context = text("context", false);
  const auto criteria = c.find("criteria");
  if (criteria == c.end() || !criteria->is_object()) throw Error(where + ": \"criteria\": expected an object");
  std::vector<std::string>* lists[] = {&out.must_contain, &out.must_not_contain, &out.must_match_pattern,
                                       &out.must_not_match_pattern};
  for (const auto& [key, _] : criteria->items())
    if (std::find(std::begin(kRuleLists), std::end(kRuleLists), key) == std::end(kRuleLists))
      throw Error(where + ": criteria: unknown key " + base::quoted(key));
  for (size_t k = 0; k < 4; ++k) {
    const auto it = criteria->find(kRuleLists[k]);
    if (it == criteria->end()) continue;
    if (!it->is_array()) throw Error(where + ": criteria." + kRuleLists[k] + ": expected an array");
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& rule = (*it)[i];
      const std::string at = where + ": criteria." + kRuleLists[k] + "[" + std::to_string(i) + "]";
      if (!rule.is_string() || rule.get<std::string>().empty()) throw Error(at + ": expected a non-empty string");
      if (k >= 2) {
        try {
          python_pattern(rule.get<std::string>());
        } catch (const Error& e) {
          throw Error(at + ": " + e.what());
        }
      }
      lists[k]->push_back(rule.get<std::string>());
    }
  }
  return out;
}

// Text in a failure line: in double quotes, as written (UTF-8), control
// characters as spaces so the line stays one line.
std::string in_quotes(std::string_view text) {
  std::string s(text);
  for (char& ch : s)
    if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
  return "\"" + s + "\"";
}

}  // namespace

std::vector<FidelityCase> load_fidelity_cases(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) throw Error(path.string() + ": cannot read: " + ec.message(), ExitCode::io);
  if (size > kMaxCriteriaBytes)
    throw Error(path.string() + ": " + std::to_string(size) + " bytes; a criteria file is at most 16 MiB");
  const Json root = json::parse(base::read_file(path), path.string());
  if (!root.is_array()) throw Error(path.string() + ": expected a JSON array of cases, got " + json::type_name(root));
  if (root.empty()) throw Error(path.string() + ": no cases");
  std::vector<FidelityCase> cases;
  std::set<std::string> ids;
  for (size_t i = 0; i < root.size(); ++i) {
    auto c = read_case(root[i], path.string() + ": case " + std::to_string(i));
    if (!ids.insert(c.id).second) throw Error(path.string() + ": case " + base::quoted(c.id) + " appears twice");
    cases.push_back(std::move(c));
  }
  return cases;
}

double CaseScore::score() const {
  const size_t checks = passes + failures.size();
  return static_cast<double>(passes) / static_cast<double>(checks ? checks : 1);
}

CaseScore score_answer(const FidelityCase& c, const std::string& answer) {
  CaseScore s;
  const std::string lowered = knowledge::python_lower(answer);
  const auto contains = [&](const std::string& needle) { return lowered.find(knowledge::python_lower(needle)) != std::string::npos; };
  for (const auto& needle : c.must_contain) {
    if (contains(needle)) ++s.passes;
    else s.failures.push_back("must_contain " + in_quotes(needle));
  }
  for (const auto& needle : c.must_not_contain) {
    if (!contains(needle)) ++s.passes;
    else s.failures.push_back("must_not_contain " + in_quotes(needle));
  }
  // A pattern that backtracks past PCRE2's match limit fails the run, naming the case.
  const auto find = [&](const std::string& pattern) {
    try {
      return python_pattern(pattern).find(answer);
    } catch (const Error& e) {
      throw Error("case " + base::quoted(c.id) + ": pattern /" + pattern + "/: " + e.what());
    }
  };
  for (const auto& pattern : c.must_match_pattern) {
    if (find(pattern)) ++s.passes;
    else s.failures.push_back("must_match_pattern /" + pattern + "/");
  }
  for (const auto& pattern : c.must_not_match_pattern) {
    if (const auto m = find(pattern))
      s.failures.push_back("must_not_match_pattern /" + pattern + "/: " +
                           in_quotes(std::string_view(answer).substr(m->begin, m->end - m->begin)));
    else ++s.passes;
  }
  return s;
}

std::string case_user_turn(const FidelityCase& c) {
  return c.context.empty() ? c.user_message : c.user_message + "\n\nCONTEXT:\n" + c.context;
}

std::string CategoryStatus::status() const {
  const double pct = percent();
  return pct >= 80.0 ? "PASS" : pct >= 50.0 ? "WARN" : "FAIL";
}

size_t FidelityReport::passed() const {
  size_t n = 0;
  for (const auto& c : cases) n += c.score.passed();
  return n;
}

std::string FidelityReport::status() const {
  if (categories.empty()) return "FAIL";
  std::string worst = "PASS";
  for (const auto& [_, c] : categories) {
    const std::string s = c.status();
    if (s == "FAIL") return s;
    if (s == "WARN") worst = s;
  }
  return worst;
}

void FidelityReport::add(CaseResult result) {
  auto& category = categories[result.category];
  ++category.total;
  category.passed += result.score.passed();
  grounding.add(result.grounding);
  cases.push_back(std::move(result));
}

std::map<std::string, std::string> load_replay_answers(const fs::path& path, const std::vector<FidelityCase>& cases) {
  std::set<std::string> known;
  for (const auto& c : cases) known.insert(c.id);
  std::map<std::string, std::string> answers;
  for (const auto& record : data::read_jsonl_strict(path)) {
    const std::string where = path.string() + ":" + std::to_string(record.line);
    const Json& row = record.value;
    if (!row.is_object()) throw Error(where + ": expected an object {\"id\", \"answer\"}, got " + json::type_name(row));
    for (const auto& [key, _] : row.items())
      if (key != "id" && key != "answer") throw Error(where + ": unknown key " + base::quoted(key));
    const auto id = row.find("id");
    const auto answer = row.find("answer");
    if (id == row.end() || !id->is_string()) throw Error(where + ": \"id\": expected a string");
    if (answer == row.end() || !answer->is_string()) throw Error(where + ": \"answer\": expected a string");
    const std::string name = id->get<std::string>();
    if (!known.count(name)) throw Error(where + ": no case has the id " + base::quoted(name));
    if (!answers.emplace(name, answer->get<std::string>()).second)
      throw Error(where + ": a second answer for " + base::quoted(name));
  }
  return answers;
}

Json to_json(const FidelityReport& r) {
  Json cases = Json::array();
  for (const auto& c : r.cases) {
    Json one = {{"id", c.id},           {"category", c.category},       {"passed", c.score.passed()},
                {"failures", c.score.failures}, {"score", c.score.score()}, {"answer", c.answer},
                {"grounding", scoring::to_json(c.grounding)}};
    cases.push_back(std::move(one));
  }
  Json categories = Json::object();
  for (const auto& [name, c] : r.categories)
    categories[name] = {{"passed", c.passed}, {"total", c.total}, {"percent", c.percent()}, {"status", c.status()}};
  return {{"criteria", r.criteria}, {"source", r.source},     {"passed", r.passed()},
          {"total", r.cases.size()}, {"status", r.status()}, {"pass", r.ok()},
          {"categories", categories}, {"grounding", scoring::to_json(r.grounding)}, {"cases", cases}};
}

std::string to_table(const FidelityReport& r) {
  std::string out = fmt::format("knowledge fidelity: {} on {}\n", r.criteria, r.source);
  out += fmt::format("{:<44} {:<6} {}\n", "case", "pass", "failures");
  for (const auto& c : r.cases) {
    std::string failures;
    for (const auto& f : c.score.failures) failures += (failures.empty() ? "" : "; ") + f;
    out += fmt::format("{:<44} {:<6} {}\n", c.id, c.score.passed() ? "yes" : "NO", failures);
  }
  out += fmt::format("\n{:<24} {:>8} {:>8} {}\n", "category", "passed", "percent", "status");
  for (const auto& [name, c] : r.categories)
    out += fmt::format("{:<24} {:>8} {:>7.0f}% {}\n", name, fmt::format("{}/{}", c.passed, c.total), c.percent(), c.status());
  out += scoring::summary_line(r.grounding) + "\n";
  out += fmt::format("fidelity {}/{} cases: {}\n", r.passed(), r.cases.size(), r.status());
  return out;
}

}  // namespace josi::check
