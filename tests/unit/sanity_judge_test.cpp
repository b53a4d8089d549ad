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

const josi::check::SanityCheck& v6(DatasetMode mode, const std::string& name) {
  for (const auto& c : sanity_checks(mode, "v6"))
    if (c.name == name) return c;
  throw std::runtime_error("no v6 check " + name);
}

TEST(SanityJudge, TheV6SetInTheUsersOrder) {
  const auto& interpreter = sanity_checks(DatasetMode::interpreter, "v6");
  const auto& coach = sanity_checks(DatasetMode::explainer, "v6");
  ASSERT_EQ(interpreter.size(), 6u + 16u);
  ASSERT_EQ(coach.size(), 3u + 6u);
  EXPECT_EQ(interpreter[5].name, "I6");
  EXPECT_EQ(interpreter[5].user_turn, "Ik wil een hardlooptraining van een uur\n\nCONTEXT:\n- Sport: running\n- Readiness: Green");
  EXPECT_EQ(interpreter[6].name, "T1");
  EXPECT_EQ(interpreter.back().name, "T16");
  EXPECT_EQ(interpreter.back().group, "tests");
  EXPECT_EQ(coach[0].user_turn,
            "What is Zone 2?\n\nCONTEXT:\n- Sport: running\n- Readiness: Green\n\n[INTERPRETER]\n"
            "{\"action\": \"answer_question\", \"question\": \"What is Zone 2?\", \"free_text\": \"What is Zone 2?\"}");
  EXPECT_NE(coach[2].user_turn.find("Wat is Zone 2?\", \"free_text\": \"Wat is Zone 2?\""), std::string::npos);
  EXPECT_NE(coach.back().user_turn.find("Waarom is mijn paraatheid rood?"), std::string::npos);
}

TEST(SanityJudge, TheV6TestSetWantsAWellFormedRequest) {
  const auto& bike = v6(DatasetMode::interpreter, "T2");
  EXPECT_TRUE(judge(bike, R"({"action": "create_workout", "sport": "bike", "free_text": "30 min bike"})").pass);
  EXPECT_FALSE(judge(bike, R"({"action": "create_workout", "sport": "bike"})").pass) << "no free_text";
  const auto extra = judge(bike, R"({"action": "create_workout", "sport": "bike", "free_text": "x", "mood": "ok"})");
  EXPECT_FALSE(extra.pass);
  EXPECT_NE(extra.got.find("unknown key"), std::string::npos) << extra.got;
  const auto& train_me = v6(DatasetMode::interpreter, "T5");
  EXPECT_FALSE(judge(train_me, R"({"action": "clarify", "free_text": "Train me"})").pass) << "clarify needs its fields";
  EXPECT_TRUE(judge(train_me, R"({"action": "clarify", "missing": ["sport"], "clarify_message": "Which sport?", "free_text": "Train me"})").pass);
  const auto& knee = v6(DatasetMode::interpreter, "T15");
  EXPECT_TRUE(judge(knee, R"({"action": "replan", "replan_type": "reduce_intensity", "free_text": "knee"})").pass);
  EXPECT_FALSE(judge(knee, R"({"action": "replan", "replan_type": "knee", "free_text": "knee"})").pass);
  EXPECT_FALSE(judge(knee, R"({"action": "answer_question", "free_text": "knee"})").pass);
  // I1-I6 keep the training run's rules: no shape check.
  EXPECT_TRUE(judge(v6(DatasetMode::interpreter, "I6"), R"({"action": "create_workout", "sport": "run"})").pass);
}

TEST(SanityJudge, TheV6CoachTestsWantTwentyCharactersThatAreNotJson) {
  const auto& c1 = v6(DatasetMode::explainer, "C1");
  const auto& t1 = v6(DatasetMode::explainer, "T1");
  const std::string twenty = "Zone 2 is easy pace.";  // 20 characters
  EXPECT_FALSE(judge(c1, twenty).pass) << "the sanity check wants more than 20";
  EXPECT_TRUE(judge(t1, twenty).pass) << "the test set wants at least 20";
  EXPECT_TRUE(judge(t1, "Easy {not json} and long enough").pass) << "a brace is fine in the test set";
  EXPECT_FALSE(judge(c1, "Easy {not json} and long enough").pass);
  const auto object = judge(t1, R"({"answer": "Zone 2 is an easy aerobic pace"})");
  EXPECT_FALSE(object.pass);
  EXPECT_NE(object.got.find("a JSON object"), std::string::npos);
}

}  // namespace
