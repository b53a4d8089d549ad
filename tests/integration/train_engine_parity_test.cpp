// Two independent implementations of Qwen2 and of Qwen3 agree: the trainer's
// libtorch forward pass and the inference engine (`josi logits`) on the same
// weights exported to F32 GGUF, for the base model and for a merged LoRA model.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <cstring>

#include "formats/peft_adapter.hpp"
#include "support/test_support.hpp"
#include "train/causal_lm.hpp"

namespace fs = std::filesystem;
using josi::test::read_text;
using josi::test::run_josi;
using josi::test::TempDir;

namespace {

const std::vector<int64_t> kTokens = {151644, 8948, 198, 2610, 525, 264, 11222, 13, 151645, 198, 151644, 77091, 198, 40, 1366, 264, 220, 19, 20, 9383, 1598};

// `josi logits` of `model_dir` exported to F32 GGUF: [tokens, vocab].
torch::Tensor engine_logits(const TempDir& dir, const fs::path& model_dir, const std::string& name) {
  const fs::path gguf = dir / (name + ".gguf"), out = dir / (name + ".bin");
  auto r = run_josi({"export-gguf", model_dir.string(), "--outfile", gguf.string(), "--outtype", "f32"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::string ids;
  for (int64_t t : kTokens) ids += (ids.empty() ? "" : ",") + std::to_string(t);
  r = run_josi({"logits", gguf.string(), "--tokens", ids, "--out", out.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string bytes = read_text(out);
  const int64_t n = static_cast<int64_t>(kTokens.size());
  EXPECT_EQ(bytes.size() % (n * 4), 0u);
  auto logits = torch::empty({n, static_cast<int64_t>(bytes.size() / 4 / n)}, torch::kFloat);
  std::memcpy(logits.data_ptr<float>(), bytes.data(), bytes.size());
  return logits;
}

torch::Tensor torch_logits(const josi::train::CausalLm& model) {
  return model.logits(torch::tensor(kTokens, torch::kLong).unsqueeze(0))[0];
}

// Largest difference relative to the spread of the logits. The engine keeps
// attention keys and values in F16 (as llama.cpp does), which moves logits by
// about 1e-3 of their spread; a real difference in the model (a wrong RoPE
// pair, a missing bias, the adapter below) moves them by 0.1 or more.
double relative_gap(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.std().item<double>();
}

void expect_parity(const std::string& preset) {
  setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);  // see train_cli_test.cpp
  TempDir dir;
  auto r = run_josi({"init-base", "--preset", preset, "--tokenizer", josi::test::qwen_tokenizer_json().string(), "--out",
                     (dir / "base").string(), "--seed", "5", "--dtype", "f32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  josi::train::CausalLm model(dir / "base", torch::kCPU, torch::kFloat);
  const auto expected = torch_logits(model);
  const auto engine = engine_logits(dir, dir / "base", "base");
  ASSERT_EQ(engine.sizes(), expected.sizes());
  EXPECT_LT(relative_gap(engine, expected), 5e-3);
  EXPECT_TRUE(torch::equal(engine.argmax(1), expected.argmax(1)));

  // With an adapter: libtorch's base + LoRA against the engine on the merged weights.
  auto& lora = model.attach_lora(josi::formats::LoraConfig{});
  {
    torch::NoGradGuard no_grad;
    torch::manual_seed(3);
    lora.values().normal_(0, 0.05);
  }
  auto config = lora.config();
  config.base_model_name_or_path = (dir / "base").string();
  josi::formats::write_peft_adapter(dir / "adapter", config, lora.adapter_tensors());
  r = run_josi({"merge", "--lora_path", (dir / "adapter").string(), "--output_path", (dir / "merged").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto adapted = torch_logits(model);
  EXPECT_GT(relative_gap(adapted, expected), 0.1);  // the adapter matters
  const auto merged = engine_logits(dir, dir / "merged", "merged");
  EXPECT_LT(relative_gap(merged, adapted), 5e-3);
  EXPECT_TRUE(torch::equal(merged.argmax(1), adapted.argmax(1)));
}

}  // namespace

TEST(TrainEngineParity, LibtorchForwardMatchesTheInferenceEngine) { expect_parity("tiny"); }

// Qwen3: per-head q/k norms, head_dim 128 where hidden / heads is 64, no biases.
TEST(TrainEngineParity, LibtorchQwen3ForwardMatchesTheInferenceEngine) { expect_parity("qwen3-tiny"); }
