#include "data/prepare_sequential.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "base/error.hpp"
#include "data/system_prompts.hpp"
#include "support/test_support.hpp"

using josi::test::reference_data;
using josi::test::reference_dir;
using josi::test::TempDir;

namespace {

std::string reference_prompt() {
  return josi::data::load_system_prompt(reference_dir() / "prompts" / "explainer_sequential_system.txt");
}

TEST(PrepareSequential, ByteIdenticalOnReferenceValSplit) {
  TempDir dir;
  auto stats = josi::data::prepare_sequential(reference_data("val_interpreter.jsonl"),
                                              reference_data("val_explainer.jsonl"), dir / "out.jsonl",
                                              reference_prompt());
  EXPECT_EQ(josi::test::read_text(dir / "out.jsonl"),
            josi::test::read_text(reference_data("val_explainer_sequential.jsonl")));
  EXPECT_EQ(stats.explainer_examples, 128u);
  EXPECT_EQ(stats.matched, 128u);
  EXPECT_EQ(stats.unmatched, 0u);
  EXPECT_EQ(stats.skipped_by_action, 36u);
  EXPECT_EQ(stats.written, 92u);
  EXPECT_EQ(stats.actions.at("explain"), 41u);
  EXPECT_EQ(stats.actions.at("answer_question"), 51u);
  EXPECT_EQ(stats.actions.at("create_workout"), 22u);
  EXPECT_EQ(stats.actions.at("replan"), 10u);
  EXPECT_EQ(stats.actions.at("clarify"), 4u);
}

TEST(PrepareSequential, TrainExplainerFileWellUnderASecond) {
  TempDir dir;
  auto start = std::chrono::steady_clock::now();
  auto stats = josi::data::prepare_sequential(reference_data("val_interpreter.jsonl"),
                                              reference_data("train_explainer.jsonl"), dir / "out.jsonl",
                                              reference_prompt());
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(stats.explainer_examples, 1120u);
  EXPECT_LT(seconds, 0.5) << "prepare-sequential on 1120 lines took " << seconds << " s";
}

TEST(PrepareSequential, UnmatchedAndInvalidAreCounted) {
  TempDir dir;
  josi::test::write_text(dir / "i.jsonl",
                         R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "{\"action\": \"explain\", \"question\": \"a\", \"free_text\": \"a\"}"}]})"
                         "\n"
                         R"({"messages": [{"role": "user", "content": "b"}, {"role": "assistant", "content": "not json"}]})"
                         "\n"
                         R"({"messages": [{"role": "user", "content": "c"}]})"
                         "\n");
  josi::test::write_text(dir / "e.jsonl",
                         R"({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "A \u2014 answer"}]})"
                         "\n\n"
                         R"({"messages": [{"role": "user", "content": "b"}, {"role": "assistant", "content": "B"}]})"
                         "\n"
                         R"({"messages": [{"role": "user", "content": "zzz"}, {"role": "assistant", "content": "Z"}]})"
                         "\n");
  auto stats = josi::data::prepare_sequential(dir / "i.jsonl", dir / "e.jsonl", dir / "o.jsonl", "SYS");
  EXPECT_EQ(stats.interpreter_examples, 3u);
  EXPECT_EQ(stats.explainer_examples, 3u);
  EXPECT_EQ(stats.matched, 2u);
  EXPECT_EQ(stats.unmatched, 1u);
  EXPECT_EQ(stats.skipped_invalid, 2u);  // interpreter line 3 (no assistant), explainer "b" (target not JSON)
  EXPECT_EQ(stats.written, 1u);
  EXPECT_EQ(josi::test::read_text(dir / "o.jsonl"),
            "{\"messages\": [{\"role\": \"system\", \"content\": \"SYS\"}, {\"role\": \"user\", \"content\": "
            "\"a\\n\\n[INTERPRETER]\\n{\\\"action\\\": \\\"explain\\\", \\\"question\\\": \\\"a\\\", "
            "\\\"free_text\\\": \\\"a\\\"}\"}, {\"role\": \"assistant\", \"content\": \"A \\u2014 answer\"}]}\n");
}

TEST(PrepareSequential, MalformedLineFailsAndKeepsExistingOutput) {
  TempDir dir;
  josi::test::write_text(dir / "i.jsonl", "{\"messages\": [}\n");
  josi::test::write_text(dir / "e.jsonl", "");
  josi::test::write_text(dir / "o.jsonl", "precious\n");
  try {
    josi::data::prepare_sequential(dir / "i.jsonl", dir / "e.jsonl", dir / "o.jsonl", "SYS");
    FAIL() << "expected an error";
  } catch (const josi::Error& e) {
    EXPECT_NE(std::string(e.what()).find("i.jsonl:1: invalid JSON"), std::string::npos) << e.what();
  }
  EXPECT_EQ(josi::test::read_text(dir / "o.jsonl"), "precious\n");
}

TEST(PrepareSequential, MissingInputNamesTheFile) {
  TempDir dir;
  try {
    josi::data::prepare_sequential(dir / "nope.jsonl", dir / "e.jsonl", dir / "o.jsonl", "SYS");
    FAIL() << "expected an error";
  } catch (const josi::Error& e) {
    EXPECT_NE(std::string(e.what()).find("nope.jsonl"), std::string::npos);
  }
  EXPECT_FALSE(std::filesystem::exists(dir / "o.jsonl"));
}

}  // namespace
