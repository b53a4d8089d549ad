// The inference engine on the tiny preset (real Qwen tokenizer, random
// weights): the F32 path against a plain double-precision forward pass written
// here from the Hugging Face safetensors; every weight type's fast paths
// against the scalar reference; batch against token-by-token; generation,
// logits and bench through the CLI; LoRA adapters exported to GGUF and
// applied at run time against their merge into the base; and the bad inputs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/error.hpp"
#include "formats/dtype.hpp"
#include "formats/gguf.hpp"
#include "formats/safetensors.hpp"
#include "infer/context.hpp"
#include "infer/generator.hpp"
#include "json/json.hpp"
#include "kernels/cpu_features.hpp"
#include "support/reference_forward.hpp"
#include "support/test_support.hpp"
#include "text/chat_template.hpp"

using josi::test::all_logits;
using josi::test::IsaGuard;
using josi::test::ReferenceForward;
using josi::test::relative_difference;
using josi::test::run_josi;
using josi::test::supported_isas;
using josi::test::TempDir;
namespace fs = std::filesystem;
namespace infer = josi::infer;
namespace kernels = josi::kernels;

namespace {

class Inference : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const auto tok = josi::test::qwen_tokenizer_json();
    ASSERT_TRUE(fs::exists(tok)) << tok << " missing: run scripts/test.sh (it installs the npm test peers)";
    auto r = run_josi({"init-base", "--preset", "tiny", "--tokenizer", tok.string(), "--out", hf().string(), "--seed", "5",
                       "--dtype", "f32"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = run_josi({"export-gguf", hf().string(), "--outfile", gguf("f32").string(), "--outtype", "f32"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* type : {"f16", "bf16"}) {
      r = run_josi({"export-gguf", hf().string(), "--outfile", gguf(type).string(), "--outtype", type});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    for (const char* type : {"Q8_0", "Q4_0", "Q5_0", "Q5_1", "Q4_K_S", "Q5_K_S", "Q6_K", "Q4_K_M"}) {
      r = run_josi({"quantize", gguf("f32").string(), gguf(type).string(), type, "--keep-f16"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path hf() { return dir_->path() / "hf"; }
  static fs::path gguf(const std::string& type) { return dir_->path() / ("tiny-" + type + ".gguf"); }
  static fs::path work() { return dir_->path(); }
  static TempDir* dir_;
};
TempDir* Inference::dir_ = nullptr;

const std::vector<int32_t> kTokens = {151644, 872, 198, 40, 1366, 264, 220, 19, 20, 9383, 1598, 3351, 151645, 198};

}  // namespace

TEST_F(Inference, F32MatchesAnIndependentForwardPass) {
  const auto expected = ReferenceForward(hf()).logits(kTokens);
  IsaGuard guard;
  for (auto isa : supported_isas()) {
    kernels::set_active_isa(isa);
    const auto got = all_logits(gguf("f32"), kTokens);
    ASSERT_EQ(got.size(), expected.size());
    EXPECT_LT(relative_difference(got, expected), 1e-4) << kernels::isa_name(isa);
  }
}

TEST_F(Inference, LlamaInterleavedRopeMatchesTheIndependentForwardPass) {
  // The tiny model relabelled as llama: the export permutes Q/K rows so the
  // engine's interleaved RoPE must equal rotate-half on the original weights.
  const auto dir = work() / "llama";
  fs::create_directories(dir);
  for (const char* f : {"model.safetensors", "tokenizer.json", "tokenizer_config.json"}) fs::copy(hf() / f, dir / f);
  auto config = josi::json::Json::parse(josi::test::read_text(hf() / "config.json"));
  config["architectures"] = {"LlamaForCausalLM"};
  config["model_type"] = "llama";
  josi::test::write_text(dir / "config.json", config.dump());
  const auto out = work() / "llama.gguf";
  auto r = run_josi({"export-gguf", dir.string(), "--outfile", out.string(), "--outtype", "f32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(infer::Model(out).hparams().rope, infer::RopeStyle::interleaved);
  EXPECT_LT(relative_difference(all_logits(out, kTokens), ReferenceForward(dir, false).logits(kTokens)), 1e-4);
}

TEST_F(Inference, EveryWeightTypeFastPathsMatchTheScalarReference) {
  IsaGuard guard;
  kernels::set_active_isa(kernels::Isa::scalar);
  const auto f32 = all_logits(gguf("f32"), kTokens);
  for (const char* type : {"f32", "f16", "bf16", "Q8_0", "Q4_0", "Q5_0", "Q5_1", "Q4_K_S", "Q5_K_S", "Q6_K", "Q4_K_M"}) {
    kernels::set_active_isa(kernels::Isa::scalar);
    const auto scalar = all_logits(gguf(type), kTokens);
    // Quantization error relative to the F32 model, per type (measured, with margin).
    const double budget = std::string(type).find("Q4") == 0 ? 0.25 : std::string(type).find("Q5") == 0 ? 0.12 : 0.06;
    EXPECT_LT(relative_difference(scalar, f32), budget) << type;
    for (auto isa : supported_isas()) {
      kernels::set_active_isa(isa);
      // Each matmul agrees with the scalar path to ~3e-7 (kernels_test); end
      // to end a last-bit difference can flip one rounding downstream: an F16
      // rounding in the KV cache (2^-11 relative) for float weights, or for
      // quantized weights an 8-bit activation rounding (one step, 1/127 of a
      // block's maximum), which moves logits by up to ~0.5% of their range.
      const double tolerance = std::string(type).find('Q') == 0 ? 2e-2 : 1e-4;
      EXPECT_LT(relative_difference(all_logits(gguf(type), kTokens), scalar), tolerance) << type << " " << kernels::isa_name(isa);
    }
  }
}

TEST_F(Inference, GreedyGenerationAgreesTokenForTokenAcrossPaths) {
  IsaGuard guard;
  const auto tokenizer = josi::text::Tokenizer::load(gguf("Q4_K_M"));
  const auto prompt = josi::text::encode_chatml(tokenizer, {{"user", "I want a 45 minute run today"}}, true);
  for (const char* type : {"Q4_K_M", "Q8_0", "f16"}) {
    infer::Model model(gguf(type));
    std::vector<std::vector<int32_t>> outputs;
    for (auto isa : supported_isas()) {
      kernels::set_active_isa(isa);
      josi::base::ThreadPool pool(2);
      infer::Context context(model, pool, 256);
      infer::GenerateOptions options;
      options.sampling.temperature = 0;
      options.max_new_tokens = 24;
      options.stop_tokens = {-1};  // never stop early: random weights
      outputs.push_back(infer::generate(context, tokenizer, prompt, options).tokens);
      EXPECT_EQ(outputs.back().size(), 24u);
    }
    for (const auto& o : outputs) EXPECT_EQ(o, outputs.front()) << type;
  }
}

// A token's logits do not depend on what was evaluated with it: a batch
// gives, bit for bit, the logits of one token at a time, on every path. The
// forced-token batches and speculation's verification batches rely on it
// for output identical to plain decoding.
TEST_F(Inference, OneBatchEqualsTokenByTokenBitForBit) {
  IsaGuard guard;
  // Six tokens: a tile of four and a pair, as the kernels walk a batch.
  const std::vector<int32_t> tokens(kTokens.begin(), kTokens.begin() + 6);
  for (auto isa : supported_isas()) {
    kernels::set_active_isa(isa);
    for (const char* type : {"f16", "Q8_0", "Q4_K_M"})
      ASSERT_TRUE(josi::test::one_by_one_logits(gguf(type), tokens) == all_logits(gguf(type), tokens))
          << type << " " << kernels::isa_name(isa);
  }
}

// Moving cached positions down (the coach's dropped turns) turns each key
// back to its new position. The first layer's keys and values depend on the
// token and its position only, so there they equal a cold evaluation's at
// the new positions, up to the cache type's rounding; deeper layers keep
// what the longer conversation made of them, whose cost bench/conversation.sh
// measures as the KL against a cold evaluation.
TEST_F(Inference, AShiftedCacheHoldsTheKeysOfTheirNewPositions) {
  infer::Model model(gguf("f16"));
  josi::base::ThreadPool pool(2);
  const int64_t kv_dim = model.hparams().n_head_kv * model.hparams().head_dim;
  std::vector<int32_t> kept(kTokens.begin(), kTokens.begin() + 2);
  kept.insert(kept.end(), kTokens.begin() + 6, kTokens.end());
  for (const auto& [type, tolerance] : {std::pair{infer::KvType::f16, 4e-3f}, std::pair{infer::KvType::q8_0, 2.5e-2f}}) {
    infer::Context shifted(model, pool, 64, nullptr, type), cold(model, pool, 64, nullptr, type);
    shifted.eval(kTokens);
    shifted.shift(6, 2, static_cast<int64_t>(kTokens.size()) - 6);  // tokens 2..5 dropped
    cold.eval(kept);
    ASSERT_EQ(shifted.n_past(), cold.n_past());
    std::vector<float> a(static_cast<size_t>(kv_dim)), b(a.size());
    for (int64_t pos = 0; pos < cold.n_past(); ++pos) {
      shifted.kv_cache().load_keys(0, pos, a.data());
      cold.kv_cache().load_keys(0, pos, b.data());
      float largest = 0, worst = 0;
      for (size_t i = 0; i < a.size(); ++i) {
        largest = std::max(largest, std::fabs(b[i]));
        worst = std::max(worst, std::fabs(a[i] - b[i]));
      }
      EXPECT_LE(worst, tolerance * largest) << infer::kv_type_name(type) << " position " << pos;
      EXPECT_EQ(std::memcmp(shifted.kv_cache().v(0, pos), cold.kv_cache().v(0, pos), shifted.kv_cache().row_bytes()), 0)
          << "values have no position";
    }
    // Both go on from there.
    const auto next = shifted.eval(std::vector<int32_t>{kTokens[3]});
    EXPECT_TRUE(std::all_of(next.begin(), next.end(), [](float x) { return std::isfinite(x); }));
    EXPECT_EQ(shifted.n_past(), cold.n_past() + 1);
  }
  infer::Context context(model, pool, 64);
  context.eval(kTokens);
  EXPECT_THROW(context.shift(6, 8, 4), josi::Error) << "only down";
  EXPECT_THROW(context.shift(10, 2, 8), josi::Error) << "past what the context holds";
}

// Drafts are kept only where they are what the sampler chooses, so the
// answer is plain decoding's, token for token, greedy or seeded: over many
// seeds the two give the same samples, hence the same distribution. Random
// weights fall into loops, which the drafts then copy.
TEST_F(Inference, SpeculationKeepsEveryTokenOfPlainDecoding) {
  infer::Model model(gguf("Q4_K_M"));
  const auto tokenizer = josi::text::Tokenizer::load(gguf("Q4_K_M"));
  const auto prompt = josi::text::encode_chatml(tokenizer, {{"user", "run run run, 45 minute run, run run today"}}, true);
  josi::base::ThreadPool pool(2);
  int64_t accepted = 0, drafted = 0;
  for (const float temperature : {0.0f, 0.3f, 1.0f}) {
    for (uint64_t seed = 1; seed <= 6; ++seed) {
      std::vector<int32_t> outputs[2];
      for (const int32_t draft : {0, 8}) {
        infer::Context context(model, pool, 256);
        infer::GenerateOptions options;
        options.sampling.temperature = temperature;
        options.sampling.seed = seed;
        options.max_new_tokens = 40;
        options.stop_tokens = {-1};
        options.draft_tokens = draft;
        const auto g = infer::generate(context, tokenizer, prompt, options);
        outputs[draft ? 1 : 0] = g.tokens;
        if (draft) {
          accepted += g.decoding.accepted_draft_tokens;
          drafted += g.decoding.drafted_tokens;
          EXPECT_EQ(g.decoding.forward_passes, 40 - 1 - g.decoding.accepted_draft_tokens);
        } else {
          EXPECT_EQ(g.decoding.drafted_tokens, 0);
          EXPECT_EQ(g.decoding.forward_passes, 39);
        }
      }
      EXPECT_EQ(outputs[1], outputs[0]) << "temperature " << temperature << " seed " << seed;
    }
  }
  EXPECT_GT(accepted, 0);
  EXPECT_LE(accepted, drafted);
}

// A replayed answer is generated as if the model wrote it; one that copies
// the prompt is drafted from it and verified in few passes.
TEST_F(Inference, AReplayedAnswerCopyingThePromptTakesFewPasses) {
  infer::Model model(gguf("Q4_K_M"));
  const auto tokenizer = josi::text::Tokenizer::load(gguf("Q4_K_M"));
  const std::string message = "I want to do a 45 minute easy run today, then stretch for ten minutes";
  const auto prompt = josi::text::encode_chatml(tokenizer, {{"user", message}}, true);
  const auto answer = tokenizer.encode("Sure: " + message + ".", false);
  josi::base::ThreadPool pool(2);
  for (const int32_t draft : {0, 8}) {
    infer::Context context(model, pool, 256);
    infer::GenerateOptions options;
    options.draft_tokens = draft;
    options.replay = &answer;
    const auto g = infer::generate(context, tokenizer, prompt, options);
    EXPECT_EQ(g.tokens, answer);
    EXPECT_EQ(g.stop, infer::StopReason::stop_token);
    if (draft == 0) {
      EXPECT_EQ(g.decoding.forward_passes, static_cast<int64_t>(answer.size()));
    } else {
      EXPECT_LT(g.decoding.forward_passes, static_cast<int64_t>(answer.size()) / 2) << g.decoding.accepted_draft_tokens;
    }
  }
}

TEST_F(Inference, ContextCapIsEnforced) {
  infer::Model model(gguf("Q8_0"));
  josi::base::ThreadPool pool(1);
  infer::Context context(model, pool, 8);
  context.eval(std::span<const int32_t>(kTokens.data(), 6));
  try {
    context.eval(std::span<const int32_t>(kTokens.data(), 3));
    FAIL() << "expected an error";
  } catch (const josi::Error& e) {
    EXPECT_NE(std::string(e.what()).find("do not fit in the context"), std::string::npos) << e.what();
  }
  EXPECT_EQ(context.n_past(), 6);
  EXPECT_THROW(context.eval(std::vector<int32_t>{static_cast<int32_t>(model.hparams().n_vocab)}), josi::Error);
}

TEST_F(Inference, GenerateStreamsAnAnswer) {
  auto r = run_josi({"generate", gguf("Q4_K_M").string(), "--prompt", "What is Zone 2?", "--greedy", "--max-tokens", "12",
                     "--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("12 tokens in"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("stopped by max_tokens"), std::string::npos) << r.err;
  // Greedy is deterministic; a seeded sampler is too, and differs from greedy.
  auto again = run_josi({"generate", gguf("Q4_K_M").string(), "--prompt", "What is Zone 2?", "--greedy", "--max-tokens", "12"});
  EXPECT_EQ(again.out, r.out);
  const std::vector<std::string> sampled = {"generate", gguf("Q4_K_M").string(), "--prompt", "What is Zone 2?",
                                            "--temperature", "1.5", "--top-p", "1", "--seed", "3", "--max-tokens", "12"};
  auto s1 = run_josi(sampled), s2 = run_josi(sampled);
  ASSERT_EQ(s1.exit_code, 0) << s1.err;
  EXPECT_EQ(s1.out, s2.out);
  EXPECT_NE(s1.out, r.out);
  // Speculation changes the passes, not the answer; a negative draft is refused.
  auto plain = run_josi({"generate", gguf("Q4_K_M").string(), "--prompt", "What is Zone 2?", "--greedy", "--max-tokens", "12",
                         "--draft-tokens", "0"});
  EXPECT_EQ(plain.out, r.out);
  EXPECT_NE(plain.err.find("(11 forward passes, 0 of 0 drafted tokens kept)"), std::string::npos) << plain.err;
  auto negative = run_josi({"generate", gguf("Q4_K_M").string(), "--prompt", "x", "--draft-tokens", "-1"});
  EXPECT_EQ(negative.exit_code, 2) << negative.err;
  EXPECT_NE(negative.err.find("--draft_tokens: Value -1 not in range 0 to 64"), std::string::npos) << negative.err;

  // --messages takes a training line: the final answer is dropped and regenerated.
  const auto messages = work() / "line.json";
  josi::test::write_text(messages, R"({"messages": [{"role": "system", "content": "You are Josi."},
    {"role": "user", "content": "What is Zone 2?"}, {"role": "assistant", "content": "Easy aerobic running."}]})");
  auto m = run_josi({"generate", gguf("Q4_K_M").string(), "--messages", messages.string(), "--greedy", "--max-tokens", "4"});
  EXPECT_EQ(m.exit_code, 0) << m.err;
  const auto system = work() / "system.txt";
  josi::test::write_text(system, "You are Josi.");
  auto p = run_josi({"generate", gguf("Q4_K_M").string(), "--prompt", "What is Zone 2?", "--system", system.string(),
                     "--greedy", "--max-tokens", "4"});
  EXPECT_EQ(p.out, m.out);
}

TEST_F(Inference, LogitsCommandWritesEveryPosition) {
  const auto out = work() / "logits.bin";
  auto r = run_josi({"logits", gguf("f32").string(), "--tokens", "151644,872,198,40", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto bytes = josi::test::read_text(out);
  ASSERT_EQ(bytes.size(), 4u * 151936 * 4);
  std::vector<float> got(bytes.size() / 4);
  std::memcpy(got.data(), bytes.data(), bytes.size());
  EXPECT_LT(relative_difference(got, all_logits(gguf("f32"), {151644, 872, 198, 40})), 1e-6);
  EXPECT_EQ(run_josi({"logits", gguf("f32").string(), "--tokens", "1,x", "--out", out.string()}).exit_code, 2);
  auto big = run_josi({"logits", gguf("f32").string(), "--tokens", "999999", "--out", (work() / "no.bin").string()});
  EXPECT_EQ(big.exit_code, 1);
  EXPECT_NE(big.err.find("outside the vocabulary"), std::string::npos) << big.err;
  EXPECT_FALSE(fs::exists(work() / "no.bin"));
}

TEST_F(Inference, BenchReportsSpeedAndBandwidth) {
  auto r = run_josi({"bench", gguf("Q4_K_M").string(), "--pp", "16", "--tg", "4", "--repetitions", "1", "--threads", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = josi::json::Json::parse(r.out);
  EXPECT_GT(j["pp_tokens_per_s"].get<double>(), 0);
  EXPECT_GT(j["tg_tokens_per_s"].get<double>(), 0);
  EXPECT_GT(j["copy_bandwidth_bytes_per_s"].get<double>(), 1e8);
  EXPECT_GT(j["read_bandwidth_bytes_per_s"].get<double>(), 1e8);
  EXPECT_GT(j["bandwidth_share"].get<double>(), 0);
  EXPECT_LT(j["bandwidth_share"].get<double>(), 1.5);
  EXPECT_EQ(j["threads"], 2);
}

// --- Bad input -----------------------------------------------------------------

// A copy of `in` with metadata and tensors changed by `edit`.
TEST_F(Inference, BadModelsGiveOneClearError) {
  const auto check = [&](const fs::path& model, const std::string& expected) {
    auto r = run_josi({"generate", model.string(), "--prompt", "hi", "--max-tokens", "1"});
    EXPECT_EQ(r.exit_code, 1) << model;
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(model.filename().string()), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  };
  const auto keep_all = [](std::string&, std::vector<uint64_t>&, bool&) {};
  const auto gpt2 = work() / "gpt2.gguf";
  josi::test::rewrite_gguf(gguf("Q8_0"), gpt2, keep_all,
          [](auto& w) { w.set("general.architecture", josi::formats::GgufValue::string("gpt2")); });
  check(gpt2, "architecture 'gpt2' is not supported");

  const auto missing = work() / "missing.gguf";
  josi::test::rewrite_gguf(gguf("Q8_0"), missing,
                           [](std::string& name, auto&, bool& keep) { keep = name != "blk.1.ffn_down.weight"; });
  check(missing, "missing tensor blk.1.ffn_down.weight");

  const auto transposed = work() / "transposed.gguf";
  josi::test::rewrite_gguf(gguf("f32"), transposed, [](std::string& name, std::vector<uint64_t>& dims, bool&) {
    if (name == "blk.0.ffn_gate.weight") std::swap(dims[0], dims[1]);
  });
  check(transposed, "tensor blk.0.ffn_gate.weight has shape [512, 256], expected [256, 512]");

  const auto no_heads = work() / "no-heads.gguf";
  josi::test::rewrite_gguf(gguf("Q8_0"), no_heads, keep_all, [](auto& w) { w.remove("qwen2.attention.head_count"); });
  check(no_heads, "qwen2.attention.head_count");
}

TEST_F(Inference, APromptLongerThanTheContextIsRefused) {
  auto r = run_josi({"generate", gguf("Q8_0").string(), "--prompt", "a long question about my training plan", "--ctx", "8"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("but the context holds 8"), std::string::npos) << r.err;
  auto flags = run_josi({"generate", gguf("Q8_0").string(), "--prompt", "hi", "--top-p", "0"});
  EXPECT_EQ(flags.exit_code, 2) << flags.err;
  EXPECT_EQ(run_josi({"generate", gguf("Q8_0").string()}).exit_code, 2);
}

TEST_F(Inference, AKvCacheTypeTheModelCannotHoldIsRefused) {
  auto unknown = run_josi({"generate", gguf("Q8_0").string(), "--prompt", "hi", "--kv-type", "q4_0"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
  EXPECT_NE(unknown.err.find("--kv_type: q4_0 not in {f16,q8_0}"), std::string::npos) << unknown.err;
  // The same weights read as 16 heads of 16 values (8 for keys and values):
  // a Q8_0 row holds whole 32-value blocks, so only F16 can cache them.
  const auto narrow = work() / "narrow-heads.gguf";
  josi::test::rewrite_gguf(
      gguf("Q8_0"), narrow, [](std::string&, std::vector<uint64_t>&, bool&) {},
      [](auto& w) {
        w.set("qwen2.attention.head_count", josi::formats::GgufValue::u32(16));
        w.set("qwen2.attention.head_count_kv", josi::formats::GgufValue::u32(8));
      });
  auto q8 = run_josi({"generate", narrow.string(), "--prompt", "hi", "--max-tokens", "1", "--kv-type", "q8_0"});
  EXPECT_EQ(q8.exit_code, 2) << q8.err;
  EXPECT_NE(q8.err.find(narrow.string() +
                        ": a q8_0 KV cache needs heads of whole 32-value blocks; this model's heads have 16 values"),
            std::string::npos)
      << q8.err;
  auto f16 = run_josi({"generate", narrow.string(), "--prompt", "hi", "--max-tokens", "1", "--kv-type", "f16"});
  EXPECT_EQ(f16.exit_code, 0) << f16.err;
}

// --- LoRA adapters at run time ------------------------------------------------

namespace {

// The adapter as GGUF (`type`) and the base with it merged, as F32 GGUF.
struct AdapterFiles {
  fs::path adapter, merged;
};
AdapterFiles export_adapter(const fs::path& base, const fs::path& work, const std::string& type) {
  AdapterFiles f{work / ("adapter-" + type + ".gguf"), work / "merged.gguf"};
  if (!fs::exists(work / "peft")) josi::test::write_random_adapter(base, work / "peft");
  auto r = run_josi({"export-gguf", "--lora", (work / "peft").string(), "--outfile", f.adapter.string(), "--outtype", type});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  if (!fs::exists(f.merged)) {
    r = run_josi({"merge", "--lora_path", (work / "peft").string(), "--output_path", (work / "merged").string(), "--dtype", "f32"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    r = run_josi({"export-gguf", (work / "merged").string(), "--outfile", f.merged.string(), "--outtype", "f32"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  return f;
}

}  // namespace

// The keys and tensors llama.cpp's adapter loader checks (docs/architecture.md).
TEST_F(Inference, AnExportedAdapterHasTheLayoutLlamaCppLoads) {
  const auto dir = work() / "adapter-layout";
  fs::create_directories(dir);
  const auto files = export_adapter(hf(), dir, "f16");
  josi::formats::GgufFile file(files.adapter);
  EXPECT_EQ(file.at("general.type").as_string("t"), "adapter");
  EXPECT_EQ(file.at("general.architecture").as_string("t"), "qwen2");
  EXPECT_EQ(file.at("adapter.type").as_string("t"), "lora");
  EXPECT_EQ(file.at("adapter.lora.alpha").type, josi::formats::GgufValueType::F32);
  EXPECT_EQ(file.at("adapter.lora.alpha").as_float("t"), 16.0);
  ASSERT_EQ(file.tensors().size(), 28u);
  const auto* a = file.find_tensor("blk.1.attn_k.weight.lora_a");
  const auto* b = file.find_tensor("blk.1.attn_k.weight.lora_b");
  ASSERT_TRUE(a && b);
  // GGUF order: lora_a [in, r] (the base's ne[0] first), lora_b [r, out].
  EXPECT_EQ(a->dims, (std::vector<uint64_t>{256, 8}));
  EXPECT_EQ(b->dims, (std::vector<uint64_t>{8, 128}));
  EXPECT_EQ(a->type, josi::formats::GgmlType::F16);
  ASSERT_TRUE(file.find_tensor("blk.0.ffn_down.weight.lora_a"));
  EXPECT_EQ(file.find_tensor("blk.0.ffn_down.weight.lora_a")->dims, (std::vector<uint64_t>{512, 8}));
  // Every lora tensor names a tensor of the base, as the loader requires.
  josi::formats::GgufFile base(gguf("f32"));
  for (const auto& t : file.tensors()) {
    const std::string weight = t.name.substr(0, t.name.size() - std::string(".lora_a").size());
    EXPECT_TRUE(base.find_tensor(weight)) << t.name;
  }
  auto r = run_josi({"gguf", "info", files.adapter.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("LoRA adapter"), std::string::npos) << r.out;
}

// y = W·x + (alpha/r)·B·(A·x) at run time equals the merged weights, on
// every kernel path, for Qwen2 and for llama (whose Q/K rows the exporter
// permutes in the adapter's B as in the model).
TEST_F(Inference, ARunTimeAdapterEqualsItsMergeIntoTheBase) {
  IsaGuard guard;
  const auto dir = work() / "adapter-exact";
  fs::create_directories(dir);
  const auto files = export_adapter(hf(), dir, "f32");
  const auto base = all_logits(gguf("f32"), kTokens);
  const auto merged = all_logits(files.merged, kTokens);
  EXPECT_GT(relative_difference(base, merged), 0.1);  // the adapter matters
  for (auto isa : supported_isas()) {
    kernels::set_active_isa(isa);
    EXPECT_LT(relative_difference(all_logits(gguf("f32"), kTokens, 2, files.adapter), merged), 1e-4) << kernels::isa_name(isa);
  }
  // An F16 adapter rounds its factors only.
  const auto f16 = export_adapter(hf(), dir, "f16");
  EXPECT_LT(relative_difference(all_logits(gguf("f32"), kTokens, 2, f16.adapter), merged), 5e-3);

  const auto llama = work() / "llama-adapter";
  fs::create_directories(llama / "hf");
  for (const char* f : {"model.safetensors", "tokenizer.json", "tokenizer_config.json"}) fs::copy(hf() / f, llama / "hf" / f);
  auto config = josi::json::Json::parse(josi::test::read_text(hf() / "config.json"));
  config["architectures"] = {"LlamaForCausalLM"};
  config["model_type"] = "llama";
  josi::test::write_text(llama / "hf" / "config.json", config.dump());
  auto r = run_josi({"export-gguf", (llama / "hf").string(), "--outfile", (llama / "base.gguf").string(), "--outtype", "f32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto llama_files = export_adapter(llama / "hf", llama, "f32");
  EXPECT_LT(relative_difference(all_logits(llama / "base.gguf", kTokens, 2, llama_files.adapter),
                                all_logits(llama_files.merged, kTokens)),
            1e-4);
}

// Batches stay exact with an adapter: the forced-token and speculation
// batches rely on it, as without. A short batch gathers each A·x where its
// input is written, a long one (a prompt) makes a pass of its own: both
// give the logits of one token at a time.
TEST_F(Inference, WithAnAdapterOneBatchEqualsTokenByTokenBitForBit) {
  IsaGuard guard;
  const auto dir = work() / "adapter-batch";
  fs::create_directories(dir);
  const auto files = export_adapter(hf(), dir, "f16");
  std::vector<int32_t> tokens = kTokens;
  tokens.insert(tokens.end(), kTokens.begin(), kTokens.begin() + 10);
  for (auto isa : supported_isas()) {
    kernels::set_active_isa(isa);
    infer::Model model(gguf("Q4_K_M"));
    infer::Adapter adapter(files.adapter, model);
    josi::base::ThreadPool pool(2);
    infer::Context single(model, pool, 32, &adapter);
    std::vector<float> one_by_one;
    for (size_t t = 0; t < tokens.size(); ++t) {
      const auto one = single.eval(std::span<const int32_t>(&tokens[t], 1));
      one_by_one.insert(one_by_one.end(), one.begin(), one.end());
    }
    for (const size_t n : {size_t{6}, tokens.size()}) {
      infer::Context batch(model, pool, 32, &adapter);
      const auto all = batch.eval(std::span<const int32_t>(tokens.data(), n), infer::Logits::all);
      for (size_t t = 0; t < n; ++t) {
        const size_t vocab = all.size() / n;
        ASSERT_TRUE(std::equal(all.begin() + static_cast<long>(t * vocab), all.begin() + static_cast<long>((t + 1) * vocab),
                               one_by_one.begin() + static_cast<long>(t * vocab)))
            << kernels::isa_name(isa) << " batch of " << n << ", token " << t;
      }
    }
  }
}

TEST_F(Inference, BadAdaptersGiveOneClearError) {
  const auto dir = work() / "adapter-bad";
  fs::create_directories(dir);
  const auto files = export_adapter(hf(), dir, "f16");
  const auto check = [&](const fs::path& adapter, const std::string& expected) {
    auto r = run_josi({"generate", gguf("Q8_0").string(), "--adapter", adapter.string(), "--prompt", "hi", "--max-tokens", "1"});
    EXPECT_EQ(r.exit_code, 1) << adapter;
    EXPECT_NE(r.err.find(expected), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(adapter.filename().string()), std::string::npos) << r.err;
    EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  };
  const auto keep_all = [](std::string&, std::vector<uint64_t>&, bool&) {};
  const auto edited = [&](const std::string& name, const auto& tensor_edit, const auto& metadata_edit) {
    const auto out = dir / (name + ".gguf");
    josi::test::rewrite_gguf(files.adapter, out, tensor_edit, metadata_edit);
    return out;
  };
  check(gguf("Q8_0"), "not a LoRA adapter (general.type is missing)");
  check(edited("no-alpha", keep_all, [](auto& w) { w.remove("adapter.lora.alpha"); }), "missing adapter.lora.alpha");
  check(edited("llama", keep_all, [](auto& w) { w.set("general.architecture", josi::formats::GgufValue::string("llama")); }),
        "an adapter for a llama model, but the base");
  check(edited("wide", keep_all, [](auto& w) { w.set("qwen2.embedding_length", josi::formats::GgufValue::u32(1536)); }),
        "qwen2.embedding_length = 1536");
  check(edited("half", [](std::string& name, auto&, bool& keep) { keep = name != "blk.0.attn_q.weight.lora_b"; }, [](auto&) {}),
        "blk.0.attn_q.weight has lora_a but not lora_b");
  check(edited("shape", [](std::string& name, std::vector<uint64_t>& dims, bool&) {
          if (name == "blk.1.ffn_up.weight.lora_a") dims = {128, 16};
        }, [](auto&) {}),
        "blk.1.ffn_up.weight.lora_a [128, 16] and .lora_b [8, 512] do not fit the base's [256, 512]");
  check(edited("embd", [](std::string& name, auto&, bool&) {
          if (name == "blk.0.attn_v.weight.lora_a") name = "token_embd.weight.lora_a";
        }, [](auto&) {}),
        "tensor token_embd.weight.lora_a is not a LoRA factor");

  // Export: an adapter config without its rank or alpha, and a base of another shape.
  for (const char* key : {"r", "lora_alpha"}) {
    const auto peft = dir / (std::string("no-") + key);
    fs::create_directories(peft);
    fs::copy(dir / "peft" / "adapter_model.safetensors", peft / "adapter_model.safetensors");
    auto config = josi::json::Json::parse(josi::test::read_text(dir / "peft" / "adapter_config.json"));
    config.erase(key);
    josi::test::write_text(peft / "adapter_config.json", config.dump());
    auto r = run_josi({"export-gguf", "--lora", peft.string(), "--outfile", (dir / "x.gguf").string()});
    EXPECT_EQ(r.exit_code, 1) << r.err;
    EXPECT_NE(r.err.find("key \"" + std::string(key) + "\": missing"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(dir / "x.gguf"));
  }
  const auto other = dir / "other-base";
  fs::create_directories(other);
  auto config = josi::json::Json::parse(josi::test::read_text(hf() / "config.json"));
  config["intermediate_size"] = 1024;
  josi::test::write_text(other / "config.json", config.dump());
  auto r = run_josi({"export-gguf", "--lora", (dir / "peft").string(), "--base", other.string(), "--outfile", (dir / "x.gguf").string()});
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("do not fit the base"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir / "x.gguf"));
}
