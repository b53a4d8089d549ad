#include "coach/router.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"

using josi::coach::Route;
using josi::coach::route_request;
using josi::json::Json;

TEST(Router, EachActionGoesWhereTheTableSays) {
  EXPECT_EQ(route_request(Json::parse(R"({"action": "create_workout"})")).route, Route::engine);
  EXPECT_EQ(route_request(Json::parse(R"({"action": "replan"})")).route, Route::engine);
  EXPECT_EQ(route_request(Json::parse(R"({"action": "explain"})")).route, Route::explainer);
  EXPECT_EQ(route_request(Json::parse(R"({"action": "answer_question"})")).route, Route::explainer);
  auto clarify = route_request(Json::parse(R"({"action": "clarify", "clarify_message": "Which sport?"})"));
  EXPECT_EQ(clarify.route, Route::clarify);
  EXPECT_EQ(clarify.clarify_message, "Which sport?");
}

TEST(Router, ClarifyWithoutMessageStillSaysSomething) {
  EXPECT_FALSE(route_request(Json::parse(R"({"action": "clarify"})")).clarify_message.empty());
}

TEST(Router, UnknownOrMissingActionIsAnError) {
  EXPECT_THROW(route_request(Json::parse(R"({"action": "dance"})")), josi::Error);
  EXPECT_THROW(route_request(Json::parse(R"({"free_text": "x"})")), josi::Error);
  EXPECT_THROW(route_request(Json::parse(R"([1])")), josi::Error);
}

TEST(Router, ExplainerTurnUsesPythonDumpsLayout) {
  Json request = Json::parse(R"({"action": "explain", "question": "Waarom één?", "free_text": "x"})");
  EXPECT_EQ(josi::coach::explainer_user_turn("Why?\n\nCONTEXT:\n- Sport: running", request),
            "Why?\n\nCONTEXT:\n- Sport: running\n\n[INTERPRETER]\n"
            R"({"action": "explain", "question": "Waarom \u00e9\u00e9n?", "free_text": "x"})");
}
