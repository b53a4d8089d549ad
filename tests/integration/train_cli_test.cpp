// josi train and josi merge end to end on the tiny preset (pipeline.md §2-3):
// training on a dozen examples drives the completion loss toward zero and
// greedy generation then reproduces the targets; a run killed mid-way and
// resumed gives the same metrics and adapter as an uninterrupted one; the
// outputs are the seed's; merge feeds export-gguf; bad input stops before
// any long work.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <cmath>
#include <cstring>

#include "formats/peft_adapter.hpp"
#include "formats/safetensors.hpp"
#include "json/json.hpp"
#include "support/test_support.hpp"
#include "text/tokenizer.hpp"
#include "train/evaluation.hpp"
#include "train/causal_lm.hpp"
#include "train/training_data.hpp"

namespace fs = std::filesystem;
using josi::json::Json;
using josi::test::read_text;
using josi::test::run_josi;
using josi::test::TempDir;
using josi::test::write_text;

namespace {

std::vector<Json> read_jsonl(const fs::path& path) {
  std::vector<Json> lines;
  std::string text = read_text(path);
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    lines.push_back(josi::json::parse(text.substr(start, end - start), path.string()));
    start = end + 1;
  }
  return lines;
}

std::vector<std::string> common_flags(const fs::path& dir) {
  return {"--mode", "interpreter", "--base_model", (dir / "base").string(), "--train_data", (dir / "train.jsonl").string(),
          "--val_data", (dir / "val.jsonl").string(), "--device", "cpu", "--no_wandb"};
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

class TrainCli : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Test programs run side by side on few cores: OpenMP workers that spin
    // while waiting (libgomp's default) would starve the other josi runs.
    setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
    dir_ = new TempDir();
    const fs::path& d = dir_->path();
    auto r = run_josi({"init-base", "--preset", "tiny", "--tokenizer", josi::test::qwen_tokenizer_json().string(), "--out",
                       (d / "base").string(), "--seed", "1", "--dtype", "f32"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // A random model's logits stay within about +-5 (weights ~ N(0, 0.02)),
    // so no token can become likely; a final norm of 6 stands in for the
    // output scale of a trained model.
    {
      josi::formats::SafetensorsFile random(d / "base" / "model.safetensors");
      josi::formats::SafetensorsWriter scaled;
      for (const auto& t : random.tensors()) {
        std::string bytes(reinterpret_cast<const char*>(t.data), t.nbytes);
        if (t.name == "model.norm.weight") {
          std::vector<float> six(static_cast<size_t>(t.numel()), 6.0f);
          bytes.assign(reinterpret_cast<const char*>(six.data()), t.nbytes);
        }
        scaled.add_bytes(t.name, t.dtype, t.shape, bytes);
      }
      scaled.write(d / "scaled.safetensors");
    }
    fs::rename(d / "scaled.safetensors", d / "base" / "model.safetensors");
    const std::string examples = josi::test::dozen_interpreter_examples();
    write_text(d / "train.jsonl", examples);
    std::string val;
    size_t line = 0, start = 0;
    for (size_t end; (end = examples.find('\n', start)) != std::string::npos; start = end + 1, ++line)
      if (line == 1 || line == 10) val += examples.substr(start, end - start + 1);
    write_text(d / "val.jsonl", val);
  }
  static void TearDownTestSuite() { delete dir_; }
  static TempDir* dir_;
};
TempDir* TrainCli::dir_ = nullptr;

}  // namespace

TEST_F(TrainCli, ADozenExamplesAreLearnedAndGreedyGenerationReproducesThem) {
  const fs::path& d = dir_->path();
  const fs::path run = d / "learn";
  auto r = run_josi(concat(concat({"train"}, common_flags(d)), {"--output_dir", run.string(), "--epochs", "30", "--lr", "4e-3", "--lora_dropout",
                                             "0", "--batch_size", "4", "--grad_accum", "1", "--early_stopping_patience", "0"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("12 of 12 examples used"), std::string::npos) << r.out;

  const auto metrics = read_jsonl(run / "metrics.jsonl");
  ASSERT_FALSE(metrics.empty());
  EXPECT_GT(metrics.front()["loss"].get<double>(), 5.0);
  const Json summary = josi::json::parse(read_text(run / "training_metrics.json"), "training_metrics.json");
  EXPECT_LT(summary["best_eval_loss"].get<double>(), 0.05);
  EXPECT_EQ(summary["best_eval_token_accuracy"].get<double>(), 1.0);
  EXPECT_EQ(summary["total_steps"].get<int64_t>(), 90);
  EXPECT_EQ(summary["epochs_completed"].get<double>(), 30.0);

  // Greedy decoding with the saved adapter writes every training target.
  auto tokenizer = josi::text::Tokenizer::load(d / "base" / "tokenizer.json");
  josi::train::CausalLm model(d / "base", torch::kCPU, torch::kFloat);
  model.attach_lora(josi::formats::PeftAdapter(run / "lora_weights"));
  auto data = josi::data::tokenize_dataset(d / "train.jsonl", josi::data::DatasetMode::interpreter, tokenizer, 2048);
  int reproduced = 0;
  for (const auto& e : data.examples) {
    std::vector<int32_t> prompt(e.ids.begin(), e.ids.begin() + e.prompt_tokens);
    auto out = josi::train::greedy_generate(model, prompt, 40, tokenizer.token_id("<|im_end|>"));
    reproduced += out == std::vector<int32_t>(e.ids.begin() + e.prompt_tokens, e.ids.end());
  }
  EXPECT_EQ(reproduced, 12);

  // The trained adapter as a GGUF file applied at run time on the F32 base
  // gives the logits of the merged F32 model and the same greedy answers.
  r = run_josi({"export-gguf", "--lora", (run / "lora_weights").string(), "--outfile", (d / "learn.gguf").string(), "--outtype", "f32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_josi({"merge", "--lora_path", (run / "lora_weights").string(), "--output_path", (d / "learn-merged").string(), "--dtype", "f32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const auto& [dir, file] : {std::pair{d / "base", d / "base-f32.gguf"}, std::pair{d / "learn-merged", d / "merged-f32.gguf"}}) {
    r = run_josi({"export-gguf", dir.string(), "--outfile", file.string(), "--outtype", "f32"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const auto logits = [&](const std::vector<std::string>& model) {
    std::vector<std::string> args = {"logits"};
    args.insert(args.end(), model.begin(), model.end());
    std::string ids;
    for (int32_t t : data.examples[0].ids) ids += (ids.empty() ? "" : ",") + std::to_string(t);
    const fs::path out = d / "logits.bin";
    auto run_logits = run_josi(concat(args, {"--tokens", ids, "--out", out.string()}));
    EXPECT_EQ(run_logits.exit_code, 0) << run_logits.err;
    const std::string bytes = read_text(out);
    std::vector<float> v(bytes.size() / 4);
    std::memcpy(v.data(), bytes.data(), bytes.size());
    return v;
  };
  const auto adapted = logits({(d / "base-f32.gguf").string(), "--adapter", (d / "learn.gguf").string()});
  const auto merged = logits({(d / "merged-f32.gguf").string()});
  const auto base = logits({(d / "base-f32.gguf").string()});
  ASSERT_EQ(adapted.size(), merged.size());
  double gap = 0, moved = 0, scale = 0;
  for (size_t i = 0; i < merged.size(); ++i) {
    gap = std::max(gap, std::abs(double{adapted[i]} - merged[i]));
    moved = std::max(moved, std::abs(double{base[i]} - merged[i]));
    scale = std::max(scale, std::abs(double{merged[i]}));
  }
  EXPECT_LT(gap / scale, 1e-4);
  EXPECT_GT(moved / scale, 0.1);  // training moved the model
  for (const char* message : {"45 minute run today", "Can I do a 30 minute bike ride"}) {
    const auto generate = [&](const std::vector<std::string>& model) {
      std::vector<std::string> args = {"generate"};
      args.insert(args.end(), model.begin(), model.end());
      auto g = run_josi(concat(args, {"--prompt", message, "--greedy", "--max_tokens", "40"}));
      EXPECT_EQ(g.exit_code, 0) << g.err;
      return g.out;
    };
    const std::string answer = generate({(d / "merged-f32.gguf").string()});
    EXPECT_EQ(generate({(d / "base-f32.gguf").string(), "--adapter", (d / "learn.gguf").string()}), answer);
    EXPECT_NE(generate({(d / "base-f32.gguf").string()}), answer);
  }
}

TEST_F(TrainCli, ARunWritesTheSeedsOutputs) {
  const fs::path& d = dir_->path();
  const fs::path run = d / "outputs";
  auto r = run_josi(concat(concat({"train"}, common_flags(d)), {"--output_dir", run.string(), "--max_steps", "5", "--batch_size", "4",
                                             "--grad_accum", "1", "--lr", "1e-3"}));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const Json config = josi::json::parse(read_text(run / "training_config.json"), "training_config.json");
  for (const char* key : {"mode", "base_model", "train_data", "val_data", "timestamp", "lora_r", "lora_alpha", "lora_dropout",
                          "target_modules", "learning_rate", "num_train_epochs", "per_device_train_batch_size",
                          "gradient_accumulation_steps", "max_seq_length", "warmup_ratio", "lr_scheduler_type",
                          "max_grad_norm", "eval_steps", "save_total_limit", "early_stopping_patience",
                          "early_stopping_threshold", "total_steps", "warmup_steps"})
    EXPECT_TRUE(config.contains(key)) << key;
  EXPECT_EQ(config["lora_r"], 16);
  EXPECT_EQ(config["lora_alpha"], 32.0);
  EXPECT_EQ(config["target_modules"].size(), 7u);
  EXPECT_EQ(config["warmup_steps"], 1);  // ceil(5 * 0.05)
  const Json summary = josi::json::parse(read_text(run / "training_metrics.json"), "training_metrics.json");
  for (const char* key : {"train_loss", "best_eval_loss", "total_steps", "epochs_completed"}) EXPECT_TRUE(summary.contains(key)) << key;

  // Metrics: one line per step, one per evaluation (every step here: 12 / (4 x 1 x 4) < 1).
  const auto metrics = read_jsonl(run / "metrics.jsonl");
  EXPECT_EQ(metrics.size(), 10u);
  EXPECT_EQ(metrics[0]["learning_rate"].get<double>(), 0.0);  // warmup starts at zero
  EXPECT_TRUE(metrics[1].contains("eval_token_accuracy"));
  // At most three checkpoints; the adapters are PEFT directories.
  int checkpoints = 0;
  for (const auto& entry : fs::directory_iterator(run)) checkpoints += entry.path().filename().string().rfind("checkpoint-", 0) == 0;
  EXPECT_EQ(checkpoints, 3);
  for (const char* dir : {"lora_weights", "final"}) {
    const Json adapter = josi::json::parse(read_text(run / dir / "adapter_config.json"), "adapter_config.json");
    EXPECT_EQ(adapter["peft_type"], "LORA");
    EXPECT_EQ(adapter["task_type"], "CAUSAL_LM");
    EXPECT_EQ(adapter["base_model_name_or_path"], fs::absolute(d / "base").lexically_normal().string());
    EXPECT_EQ(josi::formats::PeftAdapter(run / dir).pairs().size(), 14u);
  }
  EXPECT_TRUE(fs::exists(run / "final" / "tokenizer.json"));
  EXPECT_EQ(read_text(run / "loss_curve.svg").rfind("<svg", 0), 0u);
  EXPECT_NE(read_text(run / "loss_curve.svg").find("<polyline"), std::string::npos);

  // merge -> a complete model directory, which export-gguf converts.
  r = run_josi({"merge", "--lora_path", (run / "lora_weights").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("14 adapted weights"), std::string::npos) << r.out;
  for (const char* file : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"})
    EXPECT_TRUE(fs::exists(run / "merged" / file)) << file;
  r = run_josi({"export-gguf", (run / "merged").string(), "--outfile", (d / "merged.gguf").string(), "--outtype", "f16"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(TrainCli, AKilledRunResumesToTheSameMetricsAndAdapter) {
  const fs::path& d = dir_->path();
  const std::vector<std::string> settings = {"--max_steps", "9", "--batch_size", "2", "--grad_accum", "2", "--lr", "2e-3"};
  josi::test::expect_killed_run_resumes(concat(concat({"train"}, common_flags(d)), settings), d / "resume", 4);
}

TEST_F(TrainCli, BadInputStopsBeforeAnyLongWork) {
  const fs::path& d = dir_->path();
  auto expect_error = [&](std::vector<std::string> args, const std::string& message, int code) {
    auto r = run_josi(args);
    EXPECT_EQ(r.exit_code, code) << r.err;
    EXPECT_NE(r.err.find(message), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;  // one line
  };
  auto train_flags = [&](const std::string& out) { return concat({"train"}, concat(common_flags(d), {"--output_dir", (d / out).string()})); };

  // Missing base files.
  fs::create_directories(d / "empty-base");
  fs::copy_file(d / "base" / "config.json", d / "empty-base" / "config.json");
  auto args = train_flags("bad1");
  args[std::find(args.begin(), args.end(), "--base_model") - args.begin() + 1] = (d / "empty-base").string();
  expect_error(args, "empty-base", 3);
  args[std::find(args.begin(), args.end(), "--base_model") - args.begin() + 1] = (d / "nowhere").string();
  expect_error(args, "--base_model", 3);

  // Data with no usable examples; explainer data under --mode interpreter.
  write_text(d / "unusable.jsonl", R"({"messages": [{"role": "user", "content": "hi"}]})" "\n");
  args = train_flags("bad2");
  args[std::find(args.begin(), args.end(), "--train_data") - args.begin() + 1] = (d / "unusable.jsonl").string();
  expect_error(args, "unusable.jsonl: no usable examples", 1);
  write_text(d / "explainer.jsonl",
             R"({"messages": [{"role": "user", "content": "Why easy?"}, {"role": "assistant", "content": "You rode hard yesterday."}]})"
             "\n");
  args[std::find(args.begin(), args.end(), "--train_data") - args.begin() + 1] = (d / "explainer.jsonl").string();
  expect_error(args, "looks like explainer data, not --mode interpreter", 1);
  EXPECT_FALSE(fs::exists(d / "bad2"));  // nothing written

  // An existing run directory is never overwritten; --mode is needed.
  fs::create_directories(d / "taken");
  write_text(d / "taken" / "keep.txt", "mine");
  expect_error(train_flags("taken"), "already exists and is not empty", 3);
  EXPECT_EQ(read_text(d / "taken" / "keep.txt"), "mine");
  expect_error({"train", "--device", "cpu"}, "--mode is required", 2);
  expect_error({"train", "--resume", (d / "taken").string()}, "no training_config.json", 3);

  // Adapters for another base model: a layer this base lacks, a shape it does not have.
  josi::formats::LoraConfig lora;
  lora.r = 2;
  lora.target_modules = {"q_proj"};
  lora.base_model_name_or_path = (d / "base").string();
  auto pair = [](int layer, int64_t in) {
    const std::string key = "base_model.model.model.layers." + std::to_string(layer) + ".self_attn.q_proj.lora_";
    return std::vector<josi::formats::AdapterTensor>{
        {key + "A.weight", josi::formats::DType::F32, {2, in}, std::string(static_cast<size_t>(2 * in * 4), '\0')},
        {key + "B.weight", josi::formats::DType::F32, {in, 2}, std::string(static_cast<size_t>(in * 2 * 4), '\0')}};
  };
  josi::formats::write_peft_adapter(d / "deep-adapter", lora, pair(5, 256));
  expect_error({"merge", "--lora_path", (d / "deep-adapter").string()}, "which " + (d / "base").string() + " does not have", 1);
  josi::formats::write_peft_adapter(d / "wide-adapter", lora, pair(0, 512));
  expect_error({"merge", "--lora_path", (d / "wide-adapter").string(), "--output_path", (d / "wide-merged").string()},
               "(an adapter for another base model?)", 1);
  EXPECT_FALSE(fs::exists(d / "wide-merged"));
}
