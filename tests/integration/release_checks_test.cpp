// josi eval and josi sanity on what ships (pipeline.md §5): on a tiny model
// trained briefly and merged, eval_loss and token accuracy of the F32 GGUF
// are the ones `josi train` reported; sanity on the merged directory and on
// its GGUF gives the same verdicts and texts; --compare measures what a
// quantization costs; bad input gets one line.
#include <gtest/gtest.h>

#include <cmath>

#include "json/json.hpp"
#include "support/test_support.hpp"

namespace fs = std::filesystem;
using josi::json::Json;
using josi::test::josi_lines;
using josi::test::read_text;
using josi::test::run_josi;
using josi::test::RunResult;
using josi::test::TempDir;
using josi::test::write_text;

namespace {

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

Json json_of(const RunResult& r) { return josi::json::parse(r.out, "josi output"); }

class ReleaseChecks : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
    dir_ = new TempDir();
    const fs::path& d = dir_->path();
    auto r = run_josi({"init-base", "--preset", "tiny", "--tokenizer", josi::test::qwen_tokenizer_json().string(), "--out",
                       (d / "base").string(), "--seed", "1", "--dtype", "f32"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string examples = josi::test::dozen_interpreter_examples();
    write_text(d / "train.jsonl", examples);
    const size_t second = examples.find('\n') + 1;
    write_text(d / "val.jsonl", examples.substr(second, examples.find('\n', second) + 1 - second) +
                                    examples.substr(examples.rfind('\n', examples.size() - 2) + 1));
    r = run_josi({"train", "--mode", "interpreter", "--base_model", (d / "base").string(), "--train_data",
                  (d / "train.jsonl").string(), "--val_data", (d / "val.jsonl").string(), "--device", "cpu", "--no_wandb",
                  "--output_dir", (d / "run").string(), "--max_steps", "8", "--batch_size", "4", "--grad_accum", "1",
                  "--lr", "4e-3"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_josi({"merge", "--lora_path", (d / "run" / "lora_weights").string(), "--dtype", "f32"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_josi({"export-gguf", merged().string(), "--outfile", f32().string(), "--outtype", "f32"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path dir() { return dir_->path(); }
  static fs::path merged() { return dir() / "run" / "merged"; }
  static fs::path f32() { return dir() / "merged-f32.gguf"; }
  static TempDir* dir_;
};
TempDir* ReleaseChecks::dir_ = nullptr;

RunResult eval(const fs::path& model, const fs::path& data, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"eval", "--model", model.string(), "--data", data.string(), "--mode", "interpreter", "--json",
                                   "--threads", "1"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_josi(args);
}

TEST_F(ReleaseChecks, EvalOfTheF32GgufIsWhatTrainingReported) {
  const Json trained = josi::json::parse(read_text(dir() / "run" / "training_metrics.json"), "training_metrics.json");
  const double best_loss = trained["best_eval_loss"].get<double>();
  const double best_accuracy = trained["best_eval_token_accuracy"].get<double>();
  for (const fs::path& model : {f32(), merged()}) {
    auto r = eval(model, dir() / "val.jsonl", {"--no_generate"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const Json report = json_of(r);
    EXPECT_EQ(report["examples"], 2);
    EXPECT_NEAR(report["eval_loss"].get<double>(), best_loss, 0.01 * best_loss) << model;
    EXPECT_NEAR(report["token_accuracy"].get<double>(), best_accuracy, 0.01) << model;
    EXPECT_EQ(report["meets_targets"], false);
    EXPECT_FALSE(report.contains("generation")) << "--no_generate";
  }
  // The text report shows the seed's targets beside the numbers.
  auto text = run_josi({"eval", "--model", f32().string(), "--data", (dir() / "val.jsonl").string(), "--mode", "interpreter",
                        "--no_generate"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_TRUE(contains(text.out, "target < 0.01")) << text.out;
  EXPECT_TRUE(contains(text.out, "target > 99%")) << text.out;
  EXPECT_TRUE(contains(text.err, "ETA")) << "a progress bar with ETA";
}

TEST_F(ReleaseChecks, SanityOnTheMergedDirectoryAndItsGgufAgree) {
  for (const char* mode : {"interpreter", "explainer"}) {
    auto sanity = [&](const fs::path& model) {
      return run_josi({"sanity", "--model_path", model.string(), "--mode", mode, "--greedy", "--json", "--threads", "1"});
    };
    auto from_dir = sanity(merged());
    auto from_gguf = sanity(f32());
    EXPECT_EQ(from_dir.exit_code, from_gguf.exit_code) << from_dir.err << from_gguf.err;
    const Json a = json_of(from_dir), b = json_of(from_gguf);
    ASSERT_EQ(a["checks"].size(), std::string(mode) == "interpreter" ? 5u : 2u);
    EXPECT_EQ(a["score"], b["score"]);
    EXPECT_EQ(from_dir.exit_code, a["pass"] == true ? 0 : 1);
    for (size_t i = 0; i < a["checks"].size(); ++i) {
      EXPECT_EQ(a["checks"][i]["output"], b["checks"][i]["output"]) << mode << " check " << i + 1;
      EXPECT_EQ(a["checks"][i]["pass"], b["checks"][i]["pass"]) << mode << " check " << i + 1;
      EXPECT_FALSE(a["checks"][i]["output"].get<std::string>().empty());
    }
  }
  // The users' own system prompt in place of Josi's: the same checks, another prompt.
  const std::vector<std::string> greedy = {"sanity", "--model_path", f32().string(), "--mode", "interpreter", "--greedy",
                                           "--json", "--threads", "1"};
  auto with_prompt = greedy;
  with_prompt.insert(with_prompt.end(),
                     {"--system_prompt", (josi::test::reference_dir() / "prompts" / "interpreter_system.txt").string()});
  const auto josis = run_josi(greedy), users = run_josi(with_prompt);
  ASSERT_FALSE(users.out.empty()) << users.err;
  EXPECT_EQ(json_of(users)["checks"].size(), 5u);
  EXPECT_GT(json_of(users)["prefix_tokens"].get<int>(), 1200) << "the users' prompt is about 1,300 tokens";
  EXPECT_LT(json_of(josis)["prefix_tokens"].get<int>(), 700) << "Josi's own is about 550";
  // The table: prompt, expected, got, pass, and the score.
  auto table = run_josi({"sanity", "--model_path", f32().string(), "--mode", "interpreter", "--threads", "1"});
  EXPECT_TRUE(contains(table.out, "expected")) << table.out;
  EXPECT_TRUE(contains(table.out, "create_workout with sport \"run\"")) << table.out;
  EXPECT_TRUE(contains(table.out, "interpreter ") && contains(table.out, "/5")) << table.out;
}

TEST_F(ReleaseChecks, CompareMeasuresWhatQuantizationCosts) {
  for (const char* type : {"Q8_0", "Q4_K_M"}) {
    auto r = run_josi({"quantize", f32().string(), (dir() / (std::string(type) + ".gguf")).string(), type, "--keep-f16"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  auto self = eval(f32(), dir() / "val.jsonl", {"--compare", f32().string(), "--no_generate"});
  ASSERT_EQ(self.exit_code, 0) << self.err;
  const Json same = json_of(self)["compare"];
  EXPECT_EQ(same["kl"]["max"].get<double>(), 0.0);
  EXPECT_EQ(same["top1_agreement"].get<double>(), 1.0);
  EXPECT_EQ(same["delta_eval_loss"].get<double>(), 0.0);

  auto q8 = eval(dir() / "Q8_0.gguf", dir() / "val.jsonl", {"--compare", f32().string()});
  auto q4 = eval(dir() / "Q4_K_M.gguf", dir() / "val.jsonl", {"--compare", f32().string()});
  ASSERT_EQ(q8.exit_code, 0) << q8.err;
  ASSERT_EQ(q4.exit_code, 0) << q4.err;
  const Json c8 = json_of(q8)["compare"], c4 = json_of(q4)["compare"];
  EXPECT_GT(c8["kl"]["mean"].get<double>(), 0.0);
  EXPECT_LT(c8["kl"]["mean"].get<double>(), c4["kl"]["mean"].get<double>()) << "Q8_0 is closer to the reference";
  EXPECT_GE(c8["top1_agreement"].get<double>(), 0.9);
  // The generative pass: the constrained interpreter writes a request every time.
  const Json generation = json_of(q4)["generation"];
  EXPECT_EQ(generation["examples"], 2);
  EXPECT_EQ(generation["raw_json"], 2);
  EXPECT_EQ(generation["valid_after_postprocess"], 2);
  EXPECT_TRUE(generation["fields"].contains("action"));
}

TEST_F(ReleaseChecks, BadInputGetsOneClearLine) {
  TempDir work;
  auto expect_one_line = [](const RunResult& r, const std::string& part) {
    EXPECT_NE(r.exit_code, 0) << r.out;
    EXPECT_EQ(josi_lines(r.err), 1u) << r.err;
    EXPECT_TRUE(contains(r.err, part)) << r.err;
    EXPECT_TRUE(r.out.empty()) << r.out;
  };
  // Interpreter data read as explainer data.
  expect_one_line(run_josi({"eval", "--model", f32().string(), "--data", (dir() / "val.jsonl").string(), "--mode", "explainer"}),
                  "this looks like interpreter data, not --mode explainer");
  // An empty data file.
  write_text(work / "empty.jsonl", "");
  expect_one_line(eval(f32(), work / "empty.jsonl"), "empty.jsonl: no usable examples");
  // A model without ChatML control tokens.
  fs::create_directories(work / "no-chatml");
  for (const auto& e : fs::directory_iterator(merged())) fs::copy(e.path(), work / "no-chatml" / e.path().filename());
  std::string tokenizer = read_text(work / "no-chatml" / "tokenizer.json");
  for (size_t at; (at = tokenizer.find("<|im_start|>")) != std::string::npos;) tokenizer.replace(at, 12, "<|xx_start|>");
  write_text(work / "no-chatml" / "tokenizer.json", tokenizer);
  expect_one_line(run_josi({"sanity", "--model_path", (work / "no-chatml").string(), "--mode", "interpreter"}),
                  "no-chatml: the model has no <|im_start|> control token");
  expect_one_line(eval(work / "no-chatml", dir() / "val.jsonl"), "the model has no <|im_start|> control token");
  // A reference of another vocabulary: two tokens trade ids.
  fs::create_directories(work / "other-vocab");
  for (const auto& e : fs::directory_iterator(merged())) fs::copy(e.path(), work / "other-vocab" / e.path().filename());
  Json other = josi::json::parse(read_text(merged() / "tokenizer.json"), "tokenizer.json");
  auto& vocab = other["model"]["vocab"];
  std::string first, second;
  for (const auto& [token, id] : vocab.items()) {
    if (id == 1000) first = token;
    if (id == 1001) second = token;
  }
  vocab[first] = 1001;
  vocab[second] = 1000;
  write_text(work / "other-vocab" / "tokenizer.json", other.dump());
  expect_one_line(eval(f32(), dir() / "val.jsonl", {"--compare", (work / "other-vocab").string()}),
                  "other-vocab: another vocabulary than ");
  // A truncated GGUF and a wrong mode.
  std::string bytes = read_text(f32());
  write_text(work / "cut.gguf", bytes.substr(0, bytes.size() / 2));
  expect_one_line(run_josi({"sanity", "--model_path", (work / "cut.gguf").string(), "--mode", "interpreter"}), "cut.gguf");
  expect_one_line(run_josi({"sanity", "--model_path", f32().string(), "--mode", "coach"}),
                  "--mode must be interpreter or explainer");
}

}  // namespace
