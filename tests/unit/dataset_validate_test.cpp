#include "data/validate.hpp"

#include <gtest/gtest.h>

#include <map>

#include "base/error.hpp"
#include "support/test_support.hpp"
#include "text/tokenizer.hpp"

using josi::data::DatasetMode;
using josi::data::validate_dataset;
using josi::test::reference_data;
using josi::test::TempDir;

namespace {

TEST(DatasetValidate, ReferenceInterpreterValIsClean) {
  auto r = validate_dataset(reference_data("val_interpreter.jsonl"), std::nullopt);
  EXPECT_EQ(r.mode, DatasetMode::interpreter);
  EXPECT_EQ(r.lines, 149u);
  EXPECT_EQ(r.examples, 149u);
  EXPECT_TRUE(r.clean());
  EXPECT_EQ(r.actions.at("answer_question"), 60u);
  EXPECT_EQ(r.actions.at("explain"), 49u);
  EXPECT_EQ(r.actions.at("create_workout"), 25u);
  EXPECT_EQ(r.actions.at("replan"), 11u);
  EXPECT_EQ(r.actions.at("clarify"), 4u);
}

TEST(DatasetValidate, ReferenceSequentialExplainerChecksInterpreterBlocks) {
  auto r = validate_dataset(reference_data("train_explainer_sequential.jsonl"), std::nullopt);
  EXPECT_EQ(r.mode, DatasetMode::explainer);
  EXPECT_EQ(r.lines, 812u);
  EXPECT_EQ(r.examples, 812u);  // every [INTERPRETER] block parses and is schema-valid
  EXPECT_TRUE(r.clean());
}

// Conversations are unrolled into one example per answer, as training takes them.
TEST(DatasetValidate, ConversationsAreUnrolled) {
  auto r = validate_dataset(reference_data("gold_combined.jsonl"), DatasetMode::explainer);
  EXPECT_EQ(r.lines, 678u);
  EXPECT_EQ(r.multi_turn_rows, 80u);
  EXPECT_EQ(r.unrolled_examples, 828u);  // 598 two-message rows, 10 of four, 70 of six
  EXPECT_EQ(r.problem_counts.count("no_answer"), 0u);
}

// The users' v7 validation split: the counts their data holds, and where
// it cannot match what the app sends.
TEST(DatasetValidate, TheUsersV7UnifiedSplit) {
  const auto tokenizer = josi::text::Tokenizer::load(josi::test::qwen_tokenizer_json());
  auto r = validate_dataset(josi::test::shared_dir() / "reference" / "mivalta-v7" / "data" / "val_v7_unified.jsonl",
                            std::nullopt, {&tokenizer, 4096});
  EXPECT_EQ(r.mode, DatasetMode::unified);
  EXPECT_EQ(r.lines, 272u);
  EXPECT_EQ(r.unrolled_examples, 323u);
  EXPECT_EQ(r.multi_turn_rows, 27u);
  EXPECT_EQ(r.rows_by_messages, (std::map<size_t, size_t>{{2, 74}, {3, 171}, {4, 3}, {6, 24}}));
  EXPECT_EQ(r.rows_without_system_prompt, 101u);
  EXPECT_EQ(r.rows_with_interpreter_prompt, 131u);
  EXPECT_EQ(r.request_targets_under_interpreter_prompt, 84u);
  EXPECT_EQ(r.coach_answers_under_interpreter_prompt, 47u);
  EXPECT_EQ(r.rows_with_other_prompt, 40u);
  EXPECT_EQ(r.rows_with_knowledge, 111u);
  EXPECT_EQ(r.knowledge_blocks.selector, 134u);
  EXPECT_EQ(r.knowledge_blocks.total - r.knowledge_blocks.selector, 40u);  // one-line hints
  EXPECT_EQ(r.rows_with_two_knowledge_blocks, 40u);
  EXPECT_EQ(r.coach_rows_without_context, 101u);
  EXPECT_EQ(r.coach_rows_without_interpreter, 101u);
  EXPECT_TRUE(r.length_checked);
  EXPECT_EQ(r.over_length_examples, 0u);
  EXPECT_EQ(r.warning_counts.at("no_system_prompt"), 101u);
  EXPECT_EQ(r.warnings.front().line, 1u);
  const auto json = josi::data::to_json(r);
  EXPECT_EQ(json["rows"], 272);
  EXPECT_EQ(json["examples"], 323);
  EXPECT_EQ(json["rows_without_system_prompt"], 101);
}

TEST(DatasetValidate, LegacyFormatIsReportedAsBadStructure) {
  auto r = validate_dataset(reference_data("philosophy_enhanced.jsonl"), DatasetMode::explainer);
  EXPECT_EQ(r.examples, 0u);
  EXPECT_EQ(r.problem_counts.at("bad_structure"), 302u);
  EXPECT_EQ(r.problems.front().line, 1u);
  EXPECT_EQ(r.problems.front().detail, "missing \"messages\"");
}

TEST(DatasetValidate, EveryProblemKindWithItsLine) {
  TempDir dir;
  auto ok = [](const std::string& target) {
    return R"({"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}, {"role": "assistant", "content": )" +
           target + "}]}";
  };
  josi::test::write_text(
      dir / "d.jsonl",
      ok(R"("{\"action\": \"explain\", \"question\": \"q\", \"free_text\": \"u\"}")") + "\n" +  // 1 fine
          "{oops\n" +                                                                              // 2
          R"({"messages": "nope"})" + "\n" +                                                       // 3
          R"({"messages": [{"role": "user", "content": "u"}]})" + "\n" +                           // 4
          "\n" +                                                                                   // 5 blank
          ok(R"("I am prose")") + "\n" +                                                           // 6
          ok(R"("{\"action\": \"create_workout\", \"sport\": \"cycling\", \"free_text\": \"u\"}")") + "\n" +  // 7
          R"({"messages": [{"role": "robot", "content": "u"}]})" + "\n");                          // 8
  auto r = validate_dataset(dir / "d.jsonl", DatasetMode::interpreter);
  EXPECT_EQ(r.lines, 7u);
  EXPECT_EQ(r.examples, 1u);
  ASSERT_EQ(r.problems.size(), 6u);
  EXPECT_EQ(r.problems[0].line, 2u);
  EXPECT_EQ(r.problems[0].kind, "invalid_json");
  EXPECT_EQ(r.problems[1].line, 3u);
  EXPECT_EQ(r.problems[1].kind, "bad_structure");
  EXPECT_EQ(r.problems[2].line, 4u);
  EXPECT_EQ(r.problems[2].kind, "no_answer");
  EXPECT_EQ(r.problems[3].line, 6u);
  EXPECT_EQ(r.problems[3].kind, "target_not_json");
  EXPECT_EQ(r.problems[4].line, 7u);
  EXPECT_EQ(r.problems[4].kind, "target_schema");
  EXPECT_EQ(r.problems[4].detail.rfind("$.sport: enum:", 0), 0u) << r.problems[4].detail;
  EXPECT_NE(r.problems[4].detail.find("\"cycling\""), std::string::npos);
  EXPECT_EQ(r.problems[5].line, 8u);
  EXPECT_EQ(r.problems[5].detail, "messages[0].role: expected one of system, user, assistant");
}

TEST(DatasetValidate, ExplainerAnswersMustBePlainText) {
  TempDir dir;
  josi::test::write_text(dir / "e.jsonl",
                         R"({"messages": [{"role": "user", "content": "u"}, {"role": "assistant", "content": "  "}]})"
                         "\n"
                         R"({"messages": [{"role": "user", "content": "u"}, {"role": "assistant", "content": "{\"action\": \"explain\"}"}]})"
                         "\n"
                         R"({"messages": [{"role": "user", "content": "u\n\n[INTERPRETER]\n{\"action\": \"bogus\", \"free_text\": \"u\"}"}, {"role": "assistant", "content": "Fine."}]})"
                         "\n");
  auto r = validate_dataset(dir / "e.jsonl", DatasetMode::explainer);
  ASSERT_EQ(r.problems.size(), 3u);
  EXPECT_EQ(r.problems[0].kind, "empty_target");
  EXPECT_EQ(r.problems[1].kind, "target_is_json");
  EXPECT_EQ(r.problems[2].kind, "interpreter_block_schema");
}

TEST(DatasetValidate, EmptyAndMissingFilesAreErrors) {
  TempDir dir;
  josi::test::write_text(dir / "empty.jsonl", "\n\n");
  EXPECT_THROW(validate_dataset(dir / "empty.jsonl", std::nullopt), josi::Error);
  EXPECT_THROW(validate_dataset(dir / "missing.jsonl", std::nullopt), josi::Error);
}

}  // namespace
