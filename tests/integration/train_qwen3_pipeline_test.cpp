// A tiny Qwen3 the whole way, as the users take their Qwen3-4B: init-base ->
// train (the users' Qwen3 recipe, a few CPU steps) -> merge -> export F16 ->
// quantize Q4_K_M -> sanity -> chat; and the same base with the trained
// adapter applied at run time. A chat turn whose models write think blocks
// (replayed answers) shows the athlete neither block and reports both.
#include <gtest/gtest.h>

#include <stdlib.h>

#include "json/json.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using josi::json::Json;
using josi::test::read_text;
using josi::test::run_josi;
using josi::test::TempDir;
using josi::test::write_text;

namespace {

// The turn's result (josi chat --jsonl prints one line per turn).
Json chat_turn(const std::vector<std::string>& models, const Json& turn) {
  std::vector<std::string> args = {"chat"};
  args.insert(args.end(), models.begin(), models.end());
  for (const char* a : {"--jsonl", "--threads", "2", "--no-cache"}) args.push_back(a);
  const auto r = run_josi(args, turn.dump() + "\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? josi::json::parse(r.out, "chat output") : Json();
}

Json sample_turn(const Json& options) {
  const std::string line = read_text(josi::test::source_dir() / "data" / "samples" / "chat.jsonl");
  Json turn = josi::json::parse(line.substr(0, line.find('\n')), "chat.jsonl");
  turn["options"] = options;
  return turn;
}

}  // namespace

TEST(Qwen3Pipeline, InitTrainMergeExportQuantizeSanityChat) {
  setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);  // see train_cli_test.cpp
  TempDir dir;
  const fs::path d = dir.path();
  auto r = run_josi({"init-base", "--preset", "qwen3-tiny", "--tokenizer", josi::test::qwen_tokenizer_json().string(), "--out",
                     (d / "base").string(), "--seed", "4"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string examples = josi::test::dozen_interpreter_examples();
  write_text(d / "train.jsonl", examples);
  write_text(d / "val.jsonl", examples.substr(0, examples.find('\n') + 1));

  // The users' recipe, but for the length of the run and its batch.
  r = run_josi({"train", "--recipe", "qwen3-4b", "--mode", "interpreter", "--base_model", (d / "base").string(), "--train_data",
                (d / "train.jsonl").string(), "--val_data", (d / "val.jsonl").string(), "--output_dir", (d / "run").string(),
                "--max_steps", "2", "--grad_accum", "2", "--max_seq_length", "512", "--device", "cpu", "--no_wandb"});
  ASSERT_EQ(r.exit_code, 0) << r.err << r.out;
  const Json config = josi::json::parse(read_text(d / "run" / "training_config.json"), "training_config.json");
  EXPECT_EQ(config["recipe"], "qwen3-4b");
  EXPECT_EQ(config["lora_r"], 32);
  EXPECT_EQ(config["lora_alpha"], 64);
  EXPECT_EQ(config["learning_rate"], 2e-5);
  EXPECT_EQ(config["num_train_epochs"], 3);
  EXPECT_EQ(config["per_device_train_batch_size"], 1);
  EXPECT_EQ(config["gradient_accumulation_steps"], 2);  // given on the command line
  EXPECT_EQ(config["max_seq_length"], 512);
  EXPECT_EQ(config["early_stopping_patience"], 3);
  const Json adapter_config = josi::json::parse(read_text(d / "run" / "lora_weights" / "adapter_config.json"), "adapter");
  EXPECT_EQ(adapter_config["r"], 32);
  EXPECT_EQ(adapter_config["lora_alpha"], 64);

  r = run_josi({"merge", "--lora_path", (d / "run" / "lora_weights").string(), "--output_path", (d / "merged").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(josi::json::parse(read_text(d / "merged" / "config.json"), "config")["model_type"], "qwen3");
  r = run_josi({"export-gguf", (d / "merged").string(), "--outfile", (d / "f16.gguf").string(), "--outtype", "f16"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_josi({"quantize", (d / "f16.gguf").string(), (d / "q4_k_m.gguf").string(), "Q4_K_M"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(d / "f16.gguf"));  // the seed's quantize removes its input

  // Sanity runs the release checks on the file that ships (a model trained
  // two steps from random weights fails them: exit 1, the table printed).
  r = run_josi({"sanity", "--model_path", (d / "q4_k_m.gguf").string(), "--mode", "interpreter", "--json", "--threads", "2"});
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.err;
  const Json sanity = josi::json::parse(r.out, "sanity");
  EXPECT_EQ(sanity["checks"].size(), 5u);
  EXPECT_EQ(sanity["model"], (d / "q4_k_m.gguf").string());

  const Json turn = sample_turn({{"seed", 1}, {"max_tokens", 40}});
  const Json merged = chat_turn({"--interpreter", (d / "q4_k_m.gguf").string(), "--explainer", (d / "q4_k_m.gguf").string()}, turn);
  ASSERT_TRUE(merged.contains("route")) << merged.dump();
  EXPECT_TRUE(merged["interpreter"]["valid"].get<bool>());  // the constraint holds on any weights

  // The same base with the trained adapter at run time.
  r = run_josi({"export-gguf", "--lora", (d / "run" / "lora_weights").string(), "--outfile", (d / "adapter.gguf").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_josi({"export-gguf", (d / "base").string(), "--outfile", (d / "base-f16.gguf").string(), "--outtype", "f16"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_josi({"quantize", (d / "base-f16.gguf").string(), (d / "base-q4_k_m.gguf").string(), "Q4_K_M"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_josi({"sanity", "--model_path", (d / "base-q4_k_m.gguf").string(), "--adapter", (d / "adapter.gguf").string(),
                "--mode", "explainer", "--json", "--threads", "2"});
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 1) << r.err;
  EXPECT_EQ(josi::json::parse(r.out, "sanity")["checks"].size(), 2u);
  const std::vector<std::string> adapters = {"--base", (d / "base-q4_k_m.gguf").string(), "--interpreter-adapter",
                                             (d / "adapter.gguf").string(), "--explainer-adapter", (d / "adapter.gguf").string()};
  const Json adapted = chat_turn(adapters, turn);
  ASSERT_TRUE(adapted.contains("route")) << adapted.dump();
  EXPECT_TRUE(adapted["interpreter"]["valid"].get<bool>());

  // Think blocks, as Qwen3 writes them: removed before the interpreter's
  // JSON is read and from the coach's reply (and its stream), reported apart.
  const Json thinking = sample_turn(
      {{"seed", 1},
       {"constrain", false},
       {"interpreter", {{"replay", "<think>\nThey ask about today.\n</think>\n\n"
                                   "{\"action\": \"explain\", \"free_text\": \"What am I doing today?\", "
                                   "\"question\": \"What am I doing today?\"}"}}},
       {"explainer", {{"replay", "<think>Z2, 45 minutes, green readiness.</think>\n\nAn easy 45 minute Zone 2 run."}}}});
  for (const auto& models : {adapters, std::vector<std::string>{"--interpreter", (d / "q4_k_m.gguf").string()}}) {
    const Json out = chat_turn(models, thinking);
    ASSERT_TRUE(out.contains("route")) << out.dump();
    EXPECT_EQ(out["route"], "explainer") << out.dump();
    EXPECT_EQ(out["interpreter"]["thinking"], "They ask about today.");
    EXPECT_EQ(out["explainer"]["thinking"], "Z2, 45 minutes, green readiness.");
    EXPECT_EQ(out["reply"], "An easy 45 minute Zone 2 run.");
    EXPECT_EQ(out["explainer"]["raw"].get<std::string>().find("<think>"), 0u);  // the raw text keeps what was written
  }
}

// Both roles in one run, on a slice of the users' v7 split: conversations
// unrolled, rows with and without a system prompt; killed and resumed, the
// run ends as an uninterrupted one.
TEST(Qwen3Pipeline, AUnifiedRunOnTheUsersV7DataResumesExactly) {
  setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
  TempDir dir;
  const fs::path d = dir.path();
  auto r = run_josi({"init-base", "--preset", "qwen3-tiny", "--tokenizer", josi::test::qwen_tokenizer_json().string(), "--out",
                     (d / "base").string(), "--seed", "6", "--dtype", "f32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string v7 = read_text(josi::test::shared_dir() / "reference" / "mivalta-v7" / "data" / "val_v7_unified.jsonl");
  std::string train, val;
  size_t line = 0;
  for (size_t start = 0, end; start < v7.size() && line < 30; start = end + 1, ++line) {
    end = v7.find('\n', start);
    (line < 24 ? train : val) += v7.substr(start, end - start + 1);
  }
  write_text(d / "train.jsonl", train);
  write_text(d / "val.jsonl", val);
  const std::vector<std::string> args = {"train", "--recipe", "qwen3-4b", "--mode", "unified", "--base_model",
                                         (d / "base").string(), "--train_data", (d / "train.jsonl").string(),
                                         "--val_data", (d / "val.jsonl").string(), "--device", "cpu", "--no_wandb",
                                         "--max_seq_length", "2048", "--max_steps", "6", "--grad_accum", "2", "--lr", "1e-3"};
  josi::test::expect_killed_run_resumes(args, d / "unified", 3);
  const Json config = josi::json::parse(read_text(d / "unified" / "whole" / "training_config.json"), "training_config.json");
  EXPECT_EQ(config["mode"], "unified");
  EXPECT_GT(config["train_examples"].get<int>(), 24);  // the conversations among the rows give several each
}
