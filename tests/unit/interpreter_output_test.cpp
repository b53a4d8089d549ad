// coach.md §3 "Parsing": fences, whole text, outer braces, truncation repair.
#include "coach/interpreter_output.hpp"

#include <gtest/gtest.h>

using josi::coach::parse_interpreter_output;
using josi::json::Json;

namespace {
std::string dump(const std::optional<Json>& v) { return v ? v->dump() : "nullopt"; }
}  // namespace

TEST(InterpreterOutput, PlainObject) {
  auto v = parse_interpreter_output(R"(  {"action": "explain", "free_text": "x"}  )");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->dump(), R"({"action":"explain","free_text":"x"})");
}

TEST(InterpreterOutput, KeepsKeyOrder) {
  auto v = parse_interpreter_output(R"({"free_text": "x", "action": "explain", "b": 1, "a": 2})");
  EXPECT_EQ(dump(v), R"({"free_text":"x","action":"explain","b":1,"a":2})");
}

TEST(InterpreterOutput, Step1StripsFences) {
  EXPECT_EQ(dump(parse_interpreter_output("```json\n{\"action\": \"explain\"}\n```")), R"({"action":"explain"})");
  EXPECT_EQ(dump(parse_interpreter_output("\n  ```\n{\"action\": \"explain\"}\n  ```  \n")), R"({"action":"explain"})");
  // Every fence line goes, even one in the middle: without step 1 only the
  // part before it would survive (via truncation repair).
  auto v = parse_interpreter_output("```json\n{\"action\": \"explain\",\n```\n\"free_text\": \"x\"}\n```");
  EXPECT_EQ(dump(v), R"({"action":"explain","free_text":"x"})");
}

TEST(InterpreterOutput, Step1OnlyWhenTextStartsWithAFence) {
  // Not starting with ``` : the fence line stays, so the whole text does not
  // parse and the outer-brace span (which includes the fence) fails too;
  // truncation repair keeps what comes before the last comma.
  auto v = parse_interpreter_output("{\"action\": \"explain\",\n```\n\"free_text\": \"x\"}");
  EXPECT_EQ(dump(v), R"({"action":"explain"})");
  // A fence inside a string value is not a fence line.
  EXPECT_EQ(dump(parse_interpreter_output("```\n{\"free_text\": \"```\"}\n```")), R"({"free_text":"```"})");
}

TEST(InterpreterOutput, Step2NonObjectIsAFailure) {
  EXPECT_EQ(dump(parse_interpreter_output(R"([{"action": "explain"}])")), "nullopt");
  EXPECT_EQ(dump(parse_interpreter_output(R"("{\"action\": \"explain\"}")")), "nullopt");
  EXPECT_EQ(dump(parse_interpreter_output("42")), "nullopt");
  EXPECT_EQ(dump(parse_interpreter_output("null")), "nullopt");
  EXPECT_EQ(dump(parse_interpreter_output("```json\n[1]\n```")), "nullopt");
}

TEST(InterpreterOutput, Step3OuterBraces) {
  auto v = parse_interpreter_output("Sure! Here it is: {\"action\": \"explain\", \"c\": {\"d\": 1}} Hope that helps.");
  EXPECT_EQ(dump(v), R"({"action":"explain","c":{"d":1}})");
  EXPECT_EQ(dump(parse_interpreter_output("Here:\n```json\n{\"action\": \"replan\"}\n```")), R"({"action":"replan"})");
}

TEST(InterpreterOutput, Step3SpanIsFirstOpenToLastClose) {
  // Two objects: the span between them is not JSON, and repair cannot help
  // (the only '{' after the first one closes to an unbalanced text).
  EXPECT_EQ(dump(parse_interpreter_output(R"({"a": 1} and {"b": 2})")), "nullopt");
  // A stray '}' after the object breaks the span; repair then drops the last member.
  EXPECT_EQ(dump(parse_interpreter_output(R"({"a": 1, "b": 2} }})")), R"({"a":1})");
}

TEST(InterpreterOutput, Step4TruncationRepair) {
  EXPECT_EQ(dump(parse_interpreter_output(R"({"action": "explain", "free_text": "What is Zo)")),
            R"({"action":"explain"})");
  // A comma inside the cut string is tried first and fails.
  EXPECT_EQ(dump(parse_interpreter_output(R"({"action": "explain", "free_text": "hi, there, a)")),
            R"({"action":"explain"})");
  // Cut inside a nested object: only one '}' is added, so candidates inside
  // the nested object stay unbalanced; the comma before it wins.
  EXPECT_EQ(dump(parse_interpreter_output(R"(xx {"action": "create_workout", "sport": "run", "constraints": {"inj)")),
            R"({"action":"create_workout","sport":"run"})");
  EXPECT_EQ(dump(parse_interpreter_output(R"({"a": 1, "c": {"x": 1, "y": 2, "z)")), R"({"a":1})");
  // Cut right after a complete member.
  EXPECT_EQ(dump(parse_interpreter_output(R"({"action": "replan", "replan_type": "illness")")),
            R"({"action":"replan"})");
}

TEST(InterpreterOutput, Step4NeverInventsAnEmptyObject) {
  // Nothing complete before the first comma: the opening '{' alone is not a candidate.
  EXPECT_EQ(dump(parse_interpreter_output(R"({"action": "expl)")), "nullopt");
  EXPECT_EQ(dump(parse_interpreter_output("{")), "nullopt");
}

TEST(InterpreterOutput, LongTruncatedOutputStaysLinear) {
  // 100k commas inside an unclosed array: none of them can close the object
  // with one '}', and trying each would cost a full parse (minutes in all).
  std::string raw = R"({"action": "explain", "list": [)";
  for (int i = 0; i < 100000; ++i) raw += "1,";
  EXPECT_EQ(dump(parse_interpreter_output(raw)), R"({"action":"explain"})");
  // Likewise after a syntax error: candidates past it would fail at it.
  std::string bad = R"({"action": "explain", "x": nope)";
  for (int i = 0; i < 100000; ++i) bad += ", \"k\": 1";
  EXPECT_EQ(dump(parse_interpreter_output(bad)), R"({"action":"explain"})");
}

TEST(InterpreterOutput, NothingToParse) {
  EXPECT_EQ(dump(parse_interpreter_output("")), "nullopt");
  EXPECT_EQ(dump(parse_interpreter_output("   \n ")), "nullopt");
  EXPECT_EQ(dump(parse_interpreter_output("I cannot help with that.")), "nullopt");
  EXPECT_EQ(dump(parse_interpreter_output("```\n```")), "nullopt");
}

// Found by the turn fuzzer: a number out of double range (and deep nesting)
// made the truncation repair's parser throw past the post-processor.
TEST(InterpreterOutput, ANumberOutOfRangeOrDeepNestingIsUnparsedTextNotAnError) {
  EXPECT_EQ(dump(parse_interpreter_output(R"({"action": "explain", "sport": 1e999, "free_text": "x")")),
            R"({"action":"explain"})");
  EXPECT_EQ(dump(parse_interpreter_output(R"({"time_available_min": 9e9999})")), "nullopt");
  EXPECT_EQ(dump(parse_interpreter_output("{\"action\": \"explain\", \"x\": " + std::string(100000, '[') + "1,")),
            R"({"action":"explain"})");
}
