#include "runtime/turn_flow.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "data/sample_context.hpp"
#include "json/json.hpp"

using josi::json::Json;
using josi::runtime::RoleRun;
using josi::runtime::RoleRunner;
using josi::runtime::TextCallback;

namespace {

josi::runtime::TurnInput sample_turn(const std::string& message) {
  return josi::runtime::parse_turn(
      Json{{"message", message}, {"context", josi::json::parse(josi::data::sample_chat_context(), "sample")}});
}

// A role whose model writes `text`; records the requests it was given.
struct ScriptedRole {
  std::string text;
  std::vector<josi::coach::PromptRequest> requests;
  RoleRunner runner() {
    return [this](josi::coach::PromptRequest request, const TextCallback& on_text, std::string& user_turn) {
      user_turn = josi::coach::build_prompt(request).user;
      requests.push_back(std::move(request));
      RoleRun run;
      run.set_output(text);
      if (on_text) on_text(text);
      return run;
    };
  }
};

struct Flow {
  ScriptedRole interpreter, explainer;
  std::string streamed;
  josi::runtime::TurnResult run(const std::string& message) {
    return josi::runtime::run_turn_flow(sample_turn(message), interpreter.runner(), explainer.runner(),
                                        [this](std::string_view piece) { streamed += piece; });
  }
};

TEST(TurnFlow, AWorkoutRequestGoesToTheEngineWithoutTheExplainer) {
  Flow f;
  f.interpreter.text = R"({"action": "create_workout", "sport": "run", "time_available_min": 45, "free_text": "x"})";
  const auto r = f.run("I want to do a 45 minute run today");
  EXPECT_EQ(r.route, "engine");
  EXPECT_EQ(r.action, "create_workout");
  ASSERT_TRUE(r.request);
  EXPECT_EQ(r.request->at("time_available_min"), 45);
  EXPECT_FALSE(r.reply);
  EXPECT_TRUE(f.explainer.requests.empty());
  EXPECT_TRUE(f.streamed.empty());
  ASSERT_EQ(f.interpreter.requests.size(), 1u);
  EXPECT_FALSE(f.interpreter.requests[0].interpreter);
}

TEST(TurnFlow, TextThatCannotBeARequestIsAClarifyingQuestionStreamedOnce) {
  Flow f;
  f.interpreter.text = "I think you should run.";
  const auto r = f.run("Give me something");
  EXPECT_EQ(r.route, "clarify");
  EXPECT_FALSE(r.interpreter_valid);
  EXPECT_FALSE(r.interpreter_errors.empty());
  EXPECT_FALSE(r.request);  // the engine never gets an unvalidated request
  ASSERT_TRUE(r.reply);
  EXPECT_EQ(f.streamed, *r.reply);
  EXPECT_TRUE(f.explainer.requests.empty());
}

TEST(TurnFlow, AQuestionReachesTheExplainerWithTheRequestAndIsGoverned) {
  Flow f;
  f.interpreter.text = R"({"action": "answer_question", "question": "What is Zone 2?", "free_text": "What is Zone 2?"})";
  f.explainer.text = "Zone 2 is easy aerobic work. It builds your base. Does that make sense? Want more?";
  const auto r = f.run("What is Zone 2?");
  EXPECT_EQ(r.route, "explainer");
  ASSERT_EQ(f.explainer.requests.size(), 1u);
  ASSERT_TRUE(f.explainer.requests[0].interpreter);
  EXPECT_EQ(f.explainer.requests[0].interpreter->at("action"), "answer_question");
  EXPECT_EQ(f.streamed, f.explainer.text);  // the stream is the model's text
  ASSERT_TRUE(r.reply);
  EXPECT_EQ(*r.reply, "Zone 2 is easy aerobic work. It builds your base.");  // the governor keeps no question
}

TEST(TurnFlow, AnExplainerThatWritesNothingUsableGivesTheFallback) {
  Flow f;
  f.interpreter.text = R"({"action": "explain", "free_text": "why"})";
  f.explainer.text = "```json\n{\"action\": \"explain\"}\n```";
  const auto r = f.run("Why is today easy?");
  EXPECT_EQ(r.route, "explainer");
  ASSERT_TRUE(r.reply);
  EXPECT_FALSE(r.reply->empty());
  EXPECT_EQ(r.reply->find('{'), std::string::npos);
}

TEST(TurnFlow, TheMessageAddsToTheAthletesMemory) {
  Flow f;
  f.interpreter.text = R"({"action": "explain", "free_text": "x"})";
  f.explainer.text = "Sure.";
  const auto r = f.run("I usually run about 45 minutes in the morning");
  EXPECT_NE(r.memory.dump().find("prefers morning sessions"), std::string::npos) << r.memory.dump();
}

}  // namespace

// The turn flags a coach reply that states a number its prompt does not hold;
// it does not change the reply (the app decides).
TEST(TurnFlow, TheCoachsReplyIsCheckedForGrounding) {
  Flow f;
  f.interpreter.text = R"({"action": "answer_question", "question": "How hard?", "free_text": "How hard today?"})";
  f.explainer.text = "Keep it easy today: aim for 150 bpm for the 45 min.";
  auto r = f.run("How hard today?");
  ASSERT_TRUE(r.grounding);
  EXPECT_TRUE(r.grounding->invents_numbers());
  ASSERT_EQ(r.grounding->violations.size(), 1u);
  EXPECT_EQ(r.grounding->violations[0].rule, "hr_target");
  EXPECT_EQ(*r.reply, f.explainer.text);
  const Json j = josi::runtime::to_json(r);
  EXPECT_TRUE(j.at("grounding").at("invents_numbers").get<bool>());
  EXPECT_DOUBLE_EQ(j.at("grounding").at("score").get<double>(), 0.7);

  // The session's own minutes and zone are in the prompt: nothing invented.
  Flow grounded;
  grounded.interpreter.text = f.interpreter.text;
  grounded.explainer.text = "Today is your Z2 session of 45 min; check your zone overview for the numbers.";
  r = grounded.run("How hard today?");
  ASSERT_TRUE(r.grounding);
  EXPECT_TRUE(r.grounding->violations.empty());
  EXPECT_FALSE(r.grounding->signals.empty());

  Flow engine;
  engine.interpreter.text = R"({"action": "create_workout", "sport": "run", "free_text": "x"})";
  r = engine.run("A run please");
  EXPECT_FALSE(r.grounding);
  EXPECT_TRUE(josi::runtime::to_json(r).at("grounding").is_null());
}
