// The v6 prompt layout: the engine-grounding CONTEXT block from the new
// optional ChatContext fields, the users' v7 rows reproduced byte for byte,
// the coach's earlier turns as chat turns (the interpreter none), and the
// budget dropping the oldest turns first.
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "coach/prompt_builder.hpp"
#include "data/chat_example.hpp"
#include "data/jsonl.hpp"
#include "json/schema.hpp"
#include "support/test_support.hpp"

using josi::coach::build_prompt;
using josi::coach::context_block;
using josi::coach::PromptLayout;
using josi::coach::PromptRequest;
using josi::json::Json;

namespace {

Json context() {
  return Json::parse(R"({
    "athlete_id": "a1", "tier": "coach", "mode": "coach", "persona_id": "balanced", "today": "2026-01-05",
    "readiness": {"state": "Recovered", "confidence": 0, "level": "Green", "data_tier": "None"},
    "has_session_context": false, "history": [],
    "profile_summary": {"sport": "running", "level": "intermediate"}})");
}

// Row `line` (1-based) of the users' v7 validation split.
josi::data::ChatExample v7_row(size_t line) {
  const auto file = josi::test::shared_dir() / "reference" / "mivalta-v7" / "data" / "val_v7_unified.jsonl";
  for (const auto& r : josi::data::read_jsonl(file)) {
    if (r.line != line) continue;
    std::string problem;
    return *josi::data::chat_example_from_json(r.value, r.line, problem);
  }
  throw josi::Error("no line " + std::to_string(line));
}

PromptRequest v6_request(const Json& ctx, const std::string& message) {
  PromptRequest r;
  r.system = "SYS";
  r.context = ctx;
  r.message = message;
  r.layout = PromptLayout::v6;
  return r;
}

Json history(std::initializer_list<std::pair<const char*, const char*>> turns) {
  Json h = Json::array();
  for (const auto& [role, message] : turns) h.push_back({{"role", role}, {"message", message}, {"ts", "2026-01-05"}});
  return h;
}

}  // namespace

TEST(PromptLayoutV6, EveryGroundingLineInOrder) {
  Json ctx = context();
  ctx["readiness"] = {{"state", "Accumulated"}, {"confidence", 0.825}, {"level", "Yellow"}, {"data_tier", "Full"}};
  ctx["has_session_context"] = true;
  ctx["planned_session"] = {{"intent", "Z4"}, {"target_zone", "Z4"}, {"target_duration_min", 50},
                            {"structure_label", "3x6min Z4 / 3min Z1"}, {"meso_day", 9}, {"phase", "build"}};
  ctx["grounding"] = {{"max_zone_allowed", "Z4"},  {"zone_cap_reason", "Readiness yellow: no Z5+"},
                      {"zone_load_factor", 2},      {"age", 47},
                      {"phase", "peak"},            {"meso_position", "overload"},
                      {"meso_day", 12},             {"weekly_load", "82% of target"},
                      {"extra_lines", {"- Previous message: \"can I race?\""}}};
  ASSERT_TRUE(josi::json::Schema::chat_context().is_valid(ctx));
  EXPECT_EQ(context_block(ctx, PromptLayout::v6),
            "CONTEXT:\n- Readiness: Yellow (Accumulated)\n- Readiness confidence: 82%\n- Data tier: Full\n"
            "- Max zone allowed: Z4\n- Zone cap reason: Readiness yellow: no Z5+\n- Session: Z4 \"3x6min Z4 / 3min Z1\"\n"
            "- Zone load factor: 2.0\n- Sport: running\n- Level: intermediate\n- Age: 47\n- Phase: peak\n"
            "- Meso position: overload\n- Meso day: 12\n- Weekly load: 82% of target\n- Previous message: \"can I race?\"");
  // Without the grounding fields the session's phase and meso day stand in.
  ctx.erase("grounding");
  EXPECT_EQ(context_block(ctx, PromptLayout::v6),
            "CONTEXT:\n- Readiness: Yellow (Accumulated)\n- Readiness confidence: 82%\n- Data tier: Full\n"
            "- Session: Z4 \"3x6min Z4 / 3min Z1\"\n- Sport: running\n- Level: intermediate\n- Phase: build\n- Meso day: 9");
  // The v5 block of the same context is what it always was.
  EXPECT_EQ(context_block(ctx, PromptLayout::v5),
            "CONTEXT:\n- Readiness: Yellow (Accumulated)\n- Session: Z4 50min \"3x6min Z4 / 3min Z1\" (build phase)\n"
            "- Sport: running\n- Level: intermediate");
  EXPECT_EQ(context_block(ctx), context_block(ctx, PromptLayout::v5));
}

TEST(PromptLayoutV6, BadGroundingFieldsNameTheirPath) {
  for (const char* bad : {R"({"age": 0})", R"({"max_zone_allowed": "Z9"})", R"({"zone_load_factor": 0})",
                          R"({"extra_lines": ["no dash"]})", R"({"extra_lines": ["- two\nlines"]})", R"({"colour": "red"})"}) {
    Json ctx = context();
    ctx["grounding"] = Json::parse(bad);
    auto r = v6_request(ctx, "hi");
    try {
      build_prompt(r);
      ADD_FAILURE() << bad << " was accepted";
    } catch (const josi::Error& e) {
      EXPECT_NE(std::string(e.what()).find("grounding"), std::string::npos) << e.what();
    }
  }
}

TEST(PromptLayoutV6, ReproducesTheUsersV7CoachRows) {
  // val_v7_unified.jsonl line 2 (explain) and line 18 (answer_question with a PROFILE block).
  for (size_t line : {2, 18}) {
    const auto row = v7_row(line);
    const std::string& user = row.first("user")->content;
    Json ctx = context();
    if (line == 18) {
      ctx["profile_summary"] = {{"name", "Emma"}, {"sport", "running"}, {"level", "advanced"}, {"goal_type", "marathon"},
                                {"current_phase", "taper"}};
    }
    const std::string message = user.substr(0, user.find("\n\nCONTEXT:"));
    auto r = v6_request(ctx, message);
    r.system = row.first("system")->content;
    r.interpreter = Json::parse(user.substr(user.find("[INTERPRETER]\n") + 14));
    const auto prompt = build_prompt(r);
    EXPECT_EQ(prompt.user, user) << "line " << line;
    ASSERT_EQ(prompt.messages.size(), 2u);
    EXPECT_EQ(prompt.messages[0].content, r.system);
  }
}

TEST(PromptLayoutV6, TheCoachGetsEarlierTurnsAsChatTurnsTheInterpreterNone) {
  Json ctx = context();
  ctx["history"] = history({{"user", "I ran 10k"}, {"assistant", "Nice work."}, {"user", "Legs are sore"}, {"assistant", "Rest well."}});
  ctx["history"][2]["prompt"] = "Legs are sore\n\nCONTEXT:\n- Readiness: Green (Recovered)";
  auto interpreter = v6_request(ctx, "What now?");
  const auto i = build_prompt(interpreter);
  EXPECT_EQ(i.messages.size(), 2u);
  EXPECT_EQ(i.history_turns, 0u);
  EXPECT_EQ(i.user.find("HISTORY"), std::string::npos);
  EXPECT_EQ(i.user, "What now?\n\nCONTEXT:\n- Readiness: Green (Recovered)\n- Sport: running\n- Level: intermediate");

  auto coach = interpreter;
  coach.interpreter = Json{{"action", "answer_question"}, {"question", "What now?"}};
  const auto c = build_prompt(coach);
  EXPECT_EQ(c.history_turns, 4u);
  EXPECT_EQ(c.chatml,
            "<|im_start|>system\nSYS<|im_end|>\n<|im_start|>user\nI ran 10k<|im_end|>\n<|im_start|>assistant\nNice work.<|im_end|>\n"
            "<|im_start|>user\nLegs are sore\n\nCONTEXT:\n- Readiness: Green (Recovered)<|im_end|>\n"
            "<|im_start|>assistant\nRest well.<|im_end|>\n<|im_start|>user\n" + c.user + "<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(c.user, i.user + "\n\n[INTERPRETER]\n{\"action\": \"answer_question\", \"question\": \"What now?\"}");

  // v5: the same history is a HISTORY block in both roles' user turn.
  interpreter.layout = PromptLayout::v5;
  const auto v5 = build_prompt(interpreter);
  EXPECT_EQ(v5.messages.size(), 2u);
  EXPECT_NE(v5.user.find("HISTORY:\n  [user]: I ran 10k"), std::string::npos);
}

TEST(PromptLayoutV6, TheBudgetDropsTheOldestTurnsFirstNeverTheCurrentTurn) {
  Json ctx = context();
  Json h = Json::array();
  for (int t = 0; t < 8; ++t) {
    h.push_back({{"role", "user"}, {"message", "question " + std::to_string(t) + std::string(200, 'q')}, {"ts", "2026-01-05"}});
    h.push_back({{"role", "assistant"}, {"message", "answer " + std::to_string(t) + std::string(200, 'a')}, {"ts", "2026-01-05"}});
  }
  ctx["history"] = h;
  ctx["athlete_memory"] = {{"key_facts", {{{"fact", "prefers mornings"}, {"source", "conversation"}, {"confidence", 0.9}}}}};
  auto r = v6_request(ctx, "What now?");
  r.interpreter = Json{{"action", "explain"}};
  const auto full = build_prompt(r, josi::coach::approximate_token_count, {4096, 400});
  EXPECT_EQ(full.history_turns, 16u);
  for (size_t context_tokens : {900, 700, 500, 350}) {
    const auto p = build_prompt(r, josi::coach::approximate_token_count, {context_tokens, 100});
    EXPECT_LE(p.tokens, context_tokens - 100);
    EXPECT_LT(p.history_turns, 16u);
    EXPECT_EQ(p.history_turns % 2, 0u) << "whole turns go";
    EXPECT_EQ(p.messages.back().content, full.messages.back().content) << "the current turn is never cut";
    if (p.history_turns > 0) {
      // What is kept is the most recent part, from a user turn on.
      EXPECT_EQ(p.messages[1].role, "user");
      const size_t first_kept = 8 - p.history_turns / 2;
      EXPECT_EQ(p.messages[1].content.rfind("question " + std::to_string(first_kept), 0), 0u);
      EXPECT_TRUE(p.memory_included);
    }
  }
  // With no room for any turn, memory goes next; the current turn stays.
  auto alone = r;
  alone.context["history"] = Json::array();
  alone.context.erase("athlete_memory");
  const size_t needed = build_prompt(alone).tokens;
  const auto bare = build_prompt(r, josi::coach::approximate_token_count, {needed + 62, 60});
  EXPECT_EQ(bare.history_turns, 0u);
  EXPECT_FALSE(bare.memory_included);
  EXPECT_EQ(bare.messages.back().content, build_prompt(alone).messages.back().content);
  EXPECT_THROW(build_prompt(r, josi::coach::approximate_token_count, {needed + 59, 60}), josi::Error);
}
