// The v6 release checks' scoring, without a model: the knowledge-fidelity
// rules on answers written to hit each criterion of the users' 31 cases and
// near-misses that must not (tests/unit/data/fidelity_answers.jsonl, whose
// expected failures Python's `re` and str.lower() computed), Python regex
// semantics on Unicode digits and word boundaries, and the grounding check
// rule by rule.
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/regex.hpp"
#include "check/fidelity_criteria.hpp"
#include "check/fidelity_eval.hpp"
#include "coach/prompt_builder.hpp"
#include "data/jsonl.hpp"
#include "json/json.hpp"
#include "knowledge/python_text.hpp"
#include "scoring/grounding.hpp"
#include "support/test_support.hpp"

using josi::base::Regex;
using josi::json::Json;
namespace check = josi::check;
namespace scoring = josi::scoring;
namespace fs = std::filesystem;

namespace {

fs::path users_criteria() { return josi::test::reference_v7("data/eval_knowledge_prompts.json"); }
fs::path test_data(const std::string& name) { return josi::test::source_dir() / "tests/unit/data" / name; }

const std::vector<check::FidelityCase>& users_cases() {
  static const auto cases = check::load_fidelity_cases(users_criteria());
  return cases;
}

const check::FidelityCase& case_named(const std::string& id) {
  for (const auto& c : users_cases())
    if (c.id == id) return c;
  throw std::runtime_error("no case " + id);
}

std::vector<std::string> rules_of(const scoring::Grounding& g) {
  std::vector<std::string> out;
  for (const auto& v : g.violations) out.push_back(v.rule);
  return out;
}

}  // namespace

TEST(Fidelity, TheUsersCasesLoad) {
  ASSERT_EQ(users_cases().size(), 31u);
  std::map<std::string, size_t> categories;
  for (const auto& c : users_cases()) ++categories[c.category];
  EXPECT_EQ(categories["zone_fidelity"], 10u);
  EXPECT_EQ(categories["readiness_gates"], 4u);
  EXPECT_EQ(categories["load_grounding"], 5u);
  EXPECT_EQ(categories["guardrails"], 2u);
}

// Every answer of the fixture fails exactly the rules Python's evaluation fails.
TEST(Fidelity, AnswersScoreAsThePythonReferenceScoresThem) {
  size_t rows = 0, passing = 0;
  for (const auto& record : josi::data::read_jsonl_strict(test_data("fidelity_answers.jsonl"))) {
    const auto& c = case_named(record.value.at("case").get<std::string>());
    const std::string answer = record.value.at("answer").get<std::string>();
    const auto expected = record.value.at("failures").get<std::vector<std::string>>();
    const auto score = check::score_answer(c, answer);
    EXPECT_EQ(score.failures, expected) << c.id << " line " << record.line << ": " << answer;
    EXPECT_EQ(score.passed(), expected.empty());
    const size_t rules = c.must_contain.size() + c.must_not_contain.size() + c.must_match_pattern.size() +
                         c.must_not_match_pattern.size();
    EXPECT_EQ(score.passes + score.failures.size(), rules);
    ++rows;
    passing += expected.empty();
  }
  EXPECT_GT(rows, 250u);
  EXPECT_GT(passing, 50u);
  EXPECT_LT(passing, rows);
}

TEST(Fidelity, CategoryThresholds) {
  check::CategoryStatus s{4, 5};
  EXPECT_EQ(s.status(), "PASS");  // 80 %
  s = {3, 5};
  EXPECT_EQ(s.status(), "WARN");  // 60 %
  s = {1, 2};
  EXPECT_EQ(s.status(), "WARN");  // 50 %
  s = {4, 10};
  EXPECT_EQ(s.status(), "FAIL");
  check::CaseScore none;
  EXPECT_DOUBLE_EQ(none.score(), 0.0);  // passes / max(checks, 1)
}

TEST(Fidelity, ReplayedAnswersEveryCasePasses) {
  const auto report = check::score_replayed_answers(users_criteria(), test_data("fidelity_replay_pass.jsonl"));
  EXPECT_EQ(report.passed(), 31u);
  EXPECT_EQ(report.status(), "PASS");
  EXPECT_TRUE(report.ok());
  const Json j = check::to_json(report);
  ASSERT_EQ(j.at("cases").size(), 31u);
  EXPECT_TRUE(j.at("cases")[0].at("passed").get<bool>());
  EXPECT_EQ(j.at("categories").at("zone_fidelity").at("status"), "PASS");
}

TEST(Fidelity, AMissingReplayedAnswerFailsItsCase) {
  josi::test::TempDir dir;
  const fs::path replay = dir / "one.jsonl";
  josi::base::write_file_atomic(replay, "{\"id\": \"guardrails/no_system_details\", \"answer\": \"Rest well.\"}\n");
  const auto report = check::score_replayed_answers(users_criteria(), replay);
  EXPECT_EQ(report.passed(), 1u);
  EXPECT_EQ(report.status(), "FAIL");
  for (const auto& c : report.cases)
    if (c.id != "guardrails/no_system_details") {
      EXPECT_EQ(c.score.failures.front(), "no answer in the replay file");
    }
}

TEST(Fidelity, BadFilesAreRefusedWithOneLine) {
  josi::test::TempDir dir;
  const auto refused = [&](const std::string& criteria, const std::string& replay, const std::string& needle) {
    const fs::path c = dir / "criteria.json", r = dir / "replay.jsonl";
    josi::base::write_file_atomic(c, criteria);
    josi::base::write_file_atomic(r, replay);
    try {
      check::score_replayed_answers(c, r);
      ADD_FAILURE() << "accepted: " << criteria << " / " << replay;
    } catch (const josi::Error& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find(needle), std::string::npos) << what;
      EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    }
  };
  const std::string one = R"([{"id": "a/b", "category": "a", "user_message": "Hi", "context": "- Sport: running",
                              "criteria": {"must_contain": ["x"]}}])";
  refused("{}", "", "expected a JSON array");
  refused("[", "", "criteria.json");
  refused("[]", "", "no cases");
  refused(R"([{"id": "a", "category": "a", "user_message": "Hi", "criteria": {"must_match_pattern": ["(unclosed"]}}])", "",
          "criteria.must_match_pattern[0]");
  refused(R"([{"id": "a", "category": "a", "user_message": "Hi", "criteria": {"must_have": []}}])", "", "unknown key");
  refused(R"([{"id": "a", "category": "a", "criteria": {}}])", "", "missing \"user_message\"");
  refused(one, "{\"id\": \"zz\", \"answer\": \"x\"}\n", "no case has the id");
  refused(one, "{\"id\": \"a/b\", \"answer\": 3}\n", "\"answer\": expected a string");
  refused(one, "{\"id\": \"a/b\", \"answer\": \"x\"}\n{\"id\": \"a/b\", \"answer\": \"y\"}\n", "a second answer");
  refused(one, "{\"id\": \"a/b\", \"answer\": \"x\"\n", "replay.jsonl:1");
  // A pattern that backtracks without end stops at PCRE2's match limit.
  refused(R"([{"id": "a/b", "category": "a", "user_message": "Hi", "criteria": {"must_not_match_pattern": ["(a+)+$"]}}])",
          "{\"id\": \"a/b\", \"answer\": \"" + std::string(40, 'a') + "b\"}\n", "case \"a/b\": pattern /(a+)+$/: ");
}

// The users' patterns are Python `re`: Unicode digits are \d, and a letter
// such as "é" is a word character, so there is no \b between it and a digit.
TEST(PythonRegex, UnicodeDigitsAndWordBoundaries) {
  const Regex python(R"(\b\d{2,3}\s*bpm)", Regex::caseless | Regex::python_unicode);
  const Regex ascii(R"(\b\d{2,3}\s*bpm)", Regex::caseless);
  EXPECT_TRUE(python.search("near \u0661\u0665\u0660 bpm"));   // Arabic-Indic digits
  EXPECT_FALSE(ascii.search("near \u0661\u0665\u0660 bpm"));
  EXPECT_TRUE(python.search("near \uff11\uff15\uff10 BPM"));   // full-width digits, any case
  EXPECT_FALSE(python.search("\u00e9150 bpm"));                // no boundary inside a word
  EXPECT_TRUE(ascii.search("\u00e9150 bpm"));                  // what PCRE2 does without UCP
  EXPECT_FALSE(python.search("1500bpm"));
  // `.` stops at a line break, as Python's does without DOTALL.
  const Regex within(R"(\baim\b.{0,20}\d{2,3}\s*bpm)", Regex::caseless | Regex::python_unicode);
  EXPECT_TRUE(within.search("Aim for 140 bpm"));
  EXPECT_FALSE(within.search("Aim\nfor 140 bpm"));
  // IGNORECASE folds the Kelvin sign and the long s as Python's does.
  EXPECT_TRUE(Regex("kms", Regex::caseless | Regex::python_unicode).search("\u212aM\u017f"));
}

TEST(PythonText, LowerIsStrLower) {
  using josi::knowledge::python_lower;
  EXPECT_EQ(python_lower("\u0130stanbul"), "i\u0307stanbul");
  EXPECT_EQ(python_lower("\u039f\u0394\u039f\u03a3 \u03a3\u0391\u03a3"), "\u03bf\u03b4\u03bf\u03c2 \u03c3\u03b1\u03c2");
  EXPECT_EQ(python_lower("\u03a3"), "\u03c3");
  EXPECT_EQ(python_lower("A\u03a3."), "a\u03c2.");
  EXPECT_EQ(python_lower("\u00c9T\u00c9"), "\u00e9t\u00e9");
  EXPECT_EQ(python_lower("\u01c5emal"), "\u01c6emal");
  EXPECT_EQ(python_lower("\u1e9e"), "\u00df");
  EXPECT_EQ(python_lower("\u212a"), "k");
  EXPECT_EQ(python_lower(std::string("a\xff" "B")), std::string("a\xff" "b"));  // a broken byte stays
}

TEST(Grounding, EachInventedNumberRuleAndItsNearMiss) {
  const std::string context = "What should I do?\n\nCONTEXT:\n- Readiness: Green (Productive)\n- Sport: running";
  const std::vector<std::pair<std::string, std::string>> hits = {
      {"Aim for roughly 145 bpm today.", "hr_target"},
      {"Keep your HR at 150 on the climbs.", "hr_value"},
      {"Somewhere in 130-145 bpm is fine.", "hr_range"},
      {"Run it at about 5:30 /km.", "pace_target"},
      {"That is 5:30 per mile.", "pace_value"},
      {"A pace of 5:30 suits you.", "pace_phrase"},
      {"Ride steady near 210 W.", "power_target"},
      {"Between 180 to 220 watts.", "power_range"},
      {"Complete 12 km easy.", "distance"},
      {"Do 6 x 800 on the track.", "intervals"},
      {"Work at 85% of threshold.", "intensity_percent"},
      {"Ride 150 km this week.", "weekly_volume"},
  };
  for (const auto& [answer, rule] : hits) {
    const auto g = scoring::check_grounding(context, answer);
    const auto rules = rules_of(g);
    EXPECT_NE(std::find(rules.begin(), rules.end(), rule), rules.end()) << answer;
    EXPECT_TRUE(g.invents_numbers()) << answer;
    EXPECT_GT(g.errors, 0u) << answer;
  }
  for (const std::string miss : {"Aim for an easy effort; your zones are in the app.", "Keep your HR low.",
                                 "Run at a pace that feels easy.", "Ride steady, not hard.", "Do a few strides.",
                                 "Work at threshold effort.", "Ride a little more this week.", "Aim\nfor 145 bpm."}) {
    const auto g = scoring::check_grounding(context, miss);
    EXPECT_FALSE(g.invents_numbers()) << miss << ": " << (g.violations.empty() ? "" : g.violations[0].rule);
  }
}

TEST(Grounding, NumbersTheContextHoldsAreNotInvented) {
  const std::string user = "Why 45 min?\n\nCONTEXT:\n- Session: Z2 45min at 140 bpm\n- Weekly load: 82%";
  EXPECT_EQ(scoring::context_numbers(user), (std::set<std::string>{"45", "140", "82", "Z2"}));
  EXPECT_TRUE(scoring::check_grounding(user, "Aim for 140 bpm, as planned.").violations.empty());
  EXPECT_FALSE(scoring::check_grounding(user, "Aim for 150 bpm, as planned.").violations.empty());
  EXPECT_TRUE(scoring::check_grounding(user, "Work at 82% of max today.").violations.empty());
  // The users' rule keeps a pace whole, so an answer's "5" and "30" never match it.
  const std::string pace = "Why?\n\nCONTEXT:\n- Session: Z3 at 5:30/km";
  EXPECT_EQ(scoring::context_numbers(pace), (std::set<std::string>{"5:30", "Z3"}));
  EXPECT_TRUE(scoring::check_grounding(pace, "Hold 5:30/km.").invents_numbers());
  // "Z2" is kept as the token: a bare 2 in the answer is not covered by it.
  EXPECT_EQ(scoring::context_numbers("Z2 and Z 3 and z4"), (std::set<std::string>{"Z2"}));
}

TEST(Grounding, PrescriptionsLeaksSignalsAndTheScore) {
  const std::string user = "Hi";
  auto g = scoring::check_grounding(user, "Here's your plan: easy days first.");
  EXPECT_EQ(rules_of(g), std::vector<std::string>{"here_is_plan"});
  EXPECT_EQ(g.warnings, 1u);
  EXPECT_EQ(g.errors, 0u);
  EXPECT_DOUBLE_EQ(g.score, 0.7);  // the score counts a prescription as an error
  g = scoring::check_grounding(user, "Here's your plan: easy days first.", true);
  EXPECT_EQ(g.errors, 1u);
  for (const auto& [answer, rule] : std::vector<std::pair<std::string, std::string>>{
           {"You should run for 3 more days.", "you_should"},
           {"I recommend 4 x hill sprints.", "recommend_sets"},
           {"Your session is: 5 x 3 minutes.", "session_is"},
           {"Your ACWR is high.", "engine_terms"},
           {"The interpreter thinks so.", "prompt_parts"},
           {"The algorithm moved it.", "system_voice"}})
    EXPECT_EQ(rules_of(scoring::check_grounding(user, answer)), std::vector<std::string>{rule}) << answer;
  for (const std::string clean : {"You should rest.", "Your CTLs are fine words", "A classic tempo run", "Interpret it freely."})
    EXPECT_TRUE(scoring::check_grounding(user, clean).violations.empty()) << clean;
  // Signals add 0.05 each, 0.2 at most; the score stays within [0, 1].
  g = scoring::check_grounding(user, "Check your zone overview: the engine knows your personal zones, based on your profile.");
  EXPECT_EQ(g.signals.size(), 5u);
  EXPECT_DOUBLE_EQ(g.score, 1.0);
  g = scoring::check_grounding(user, "The engine will adjust. Aim for 150 bpm. Do 5 x 400.");
  EXPECT_DOUBLE_EQ(g.score, 0.45);  // 1 - 0.3 * 2 + 0.05
  g = scoring::check_grounding(user, "Aim for 150 bpm, then 160 bpm, the algorithm and ACWR say. Do 5 x 400.");
  EXPECT_DOUBLE_EQ(g.score, 0.0);
}

TEST(Grounding, SummaryStatus) {
  scoring::GroundingSummary s;
  s.add(scoring::check_grounding("", "Easy does it."));
  EXPECT_EQ(s.status(), "PASS");
  s.add(scoring::check_grounding("", "Here's a workout: rest."));
  EXPECT_EQ(s.status(), "WARN");
  s.add(scoring::check_grounding("", "Aim for 150 bpm."));
  EXPECT_EQ(s.status(), "FAIL");
  EXPECT_EQ(s.answers_with_violations, 2u);
  EXPECT_NEAR(s.mean_score(), (1.0 + 0.7 + 0.7) / 3, 1e-9);
}

// A case's CONTEXT lines become the ChatContext the app would send, and the
// v6 layout writes them back.
TEST(Fidelity, CaseContextLinesBecomeAChatContext) {
  const auto context = check::context_of_case_lines(
      "- Readiness: amber (Accumulated)\n- Sport: cycling\n- Level: advanced\n- Age: 65\n- Phase: build\n"
      "- Meso position: deload\n- Session: Z2 Continuous 45min",
      "case");
  EXPECT_EQ(context.at("readiness").at("level"), "Yellow");
  EXPECT_EQ(context.at("readiness").at("state"), "Accumulated");
  EXPECT_EQ(josi::coach::context_block(context, josi::coach::PromptLayout::v6),
            "CONTEXT:\n- Readiness: Yellow (Accumulated)\n- Sport: cycling\n- Level: advanced\n- Age: 65\n- Phase: build\n"
            "- Meso position: deload\n- Session: Z2 Continuous 45min");
  EXPECT_THROW(check::context_of_case_lines("Sport running", "case"), josi::Error);
  const auto capped = check::context_of_case_lines("- Readiness: red (Overreached)\n- Max zone allowed: Z2\n- Age: sixty", "case");
  EXPECT_EQ(capped.at("grounding").at("max_zone_allowed"), "Z2");
  EXPECT_EQ(capped.at("grounding").at("extra_lines"), Json::array({"- Age: sixty"}));
  for (const auto& c : users_cases()) EXPECT_NO_THROW(check::context_of_case_lines(c.context, c.id));
}
