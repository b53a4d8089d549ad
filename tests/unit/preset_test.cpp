// The presets and the v6 coach's complex-question rule.
#include <gtest/gtest.h>

#include "base/error.hpp"
#include "runtime/preset.hpp"
#include "runtime/turn.hpp"

using josi::json::Json;
using josi::runtime::is_complex_question;
using josi::runtime::preset_named;

TEST(Preset, V5AndV6) {
  const auto& v5 = preset_named("v5");
  EXPECT_EQ(v5.n_ctx, 2048);
  EXPECT_EQ(v5.layout, josi::coach::PromptLayout::v5);
  EXPECT_EQ(v5.complex_max_tokens, 0);
  // v5's settings are Josi's defaults: the preset changes nothing.
  const auto interpreter = josi::runtime::with_overrides(josi::runtime::interpreter_preset(), v5.interpreter, "interpreter");
  EXPECT_EQ(interpreter.max_tokens, 150);
  EXPECT_FLOAT_EQ(interpreter.sampling.temperature, 0.45f);

  const auto& v6 = preset_named("v6");
  EXPECT_EQ(v6.n_ctx, 4096);
  EXPECT_EQ(v6.layout, josi::coach::PromptLayout::v6);
  EXPECT_EQ(v6.complex_max_tokens, 400);
  const auto i = josi::runtime::with_overrides(josi::runtime::interpreter_preset(), v6.interpreter, "interpreter");
  const auto c = josi::runtime::with_overrides(josi::runtime::explainer_preset(), v6.explainer, "explainer");
  EXPECT_EQ(i.max_tokens, 200);
  EXPECT_FLOAT_EQ(i.sampling.temperature, 0.3f);
  EXPECT_EQ(c.max_tokens, 200);
  EXPECT_FLOAT_EQ(c.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(c.sampling.top_p, 0.9f);
  EXPECT_FLOAT_EQ(c.sampling.repeat_penalty, 1.0f);

  try {
    preset_named("v7", "--preset");
    ADD_FAILURE();
  } catch (const josi::Error& e) {
    EXPECT_STREQ(e.what(), "--preset: unknown preset \"v7\" (v5 or v6)");
  }
}

TEST(Preset, ComplexQuestions) {
  EXPECT_TRUE(is_complex_question({{"action", "explain"}}));
  EXPECT_TRUE(is_complex_question({{"action", "explain"}, {"question", "ok"}}));
  for (const char* q : {"Why is my zone capped?", "how come I'm tired", "Should I rest?", "my knee PAIN", "Injury help",
                        "Waarom Z2?", "Hoe komt dat?", "moet ik rusten", "blessure", "pijn in mijn knie", "what's the plan",
                        "mijn schema", "run instead", "fietsen in plaats van lopen"})
    EXPECT_TRUE(is_complex_question({{"action", "answer_question"}, {"question", q}})) << q;
  for (const char* q : {"What is zone 2?", "how long is the run", "Hoe lang?"})
    EXPECT_FALSE(is_complex_question({{"action", "answer_question"}, {"question", q}})) << q;
  // No question: the free text decides.
  EXPECT_TRUE(is_complex_question({{"action", "answer_question"}, {"free_text", "why so easy"}}));
  EXPECT_TRUE(is_complex_question({{"action", "answer_question"}, {"question", ""}, {"free_text", "why so easy"}}));
  EXPECT_FALSE(is_complex_question({{"action", "answer_question"}, {"question", "what"}, {"free_text", "why"}}));
  EXPECT_FALSE(is_complex_question({{"action", "create_workout"}, {"free_text", "why"}}));
  EXPECT_FALSE(is_complex_question(Json::object()));
}
