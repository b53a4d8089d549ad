// The train layer's model and math (pipeline.md §2-3, formats.md): LoRA with
// B = 0 is the base model, recomputation changes no gradient, the chunked
// loss is the cross-entropy, adapters use PEFT's names, merging is
// W + (alpha / r) B A, the optimizer and schedule are torch's and
// transformers'.
#include <gtest/gtest.h>

#include <cmath>

#include "base/error.hpp"
#include "formats/base_model_init.hpp"
#include "formats/safetensors.hpp"
#include "support/test_support.hpp"
#include "train/adamw.hpp"
#include "train/lm_loss.hpp"
#include "train/lr_schedule.hpp"
#include "lora/merge.hpp"
#include "train/causal_lm.hpp"
#include "train/torch_tensors.hpp"

using namespace josi::train;
using josi::lora::merge_adapter;
using josi::lora::MergeOptions;
namespace fs = std::filesystem;
using josi::formats::DType;
using josi::test::TempDir;
using josi::test::write_text;

namespace {

// A small Qwen2 (vocab 384, hidden 64, 3 layers, GQA 4/2 heads) with seeded
// random weights: every code path of the real shapes, fast on a CPU.
josi::formats::ModelConfig small_config(int64_t hidden = 64) {
  auto c = *josi::formats::preset_config("tiny");
  c.vocab_size = 384;
  c.hidden_size = hidden;
  c.intermediate_size = 96;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  return c;
}

fs::path write_model(const TempDir& dir, const std::string& name, DType dtype, int64_t hidden = 64, uint64_t seed = 7) {
  const fs::path tokenizer = dir / "tokenizer-stub.json";
  write_text(tokenizer, R"({"model": {"vocab": {}}})");
  josi::formats::InitBaseOptions o;
  o.tokenizer_json = tokenizer;
  o.out = dir / name;
  o.seed = seed;
  o.dtype = dtype;
  o.progress = false;
  josi::formats::write_random_model(small_config(hidden), o);
  return o.out;
}

josi::formats::LoraConfig lora_config(double dropout = 0.0) {
  josi::formats::LoraConfig c;
  c.r = 4;
  c.lora_alpha = 8;
  c.lora_dropout = dropout;
  return c;
}

// B random too, so the adapter changes the model.
void randomize(LoraWeights& lora, uint64_t seed) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  lora.values().normal_(0, 0.05);
}

torch::Tensor sample_ids() { return torch::tensor({{5, 17, 99, 250, 3, 42, 7, 300}, {11, 12, 13, 14, 15, 16, 383, 0}}, torch::kLong); }

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const josi::Error& e) {
    return e.what();
  }
  return "";
}

class TrainModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    f32_ = write_model(*dir_, "base-f32", DType::F32);
    bf16_ = write_model(*dir_, "base-bf16", DType::BF16);
  }
  static void TearDownTestSuite() { delete dir_; }
  static TempDir* dir_;
  static fs::path f32_, bf16_;
};
TempDir* TrainModel::dir_ = nullptr;
fs::path TrainModel::f32_, TrainModel::bf16_;

}  // namespace

TEST_F(TrainModel, LoraWithZeroBReproducesTheBaseLogits) {
  CausalLm model(f32_, torch::kCPU, torch::kFloat);
  const auto base = model.logits(sample_ids());
  ASSERT_EQ(base.sizes(), (std::vector<int64_t>{2, 8, 384}));
  auto& lora = model.attach_lora(lora_config());
  lora.init_fresh(1);
  EXPECT_GT(lora.modules().front().a.abs().max().item<double>(), 0.0);  // A is random, B zero
  EXPECT_TRUE(torch::equal(model.logits(sample_ids()), base));
  randomize(lora, 2);
  EXPECT_GT((model.logits(sample_ids()) - base).abs().max().item<double>(), 1e-4);
}

TEST_F(TrainModel, AdaptersCoverTheSevenProjectionsOfEveryLayer) {
  CausalLm model(f32_, torch::kCPU, torch::kFloat);
  auto& lora = model.attach_lora(lora_config());
  ASSERT_EQ(lora.modules().size(), 3u * 7u);
  const auto& down = lora.modules()[6];
  EXPECT_EQ(down.shape.base_weight, "model.layers.0.mlp.down_proj.weight");
  EXPECT_EQ(down.a.sizes(), (std::vector<int64_t>{4, 96}));
  EXPECT_EQ(down.b.sizes(), (std::vector<int64_t>{64, 4}));
  const auto& k = lora.modules()[1];
  EXPECT_EQ(k.b.sizes(), (std::vector<int64_t>{32, 4}));  // 2 KV heads of 16
  auto only = lora_config();
  only.target_modules = {"q_proj", "v_proj"};
  EXPECT_EQ(model.attach_lora(only).modules().size(), 6u);
  only.target_modules = {"lm_head"};
  EXPECT_NE(error_of([&] { model.attach_lora(only); }).find("is not a projection of the model"), std::string::npos);
}

TEST_F(TrainModel, RecomputationGivesTheSameLossAndGradients) {
  // With dropout on, so the replayed masks must be the forward's.
  auto run = [&](bool recompute) {
    CausalLm model(f32_, torch::kCPU, torch::kFloat);
    auto& lora = model.attach_lora(lora_config(0.1));
    randomize(lora, 3);
    torch::manual_seed(11);
    auto hidden = model.hidden_states(sample_ids(), {/*train=*/true, recompute});
    auto positions = torch::tensor({2, 3, 4, 9, 10}, torch::kLong);
    auto targets = torch::tensor({1, 2, 3, 4, 5}, torch::kLong);
    auto loss = lm_loss(select_positions(hidden, positions), model.output_weight(), targets);
    loss.loss_sum.backward();
    return std::make_pair(loss.loss_sum.item<double>(), lora.grads().clone());
  };
  auto [plain_loss, plain_grads] = run(false);
  auto [recomputed_loss, recomputed_grads] = run(true);
  EXPECT_DOUBLE_EQ(plain_loss, recomputed_loss);
  EXPECT_GT(plain_grads.abs().max().item<double>(), 0.0);
  EXPECT_TRUE(torch::allclose(plain_grads, recomputed_grads, 1e-5, 1e-7));
}

TEST(TrainLoss, ChunkedLossIsTheCrossEntropyAndItsGradient) {
  torch::manual_seed(5);
  auto hidden = torch::randn({7, 16}).requires_grad_(true);
  auto weight = torch::randn({50, 16});
  auto targets = torch::tensor({0, 49, 3, 3, 17, 25, 8}, torch::kLong);
  auto chunked = lm_loss(hidden, weight, targets, /*chunk_rows=*/3);
  (chunked.loss_sum * 0.5).backward();

  auto reference_hidden = hidden.detach().clone().requires_grad_(true);
  auto logits = torch::matmul(reference_hidden, weight.t());
  auto reference = torch::nn::functional::cross_entropy(
      logits, targets, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
  (reference * 0.5).backward();
  EXPECT_NEAR(chunked.loss_sum.item<double>(), reference.item<double>(), 1e-4);
  EXPECT_TRUE(torch::allclose(hidden.grad(), reference_hidden.grad(), 1e-4, 1e-6));
  EXPECT_EQ(chunked.correct.item<int64_t>(), (logits.argmax(1) == targets).sum().item<int64_t>());
}

TEST_F(TrainModel, AdapterFilesUseThePeftKeyNamesAndLoadBack) {
  TempDir out;
  CausalLm model(f32_, torch::kCPU, torch::kFloat);
  auto& lora = model.attach_lora(lora_config());
  randomize(lora, 4);
  josi::formats::write_peft_adapter(out / "adapter", lora.config(), lora.adapter_tensors());

  josi::formats::SafetensorsFile file(out / "adapter" / "adapter_model.safetensors");
  const auto* a = file.find("base_model.model.model.layers.2.self_attn.q_proj.lora_A.weight");
  const auto* b = file.find("base_model.model.model.layers.2.mlp.down_proj.lora_B.weight");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->shape, (std::vector<int64_t>{4, 64}));
  EXPECT_EQ(b->shape, (std::vector<int64_t>{64, 4}));
  EXPECT_EQ(file.tensors().size(), 3u * 7u * 2u);

  CausalLm again(f32_, torch::kCPU, torch::kFloat);
  again.attach_lora(josi::formats::PeftAdapter(out / "adapter"));
  EXPECT_TRUE(torch::equal(again.lora()->values(), lora.values()));
  EXPECT_TRUE(torch::equal(again.logits(sample_ids()), model.logits(sample_ids())));

  // Python PEFT versions that keep the adapter name in the key.
  josi::formats::SafetensorsWriter renamed;
  for (const auto& t : file.tensors()) {
    std::string key = t.name;
    key.insert(key.size() - std::string(".weight").size(), ".default");
    renamed.add_bytes(key, t.dtype, t.shape, std::string(reinterpret_cast<const char*>(t.data), t.nbytes));
  }
  fs::create_directories(out / "python");
  fs::copy_file(out / "adapter" / "adapter_config.json", out / "python" / "adapter_config.json");
  renamed.write(out / "python" / "adapter_model.safetensors");
  CausalLm python(f32_, torch::kCPU, torch::kFloat);
  python.attach_lora(josi::formats::PeftAdapter(out / "python"));
  EXPECT_TRUE(torch::equal(python.lora()->values(), lora.values()));
}

TEST_F(TrainModel, AnAdapterForAnotherBaseIsRefused) {
  TempDir out;
  const fs::path wide = write_model(out, "wide", DType::F32, /*hidden=*/128);
  CausalLm other(wide, torch::kCPU, torch::kFloat);
  auto& lora = other.attach_lora(lora_config());
  josi::formats::write_peft_adapter(out / "adapter", lora.config(), lora.adapter_tensors());
  CausalLm model(f32_, torch::kCPU, torch::kFloat);
  EXPECT_NE(error_of([&] { model.attach_lora(josi::formats::PeftAdapter(out / "adapter")); }).find("another base model"),
            std::string::npos);
  MergeOptions merge;
  merge.lora_path = out / "adapter";
  merge.base_model = f32_;
  merge.output_path = out / "merged";
  merge.progress = false;
  EXPECT_NE(error_of([&] { merge_adapter(merge); }).find("another base model"), std::string::npos);
  EXPECT_FALSE(fs::exists(out / "merged"));
}

TEST_F(TrainModel, MergedWeightsAreBasePlusScaledBAAndGiveTheAdaptedLogits) {
  TempDir out;
  CausalLm model(f32_, torch::kCPU, torch::kFloat);
  auto config = lora_config();
  config.base_model_name_or_path = f32_.string();
  auto& lora = model.attach_lora(config);
  randomize(lora, 6);
  josi::formats::write_peft_adapter(out / "run" / "lora_weights", lora.config(), lora.adapter_tensors());

  MergeOptions merge;
  merge.lora_path = out / "run" / "lora_weights";
  merge.progress = false;
  const auto summary = merge_adapter(merge);
  EXPECT_EQ(summary.output, out / "run" / "merged");  // beside lora_weights/, from the adapter's base
  EXPECT_EQ(summary.merged_weights, 21u);
  EXPECT_EQ(summary.dtype, DType::F32);
  for (const char* name : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"})
    EXPECT_TRUE(fs::exists(summary.output / name)) << name;

  josi::formats::SafetensorsModel base(f32_), merged(summary.output);
  ASSERT_EQ(merged.tensors().size(), base.tensors().size());
  const double scale = 8.0 / 4.0;
  for (const auto& m : lora.modules()) {
    const auto& w = base.at(m.shape.base_weight);
    const auto& got = merged.at(m.shape.base_weight);
    auto a = m.a.detach().contiguous(), b = m.b.detach().contiguous();
    const float* pa = a.data_ptr<float>();
    const float* pb = b.data_ptr<float>();
    const auto* pw = reinterpret_cast<const float*>(w.data);
    const auto* pg = reinterpret_cast<const float*>(got.data);
    const int64_t rows = w.shape[0], cols = w.shape[1];
    double worst = 0;
    for (int64_t o = 0; o < rows; ++o)
      for (int64_t i = 0; i < cols; ++i) {
        double delta = 0;
        for (int64_t k = 0; k < 4; ++k) delta += static_cast<double>(pb[o * 4 + k]) * pa[k * cols + i];
        worst = std::max(worst, std::fabs(pg[o * cols + i] - (pw[o * cols + i] + scale * delta)));
      }
    EXPECT_LT(worst, 1e-6) << m.shape.base_weight;
  }
  const auto& norm = merged.at("model.norm.weight");
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(norm.data), norm.nbytes),
            std::string(reinterpret_cast<const char*>(base.at("model.norm.weight").data), norm.nbytes));

  CausalLm merged_model(summary.output, torch::kCPU, torch::kFloat);
  EXPECT_TRUE(torch::allclose(merged_model.logits(sample_ids()), model.logits(sample_ids()), 1e-4, 1e-5));
}

TEST_F(TrainModel, MergeKeepsTheBaseTypeOrWritesTheOneAsked) {
  TempDir out;
  CausalLm model(bf16_, torch::kCPU, torch::kFloat);
  auto& lora = model.attach_lora(lora_config());
  randomize(lora, 8);
  josi::formats::write_peft_adapter(out / "adapter", lora.config(), lora.adapter_tensors());
  MergeOptions merge;
  merge.lora_path = out / "adapter";
  merge.base_model = bf16_;
  merge.output_path = out / "merged";
  merge.progress = false;
  EXPECT_EQ(merge_adapter(merge).dtype, DType::BF16);
  EXPECT_EQ(josi::formats::SafetensorsModel(out / "merged").at("model.layers.0.self_attn.q_proj.weight").dtype, DType::BF16);
  EXPECT_NE(josi::test::read_text(out / "merged" / "config.json").find("\"bfloat16\""), std::string::npos);
  // Merging again replaces the earlier merge.
  merge.dtype = DType::F16;
  merge_adapter(merge);
  EXPECT_EQ(josi::formats::SafetensorsModel(out / "merged").at("model.norm.weight").dtype, DType::F16);
  // A directory that is not a model is never replaced.
  fs::create_directories(out / "notes");
  write_text(out / "notes" / "todo.txt", "mine");
  merge.output_path = out / "notes";
  EXPECT_NE(error_of([&] { merge_adapter(merge); }).find("does not hold a model"), std::string::npos);
  EXPECT_EQ(josi::test::read_text(out / "notes" / "todo.txt"), "mine");
  // A hub name is not a directory.
  auto hub = lora_config();
  hub.base_model_name_or_path = "Qwen/Qwen2.5-1.5B-Instruct";
  josi::formats::write_peft_adapter(out / "hub", hub, lora.adapter_tensors());
  merge.lora_path = out / "hub";
  merge.base_model.clear();
  merge.output_path = out / "merged";
  EXPECT_NE(error_of([&] { merge_adapter(merge); }).find("pass --base_model"), std::string::npos);
}

TEST(TrainOptimizer, AdamWMatchesLibtorchsAdamW) {
  torch::manual_seed(9);
  auto mine = torch::randn({40});
  auto theirs = mine.clone().requires_grad_(true);
  AdamWSettings settings;
  settings.weight_decay = 0.01;
  AdamW adamw(mine, settings);
  torch::optim::AdamW reference({theirs}, torch::optim::AdamWOptions(1e-2).betas({0.9, 0.999}).eps(1e-8).weight_decay(0.01));
  for (int step = 0; step < 5; ++step) {
    auto grad = torch::randn({40});
    adamw.step(mine, grad, 1e-2);
    theirs.mutable_grad() = grad.clone();
    reference.step();
  }
  EXPECT_TRUE(torch::allclose(mine, theirs.detach(), 1e-6, 1e-7));
  EXPECT_EQ(adamw.steps(), 5);
}

TEST(TrainOptimizer, ClippingBoundsTheGlobalNorm) {
  auto grads = torch::full({4}, 2.0);  // norm 4
  EXPECT_NEAR(clip_grad_norm(grads, 1.0), 4.0, 1e-9);
  EXPECT_NEAR(grads.norm().item<double>(), 1.0, 1e-5);
  auto small = torch::full({4}, 0.1);
  clip_grad_norm(small, 1.0);
  EXPECT_FLOAT_EQ(small[0].item<float>(), 0.1f);  // unchanged
}

TEST(TrainSchedule, WarmupThenCosineAsTransformers) {
  LrSchedule s(5e-5, 100, 0.05);
  EXPECT_EQ(s.warmup_steps(), 5);
  EXPECT_EQ(s.lr_at(0), 0.0);
  EXPECT_NEAR(s.lr_at(2), 2e-5, 1e-12);
  EXPECT_NEAR(s.lr_at(5), 5e-5, 1e-12);
  EXPECT_NEAR(LrSchedule(1.0, 10, 0.0).lr_at(5), 0.5, 1e-12);  // half-way down the cosine
  EXPECT_NEAR(s.lr_at(100), 0.0, 1e-12);
  EXPECT_EQ(LrSchedule(1e-4, 364, 0.05).warmup_steps(), 19);  // ceil(18.2)
}
