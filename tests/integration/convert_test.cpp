// From a Hugging Face directory to a shippable GGUF on the tiny preset (with
// the real Qwen tokenizer): init-base, export-gguf in every outtype, quantize
// with the mixture rules, and the bad inputs of each step.
#include <gtest/gtest.h>

#include <cstring>
#include <set>
#include <tuple>

#include "formats/base_model_init.hpp"
#include "formats/gguf.hpp"
#include "formats/safetensors.hpp"
#include "json/json.hpp"
#include "quant/block_quant.hpp"
#include "support/test_support.hpp"

using josi::formats::GgmlType;
using josi::formats::GgufFile;
using josi::test::run_josi;
using josi::test::TempDir;
namespace fs = std::filesystem;

namespace {

// One tiny base model shared by the tests of this file (init-base takes a few seconds).
class Convert : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    auto tok = josi::test::qwen_tokenizer_json();
    ASSERT_TRUE(fs::exists(tok)) << tok << " missing: run scripts/test.sh (it installs the npm test peers)";
    auto r = run_josi({"init-base", "--preset", "tiny", "--tokenizer", tok.string(), "--out", base().string(), "--seed", "7"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path base() { return dir_->path() / "base"; }
  static fs::path work() { return dir_->path(); }
  static TempDir* dir_;
};
TempDir* Convert::dir_ = nullptr;

float source_value(const josi::formats::TensorView& t, size_t i) {
  uint16_t h;
  std::memcpy(&h, t.data + 2 * i, 2);
  return josi::formats::bf16_to_f32(h);  // init-base writes bf16 by default
}

std::vector<float> gguf_row_values(const GgufFile& f, const josi::formats::GgufTensorInfo& t) {
  std::vector<float> out(t.numel());
  const uint64_t row = t.dims[0];
  const size_t row_bytes = *josi::formats::ggml_row_bytes(t.type, row);
  for (uint64_t r = 0; r < t.numel() / row; ++r)
    josi::quant::dequantize_row(t.type, f.tensor_data(t) + r * row_bytes, out.data() + r * row, static_cast<int64_t>(row));
  return out;
}

TEST_F(Convert, InitBaseWritesTheTinyPreset) {
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json"})
    EXPECT_TRUE(fs::exists(base() / f)) << f;
  auto config = josi::json::Json::parse(josi::test::read_text(base() / "config.json"));
  EXPECT_EQ(config["hidden_size"], 256);
  EXPECT_EQ(config["num_hidden_layers"], 2);
  EXPECT_EQ(config["vocab_size"], 151936);
  EXPECT_EQ(config["tie_word_embeddings"], true);
  josi::formats::SafetensorsModel weights(base());
  uint64_t params = 0;
  for (auto* t : weights.tensors()) params += t->numel();
  EXPECT_GT(params, 39'000'000u);
  EXPECT_LT(params, 42'000'000u);
  // Every row length is a multiple of 256, so every quant type applies.
  for (auto* t : weights.tensors())
    if (t->shape.size() == 2) {
      EXPECT_EQ(t->shape.back() % 256, 0) << t->name;
    }
  // Same seed, same bytes; another seed, other bytes.
  auto tok = josi::test::qwen_tokenizer_json().string();
  ASSERT_EQ(run_josi({"init-base", "--preset", "tiny", "--tokenizer", tok, "--out", (work() / "again").string(), "--seed", "7"}).exit_code, 0);
  EXPECT_TRUE(josi::test::read_text(base() / "model.safetensors") == josi::test::read_text(work() / "again" / "model.safetensors"));
  ASSERT_EQ(run_josi({"init-base", "--tokenizer", tok, "--out", (work() / "other").string(), "--seed", "8"}).exit_code, 0);
  EXPECT_FALSE(josi::test::read_text(base() / "model.safetensors") == josi::test::read_text(work() / "other" / "model.safetensors"));
  fs::remove_all(work() / "again");
  fs::remove_all(work() / "other");
}

TEST_F(Convert, ExportReadsBackEveryTensorExactly) {
  josi::formats::SafetensorsModel weights(base());
  for (const char* outtype : {"f32", "f16", "bf16"}) {
    auto out = work() / (std::string("m-") + outtype + ".gguf");
    auto r = run_josi({"export-gguf", base().string(), "--outfile", out.string(), "--outtype", outtype});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    GgufFile f(out);
    EXPECT_EQ(f.at("general.architecture").as_string("a"), "qwen2");
    EXPECT_EQ(f.tensors().size(), 1u + 2 * 12 + 1);  // token_embd, 12 per layer, output_norm; tied: no output
    EXPECT_EQ(f.find_tensor("output.weight"), nullptr);
    const std::pair<const char*, const char*> names[] = {
        {"model.embed_tokens.weight", "token_embd.weight"}, {"model.layers.1.self_attn.q_proj.weight", "blk.1.attn_q.weight"},
        {"model.layers.0.self_attn.k_proj.bias", "blk.0.attn_k.bias"}, {"model.layers.1.mlp.down_proj.weight", "blk.1.ffn_down.weight"},
        {"model.norm.weight", "output_norm.weight"}, {"model.layers.0.post_attention_layernorm.weight", "blk.0.ffn_norm.weight"}};
    for (const auto& [hf, gg] : names) {
      const auto& src = weights.at(hf);
      const auto* t = f.find_tensor(gg);
      ASSERT_NE(t, nullptr) << gg;
      // GGUF dims are the HF shape reversed.
      std::vector<uint64_t> reversed(src.shape.rbegin(), src.shape.rend());
      EXPECT_EQ(t->dims, reversed) << gg;
      EXPECT_EQ(t->type, src.shape.size() == 1 ? GgmlType::F32 : *josi::formats::ggml_type_from_name(outtype)) << gg;
      auto values = gguf_row_values(f, *t);
      size_t mismatches = 0;
      for (size_t i = 0; i < values.size(); ++i) {
        float want = source_value(src, i);  // bf16 values are exact in f32, f16 (at this scale) and bf16
        if (std::string(outtype) == "f16") want = josi::formats::f16_to_f32(josi::formats::f32_to_f16(want));
        mismatches += values[i] != want;
      }
      EXPECT_EQ(mismatches, 0u) << outtype << " " << gg;
    }
  }
}

TEST_F(Convert, ExportWritesTheTokenizerAndQwen2Metadata) {
  auto out = work() / "meta.gguf";
  ASSERT_EQ(run_josi({"export-gguf", base().string(), "--outfile", out.string()}).exit_code, 0);
  GgufFile f(out);
  EXPECT_EQ(f.at("qwen2.embedding_length").as_uint("k"), 256u);
  EXPECT_EQ(f.at("qwen2.block_count").as_uint("k"), 2u);
  EXPECT_EQ(f.at("qwen2.attention.head_count").as_uint("k"), 4u);
  EXPECT_EQ(f.at("qwen2.attention.head_count_kv").as_uint("k"), 2u);
  EXPECT_EQ(f.at("qwen2.rope.freq_base").as_float("k"), 1000000.0);
  EXPECT_EQ(f.at("general.file_type").as_uint("k"), 1u);
  const auto& tokens = f.at("tokenizer.ggml.tokens").as_array("k").elements;
  const auto& types = f.at("tokenizer.ggml.token_type").as_array("k").elements;
  ASSERT_EQ(tokens.size(), 151936u);  // padded to the embedding rows
  EXPECT_EQ(tokens[151644].as_string("k"), "<|im_start|>");
  EXPECT_EQ(types[151644].as_int("k"), 3);       // control
  EXPECT_EQ(types[151657].as_int("k"), 4);       // <tool_call>: user-defined
  EXPECT_EQ(tokens[151935].as_string("k"), "[PAD151935]");
  EXPECT_EQ(types[151935].as_int("k"), 5);       // unused
  EXPECT_EQ(types[0].as_int("k"), 1);
  EXPECT_EQ(f.at("tokenizer.ggml.merges").as_array("k").elements.size(), 151387u);
  EXPECT_EQ(f.at("tokenizer.ggml.eos_token_id").as_uint("k"), 151645u);
  EXPECT_EQ(f.at("tokenizer.ggml.padding_token_id").as_uint("k"), 151643u);
  EXPECT_EQ(f.at("tokenizer.ggml.model").as_string("k"), "gpt2");
  EXPECT_EQ(f.at("tokenizer.ggml.pre").as_string("k"), "qwen2");
  EXPECT_FALSE(f.at("tokenizer.ggml.add_bos_token").as_bool("k"));
  EXPECT_NE(f.at("tokenizer.chat_template").as_string("k").find("<|im_start|>"), std::string::npos);
}

std::map<std::string, GgmlType> types_of(const fs::path& gguf) {
  std::map<std::string, GgmlType> out;
  GgufFile file(gguf);
  for (const auto& t : file.tensors()) out[t.name] = t.type;
  return out;
}

TEST_F(Convert, QuantizeQ4KMFollowsTheMixtureAndRemovesTheIntermediate) {
  auto f16 = work() / "q-f16.gguf";
  auto q = work() / "q4km.gguf";
  auto report = work() / "report.json";
  ASSERT_EQ(run_josi({"export-gguf", base().string(), "--outfile", f16.string()}).exit_code, 0);
  auto r = run_josi({"quantize", f16.string(), q.string(), "Q4_K_M", "--threads", "2", "--report", report.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(f16)) << "the F16 intermediate is removed by default";
  auto types = types_of(q);
  EXPECT_EQ(types["token_embd.weight"], GgmlType::Q6_K);  // tied output
  EXPECT_EQ(types["blk.0.attn_v.weight"], GgmlType::Q4_K);
  EXPECT_EQ(types["blk.1.attn_v.weight"], GgmlType::Q6_K);
  EXPECT_EQ(types["blk.0.ffn_down.weight"], GgmlType::Q4_K);
  EXPECT_EQ(types["blk.1.ffn_down.weight"], GgmlType::Q6_K);
  EXPECT_EQ(types["blk.0.attn_q.weight"], GgmlType::Q4_K);
  EXPECT_EQ(types["blk.0.attn_q.bias"], GgmlType::F32);
  EXPECT_EQ(types["output_norm.weight"], GgmlType::F32);
  GgufFile f(q);
  EXPECT_EQ(f.at("general.file_type").as_uint("k"), 15u);
  EXPECT_EQ(f.at("general.quantization_version").as_uint("k"), 2u);
  EXPECT_EQ(f.at("tokenizer.ggml.tokens").as_array("k").elements.size(), 151936u);  // metadata copied
  auto rep = josi::json::Json::parse(josi::test::read_text(report));
  EXPECT_EQ(rep["tensors"].size(), f.tensors().size());
  for (const auto& t : rep["tensors"]) {
    double e = t["relative_rms"];
    if (t["type"] == "Q4_K") {
      EXPECT_LT(e, 0.12) << t["name"];
    } else if (t["type"] == "Q6_K") {
      EXPECT_LT(e, 0.03) << t["name"];
    } else if (t["type"] == "F32") {
      EXPECT_EQ(e, 0.0) << t["name"];
    }
  }
  // --keep-f16 keeps it.
  ASSERT_EQ(run_josi({"export-gguf", base().string(), "--outfile", f16.string()}).exit_code, 0);
  ASSERT_EQ(run_josi({"quantize", f16.string(), (work() / "q8.gguf").string(), "Q8_0", "--keep-f16"}).exit_code, 0);
  EXPECT_TRUE(fs::exists(f16));
  EXPECT_EQ(types_of(work() / "q8.gguf")["blk.1.ffn_down.weight"], GgmlType::Q8_0);
}

TEST_F(Convert, TwelveLayerModelGetsQ6KExactlyWhereTheRuleSays) {
  auto config = *josi::formats::preset_config("tiny");
  config.num_hidden_layers = 12;
  josi::formats::InitBaseOptions o;
  o.tokenizer_json = josi::test::qwen_tokenizer_json();
  o.out = work() / "twelve";
  o.progress = false;
  josi::formats::write_random_model(config, o);
  auto f16 = work() / "twelve.gguf";
  ASSERT_EQ(run_josi({"export-gguf", o.out.string(), "--outfile", f16.string()}).exit_code, 0);
  auto q = work() / "twelve-q4km.gguf";
  ASSERT_EQ(run_josi({"quantize", f16.string(), q.string(), "q4_k_m"}).exit_code, 0);
  std::set<int> q6_v, q6_down;
  for (const auto& [name, type] : types_of(q)) {
    if (type != GgmlType::Q6_K || name.rfind("blk.", 0) != 0) continue;
    int layer = std::stoi(name.substr(4));
    if (name.find("attn_v.weight") != std::string::npos) q6_v.insert(layer);
    else if (name.find("ffn_down.weight") != std::string::npos) q6_down.insert(layer);
    else ADD_FAILURE() << name << " should not be Q6_K";
  }
  EXPECT_EQ(q6_v, (std::set<int>{0, 3, 6, 9, 10, 11}));
  EXPECT_EQ(q6_down, (std::set<int>{0, 3, 6, 9, 10, 11}));
  fs::remove_all(o.out);
}

TEST_F(Convert, LlamaExportPermutesQAndKForInterleavedRope) {
  // The tiny model relabelled as llama (its extra q/k/v biases are ignored).
  auto dir = work() / "llama";
  fs::create_directories(dir);
  for (const char* f : {"model.safetensors", "tokenizer.json", "tokenizer_config.json"}) fs::copy(base() / f, dir / f);
  auto config = josi::json::Json::parse(josi::test::read_text(base() / "config.json"));
  config["architectures"] = {"LlamaForCausalLM"};
  config["model_type"] = "llama";
  josi::test::write_text(dir / "config.json", config.dump());
  auto out = work() / "llama.gguf";
  auto r = run_josi({"export-gguf", dir.string(), "--outfile", out.string(), "--outtype", "f32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  GgufFile f(out);
  EXPECT_EQ(f.at("general.architecture").as_string("k"), "llama");
  EXPECT_EQ(f.at("llama.rope.dimension_count").as_uint("k"), 64u);
  EXPECT_EQ(f.find_tensor("blk.0.attn_q.bias"), nullptr);
  josi::formats::SafetensorsModel weights(base());
  // HF row (head, half k, j) lands at GGUF row (head, j, k): rotate-half pairs become adjacent.
  for (auto [hf, gg, heads] : {std::tuple{"model.layers.0.self_attn.q_proj.weight", "blk.0.attn_q.weight", 4},
                               std::tuple{"model.layers.1.self_attn.k_proj.weight", "blk.1.attn_k.weight", 2}}) {
    const auto& src = weights.at(hf);
    auto values = gguf_row_values(f, *f.find_tensor(gg));
    const size_t cols = 256, rows_per_head = static_cast<size_t>(src.shape[0]) / heads, half = rows_per_head / 2;
    size_t mismatches = 0;
    for (size_t h = 0; h < static_cast<size_t>(heads); ++h)
      for (size_t j = 0; j < half; ++j)
        for (size_t k = 0; k < 2; ++k)
          for (size_t c = 0; c < cols; ++c)
            mismatches += values[(h * rows_per_head + 2 * j + k) * cols + c] !=
                          source_value(src, (h * rows_per_head + k * half + j) * cols + c);
    EXPECT_EQ(mismatches, 0u) << gg;
  }
  // V is not permuted.
  const auto& v = weights.at("model.layers.0.self_attn.v_proj.weight");
  auto vv = gguf_row_values(f, *f.find_tensor("blk.0.attn_v.weight"));
  EXPECT_EQ(vv[300], source_value(v, 300));
  fs::remove_all(dir);
}

TEST_F(Convert, BadInputsGiveOneClearErrorAndNoOutput) {
  auto out = work() / "bad.gguf";
  // Not a Qwen2/llama directory.
  fs::create_directories(work() / "gpt2");
  josi::test::write_text(work() / "gpt2" / "config.json", R"({"architectures": ["GPT2LMHeadModel"], "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 1, "num_key_value_heads": 1, "max_position_embeddings": 8, "vocab_size": 8})");
  auto r = run_josi({"export-gguf", (work() / "gpt2").string(), "--outfile", out.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("GPT2LMHeadModel"), std::string::npos) << r.err;
  // Missing tokenizer.
  fs::create_directories(work() / "notok");
  for (const char* f : {"config.json", "model.safetensors"}) fs::copy(base() / f, work() / "notok" / f);
  r = run_josi({"export-gguf", (work() / "notok").string(), "--outfile", out.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("tokenizer.json"), std::string::npos) << r.err;
  // Shapes that disagree with config.json.
  fs::copy(base() / "tokenizer.json", work() / "notok" / "tokenizer.json");
  auto config = josi::json::Json::parse(josi::test::read_text(base() / "config.json"));
  config["intermediate_size"] = 768;
  josi::test::write_text(work() / "notok" / "config.json", config.dump());
  r = run_josi({"export-gguf", (work() / "notok").string(), "--outfile", out.string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("mlp.gate_proj.weight"), std::string::npos) << r.err;
  // Unknown quant type; unwritable output.
  auto f16 = work() / "ok.gguf";
  ASSERT_EQ(run_josi({"export-gguf", base().string(), "--outfile", f16.string()}).exit_code, 0);
  r = run_josi({"quantize", f16.string(), out.string(), "Q3_K_XL"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("Q3_K_XL"), std::string::npos);
  r = run_josi({"quantize", f16.string(), (work() / "no" / "such" / "dir.gguf").string(), "Q4_K_M"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(fs::exists(f16)) << "a failed quantize never removes its input";
  r = run_josi({"export-gguf", base().string(), "--outfile", (work() / "no" / "such.gguf").string()});
  EXPECT_NE(r.exit_code, 0);
  for (const auto& e : fs::directory_iterator(work()))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << "partial output left: " << e.path();
  EXPECT_FALSE(fs::exists(out));
  for (auto* res : {&r}) EXPECT_EQ(std::count(res->err.begin(), res->err.end(), '\n'), 1);
}

}  // namespace
