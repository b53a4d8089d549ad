// The seed's release checks' verdicts (pipeline.md §5): each interpreter
// check's action and field, judged on what the model wrote before the
// post-processor's fixups; the explainer's plain-text rule by characters.
#include <gtest/gtest.h>

#include "check/sanity.hpp"

using josi::check::judge;
using josi::check::sanity_checks;
using josi::data::DatasetMode;

namespace {

bool passes(size_t check, const std::string& output) { return judge(DatasetMode::interpreter, check, output).pass; }

TEST(SanityJudge, TheSeedsChecksInItsOrder) {
  ASSERT_EQ(sanity_checks(DatasetMode::interpreter).size(), 5u);
  ASSERT_EQ(sanity_checks(DatasetMode::explainer).size(), 2u);
  EXPECT_EQ(sanity_checks(DatasetMode::interpreter)[1].user_turn, "I want a workout");
  EXPECT_NE(sanity_checks(DatasetMode::explainer)[0].user_turn.find("[INTERPRETER]\n{\"action\": \"answer_question\""),
            std::string::npos)
      << "the explainer sees the request as the sequential data writes it";
}

TEST(SanityJudge, InterpreterChecksNeedTheActionAndTheField) {
  EXPECT_TRUE(passes(0, R"({"action": "create_workout", "sport": "run", "time_available_min": 45})"));
  const auto bike = judge(DatasetMode::interpreter, 0, R"({"action": "create_workout", "sport": "bike"})");
  EXPECT_FALSE(bike.pass);
  EXPECT_EQ(bike.got, "create_workout, sport \"bike\"");
  EXPECT_FALSE(passes(0, R"({"action": "create_workout"})"));
  EXPECT_TRUE(passes(1, R"({"action": "clarify", "missing": ["sport"], "clarify_message": "Which sport?"})"));
  EXPECT_FALSE(passes(1, R"({"action": "answer_question"})"));
  EXPECT_TRUE(passes(2, R"({"action": "clarify", "missing": ["medical_clearance"]})"));
  EXPECT_FALSE(passes(2, R"({"action": "clarify", "missing": ["sport"]})"));
  EXPECT_FALSE(passes(2, R"({"action": "answer_question", "missing": ["medical"]})"));
  EXPECT_TRUE(passes(3, R"({"action": "replan", "replan_type": "illness"})"));
  EXPECT_FALSE(passes(3, R"({"action": "replan", "replan_type": "travel"})"));
  EXPECT_TRUE(passes(4, R"({"action": "answer_question", "question": "What is Zone 2?"})"));
  EXPECT_FALSE(passes(4, R"({"action": "explain"})"));
}

TEST(SanityJudge, TheModelsOwnTextIsJudgedNotTheFixedUpRequest) {
  // The post-processor would turn "running" into "run"; the check must see the model's mistake.
  EXPECT_FALSE(passes(0, R"({"action": "create_workout", "sport": "running"})"));
  // Text around the object is tolerated as the post-processor tolerates it.
  EXPECT_TRUE(passes(4, "Sure: {\"action\": \"answer_question\"} done"));
  const auto none = judge(DatasetMode::interpreter, 1, "I cannot help with that");
  EXPECT_FALSE(none.pass);
  EXPECT_EQ(none.got, "no JSON object");
  EXPECT_EQ(judge(DatasetMode::interpreter, 1, "{\"sport\": \"run\"}").got, "no action");
}

TEST(SanityJudge, ExplainerAnswersArePlainTextOverTwentyCharacters) {
  EXPECT_TRUE(judge(DatasetMode::explainer, 0, "Zone 2 is an easy aerobic intensity.").pass);
  const auto json = judge(DatasetMode::explainer, 0, R"({"action": "answer_question", "text": "Zone 2 is easy"})");
  EXPECT_FALSE(json.pass);
  EXPECT_NE(json.got.find("has '{'"), std::string::npos) << json.got;
  EXPECT_FALSE(judge(DatasetMode::explainer, 1, "Rest well today, ok.").pass) << "20 characters";
  EXPECT_FALSE(judge(DatasetMode::explainer, 1, "   short   \n").pass);
  std::string accents;
  for (int i = 0; i < 21; ++i) accents += "\xC3\xA9";  // é, two bytes each
  EXPECT_TRUE(judge(DatasetMode::explainer, 1, accents).pass) << "characters, not bytes";
  EXPECT_EQ(judge(DatasetMode::explainer, 1, accents).got, "21 characters");
}

}  // namespace
