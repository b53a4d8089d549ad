// coach.md §6: the v3 LLMIntent parser, its repairs, validity rules and defaults,
// and the users' v3 data (train_v3.jsonl, val_v3.jsonl) run through it.
#include "coach/legacy_intent.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "json/python_dumps.hpp"
#include "json/schema.hpp"
#include "support/test_support.hpp"

using josi::coach::parse_legacy_intent;
using josi::json::Json;
using josi::json::python_dumps;

namespace {

const std::string kFull =
    R"({"intent": "question", "response_type": "ExplainWorkout", "message": "Today is Z2.", "source_cards": ["zone_physiology"], "guardrail_triggered": false, "guardrail_reason": null, "replan_request": null, "tool_call": null})";

std::string parsed(std::string_view raw) {
  auto v = parse_legacy_intent(raw);
  return v ? python_dumps(*v) : "nullopt";
}

}  // namespace

TEST(LegacyIntent, CleanOutput) {
  EXPECT_EQ(parsed(kFull), kFull);
  EXPECT_EQ(parsed("\n  " + kFull + "  \n"), kFull);
}

TEST(LegacyIntent, EmptyOrGarbage) {
  EXPECT_EQ(parsed(""), "nullopt");
  EXPECT_EQ(parsed(" \n\t "), "nullopt");
  EXPECT_EQ(parsed("not json at all"), "nullopt");
  EXPECT_EQ(parsed(R"({"intent": "invalid"})"), "nullopt");
  EXPECT_EQ(parsed("[" + kFull + "]"), kFull);  // not an object as a whole; the first {...} is
}

TEST(LegacyIntent, DefaultsAreAppendedInOrder) {
  EXPECT_EQ(parsed(R"({"intent": "general", "response_type": "Encouragement", "message": "Nice work.", "guardrail_triggered": false})"),
            R"({"intent": "general", "response_type": "Encouragement", "message": "Nice work.", "guardrail_triggered": false, "guardrail_reason": null, "replan_request": null, "tool_call": null, "source_cards": ["josi_explanations"]})");
  // Present values are kept; an empty or non-list source_cards is replaced in place.
  EXPECT_EQ(parsed(R"({"intent": "blocked", "response_type": "Decline", "message": "No.", "source_cards": [], "guardrail_triggered": true, "tool_call": {"tool": "replan", "args": {}}, "guardrail_reason": "i6_violation"})"),
            R"({"intent": "blocked", "response_type": "Decline", "message": "No.", "source_cards": ["josi_explanations"], "guardrail_triggered": true, "tool_call": {"tool": "replan", "args": {}}, "guardrail_reason": "i6_violation", "replan_request": null})");
  EXPECT_EQ(parse_legacy_intent(R"({"intent": "general", "response_type": "Encouragement", "message": "ok", "source_cards": "zone_physiology", "guardrail_triggered": false})")
                ->at("source_cards"),
            Json::array({"josi_explanations"}));
}

TEST(LegacyIntent, ValidityRules) {
  auto with = [](const std::string& key, const std::string& value) {
    Json v = Json::parse(kFull);
    if (value == "<absent>")
      v.erase(key);
    else
      v[key] = Json::parse(value);
    return parse_legacy_intent(v.dump()).has_value();
  };
  EXPECT_FALSE(with("intent", "<absent>"));
  EXPECT_FALSE(with("intent", R"("Question")"));
  EXPECT_FALSE(with("intent", R"(["question"])"));
  EXPECT_FALSE(with("response_type", "<absent>"));
  EXPECT_FALSE(with("response_type", R"("explainworkout")"));
  EXPECT_FALSE(with("message", "<absent>"));
  EXPECT_FALSE(with("message", R"("")"));
  EXPECT_FALSE(with("message", "42"));
  EXPECT_FALSE(with("guardrail_triggered", "<absent>"));
  EXPECT_FALSE(with("guardrail_triggered", R"("false")"));
  EXPECT_FALSE(with("guardrail_triggered", "0"));
  EXPECT_TRUE(with("message", R"(" ")"));
  EXPECT_TRUE(with("guardrail_triggered", "true"));
  EXPECT_TRUE(with("source_cards", "<absent>"));
  EXPECT_TRUE(with("extra", "1"));  // §6 checks the listed fields only
}

TEST(LegacyIntent, AllowedSetsAreTheSchemaEnums) {
  Json schema = Json::parse(josi::test::read_text(josi::test::source_dir() / "schemas" / "llm_intent.schema.json"));
  const auto& intents = schema.at("properties").at("intent").at("enum");
  const auto& types = schema.at("properties").at("response_type").at("enum");
  ASSERT_EQ(intents.size(), 8u);
  ASSERT_EQ(types.size(), 9u);
  for (const auto& intent : intents)
    for (const auto& type : types) {
      Json v = Json::parse(kFull);
      v["intent"] = intent;
      v["response_type"] = type;
      EXPECT_TRUE(parse_legacy_intent(v.dump())) << intent << " " << type;
    }
}

TEST(LegacyIntent, StringConcatenation) {
  const std::string raw =
      R"J({"intent": "question", "response_type": "ExplainWorkout", "message": "Z2 60min " + "Easy Aerobic" +  " (base phase)", "source_cards": ["session_rules"], "guardrail_triggered": false})J";
  auto v = parse_legacy_intent(raw);
  ASSERT_TRUE(v);
  EXPECT_EQ(v->at("message"), "Z2 60min Easy Aerobic (base phase)");
  // Across a line break as well.
  auto w = parse_legacy_intent(
      "{\"intent\": \"general\", \"response_type\": \"Encouragement\", \"message\": \"a\"\n  +\n\"b\", \"guardrail_triggered\": false}");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->at("message"), "ab");
}

TEST(LegacyIntent, SingleQuotedValues) {
  auto v = parse_legacy_intent(
      R"({'intent': 'question', 'response_type': 'ExplainZone', 'message': 'Zone 2 is easy.', 'source_cards': ['zone_physiology'], 'guardrail_triggered': false})");
  ASSERT_TRUE(v);
  EXPECT_EQ(python_dumps(*v),
            R"({"intent": "question", "response_type": "ExplainZone", "message": "Zone 2 is easy.", "source_cards": ["zone_physiology"], "guardrail_triggered": false, "guardrail_reason": null, "replan_request": null, "tool_call": null})");
  // Only after : , [ { -- an apostrophe inside a double-quoted message stays.
  auto w = parse_legacy_intent(
      R"(x {"intent": "general", "response_type": "Encouragement", "message": "Don't stop, you're close", "guardrail_triggered": false})");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->at("message"), "Don't stop, you're close");
}

TEST(LegacyIntent, SingleQuotesThenConcatenationOnTheCandidate) {
  // Single-quote repair creates "a" + "b" only after the first merge pass;
  // the last step merges it on the extracted candidate.
  auto v = parse_legacy_intent(
      R"({"intent": "general", "response_type": "Encouragement", "message":'Keep ' + "going", "guardrail_triggered": false})");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->at("message"), "Keep going");
}

TEST(LegacyIntent, FirstBalancedObject) {
  // Two objects: the first one wins.
  std::string second =
      R"({"intent": "general", "response_type": "WeeklyReview", "message": "Extra", "source_cards": ["zone_physiology"], "guardrail_triggered": false})";
  EXPECT_EQ(parsed(kFull + ",\n" + second), kFull);
  // Trailing and leading prose.
  EXPECT_EQ(parsed("Here you go: " + kFull + "\nSome trailing text"), kFull);
  // Braces and escaped quotes inside strings do not count.
  auto v = parse_legacy_intent(
      R"(x {"intent": "general", "response_type": "Encouragement", "message": "a } \" { b", "guardrail_triggered": false} y)");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->at("message"), "a } \" { b");
  // The first object is not a valid intent: no fallback to the second.
  EXPECT_EQ(parsed(R"({"intent": "invalid"} )" + kFull), "nullopt");
}

TEST(LegacyIntent, MissingClosingBraces) {
  std::string cut = kFull.substr(0, kFull.size() - 1);
  EXPECT_EQ(parsed(cut), kFull);
  auto v = parse_legacy_intent(
      R"({"intent": "replan", "response_type": "Decline", "message": "m", "guardrail_triggered": false, "tool_call": {"tool": "replan", "args": {)");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->at("tool_call").dump(), R"({"tool":"replan","args":{}})");
  // Cut inside a string: closing braces cannot help.
  EXPECT_EQ(parsed(R"({"intent": "general", "response_type": "Encouragement", "guardrail_triggered": false, "message": "Nice)"),
            "nullopt");
  // Cut after a dangling comma: not JSON even when closed.
  EXPECT_EQ(parsed(R"({"intent": "general", "response_type": "Encouragement", "message": "m", "guardrail_triggered": false,)"),
            "nullopt");
}

// ---- the users' v3 data ----

namespace {

std::vector<std::pair<int, std::string>> assistant_texts(const std::string& name) {
  std::ifstream in(josi::test::reference_data(name));
  std::vector<std::pair<int, std::string>> out;
  std::string text;
  int line = 0;
  while (std::getline(in, text)) {
    ++line;
    if (text.empty()) continue;
    Json record = Json::parse(text);
    for (const auto& m : record.at("messages"))
      if (m.at("role") == "assistant") out.emplace_back(line, m.at("content").get<std::string>());
  }
  return out;
}

}  // namespace

TEST(LegacyCorpus, EveryV3TargetIsAValidIntentUnchanged) {
  for (const auto& [name, expected_count] :
       std::vector<std::pair<std::string, size_t>>{{"val_v3.jsonl", 149}, {"train_v3.jsonl", 1263}}) {
    auto texts = assistant_texts(name);
    ASSERT_EQ(texts.size(), expected_count) << name;
    std::vector<int> rejected, changed, schema_invalid;
    for (const auto& [line, text] : texts) {
      auto v = parse_legacy_intent(text);
      if (!v) {
        rejected.push_back(line);
        continue;
      }
      if (*v != Json::parse(text)) changed.push_back(line);
      if (!josi::json::Schema::llm_intent().is_valid(*v)) schema_invalid.push_back(line);
    }
    // Inspected independently (jsonschema, and the §6 rules in Python): every
    // target is a complete, schema-valid intent with all eight keys.
    EXPECT_EQ(rejected, std::vector<int>{}) << name;
    EXPECT_EQ(changed, std::vector<int>{}) << name;
    EXPECT_EQ(schema_invalid, std::vector<int>{}) << name;
  }
}

TEST(LegacyCorpus, DamagedTargetsAreRepaired) {
  // The three small-model habits applied to real targets: the closing brace
  // cut off, the message split into a concatenation, trailing chatter.
  size_t repaired = 0;
  for (const auto& [line, text] : assistant_texts("val_v3.jsonl")) {
    Json expected = Json::parse(text);
    std::string message = expected.at("message").get<std::string>();
    ASSERT_GT(message.size(), 2u);

    EXPECT_EQ(parse_legacy_intent(text.substr(0, text.size() - 1)), expected) << line;

    Json split = expected;
    split["message"] = "@@SPLIT@@";
    size_t cut = message.size() / 2;
    while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;  // not inside a UTF-8 sequence
    std::string half = message.substr(0, cut);
    std::string rest = message.substr(cut);
    std::string raw = split.dump();
    raw.replace(raw.find("\"@@SPLIT@@\""), 11, Json(half).dump() + " + " + Json(rest).dump());
    bool has_quote = message.find('"') != std::string::npos;  // the merge is quote-naive
    if (!has_quote) {
      EXPECT_EQ(parse_legacy_intent(raw), expected) << line << " " << raw;
    }

    EXPECT_EQ(parse_legacy_intent(text + "\nI hope this helps! {\"intent\": \"x\"}"), expected) << line;
    ++repaired;
  }
  EXPECT_EQ(repaired, 149u);
}
