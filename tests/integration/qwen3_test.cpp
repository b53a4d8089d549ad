// Qwen3 through init-base, export, quantize and the engine, on the
// qwen3-tiny preset (real Qwen tokenizer, random weights, head_dim 128 where
// hidden / heads is 64): the presets' shapes; the F32 path on every kernel
// path against the plain double-precision forward pass (per-head q/k norms,
// explicit head_dim, GQA, tied and untied output); every quantized type
// within Qwen2's bounds; the GGUF llama.cpp's loader reads (names, shapes,
// types, metadata) and a file in llama.cpp's own layout, written here byte
// by byte, read by Josi; batches, speculation and run-time adapters, one of
// them written by a script from PEFT's published key names.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "formats/base_model_init.hpp"
#include "formats/gguf.hpp"
#include "formats/safetensors.hpp"
#include "infer/context.hpp"
#include "infer/generator.hpp"
#include "json/json.hpp"
#include "quant/mixture.hpp"
#include "support/reference_forward.hpp"
#include "support/test_support.hpp"
#include "text/chat_template.hpp"
#include "text/vocabulary.hpp"

using josi::test::all_logits;
using josi::test::IsaGuard;
using josi::test::ReferenceForward;
using josi::test::relative_difference;
using josi::test::run_josi;
using josi::test::supported_isas;
using josi::test::TempDir;
namespace fs = std::filesystem;
namespace formats = josi::formats;
namespace infer = josi::infer;
namespace kernels = josi::kernels;
using formats::GgmlType;

namespace {

const std::vector<int32_t> kTokens = {151644, 872, 198, 40, 1366, 264, 220, 19, 20, 9383, 1598, 3351, 151645, 198};
const char* const kQuantTypes[] = {"Q8_0", "Q4_0", "Q5_0", "Q5_1", "Q4_K_S", "Q5_K_S", "Q6_K", "Q4_K_M"};

class Qwen3 : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const auto tok = josi::test::qwen_tokenizer_json();
    ASSERT_TRUE(fs::exists(tok)) << tok << " missing: run scripts/test.sh (it installs the npm test peers)";
    auto r = run_josi({"init-base", "--preset", "qwen3-tiny", "--tokenizer", tok.string(), "--out", hf().string(), "--seed",
                       "9", "--dtype", "f32"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    // The untied shape (Qwen3-8B's lm_head) at the tiny size.
    auto untied = *formats::preset_config("qwen3-tiny");
    untied.tie_word_embeddings = false;
    untied.raw["tie_word_embeddings"] = false;
    formats::InitBaseOptions options;
    options.tokenizer_json = tok;
    options.out = untied_hf();
    options.seed = 9;
    options.dtype = formats::DType::F32;
    options.progress = false;
    formats::write_random_model(untied, options);
    for (const char* type : {"f32", "f16"}) {
      r = run_josi({"export-gguf", hf().string(), "--outfile", gguf(type).string(), "--outtype", type});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    r = run_josi({"export-gguf", untied_hf().string(), "--outfile", gguf("untied-f32").string(), "--outtype", "f32"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    for (const char* type : kQuantTypes) {
      r = run_josi({"quantize", gguf("f32").string(), gguf(type).string(), type, "--keep-f16"});
      ASSERT_EQ(r.exit_code, 0) << r.err;
    }
    r = run_josi({"quantize", gguf("untied-f32").string(), gguf("untied-Q4_K_M").string(), "Q4_K_M", "--keep-f16"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path hf() { return dir_->path() / "hf"; }
  static fs::path untied_hf() { return dir_->path() / "hf-untied"; }
  static fs::path gguf(const std::string& type) { return dir_->path() / ("qwen3-tiny-" + type + ".gguf"); }
  static fs::path work() { return dir_->path(); }
  static TempDir* dir_;
};
TempDir* Qwen3::dir_ = nullptr;

// LoRA parameters of r 32 on the seven projections: the users' recipe.
int64_t lora_parameters(const formats::ModelConfig& c, int64_t r) {
  const int64_t h = c.hidden_size, q = c.num_attention_heads * c.head_dim(), kv = c.num_key_value_heads * c.head_dim();
  const int64_t ff = c.intermediate_size;
  const int64_t per_layer = (h + q) + 2 * (h + kv) + (q + h) + 3 * (h + ff);
  return per_layer * r * c.num_hidden_layers;
}

}  // namespace

TEST_F(Qwen3, PresetsHaveTheRealShapes) {
  struct Expected {
    const char* preset;
    int64_t layers, hidden, heads, kv_heads, ff;
    bool tied;
  };
  for (const auto& e : {Expected{"qwen3-0.6b", 28, 1024, 16, 8, 3072, true}, Expected{"qwen3-1.7b", 28, 2048, 16, 8, 6144, true},
                        Expected{"qwen3-4b", 36, 2560, 32, 8, 9728, true}, Expected{"qwen3-8b", 36, 4096, 32, 8, 12288, false}}) {
    const auto c = *formats::preset_config(e.preset);
    EXPECT_EQ(c.architecture, "Qwen3ForCausalLM") << e.preset;
    EXPECT_EQ(c.model_type, "qwen3");
    EXPECT_EQ(c.num_hidden_layers, e.layers) << e.preset;
    EXPECT_EQ(c.hidden_size, e.hidden) << e.preset;
    EXPECT_EQ(c.num_attention_heads, e.heads) << e.preset;
    EXPECT_EQ(c.num_key_value_heads, e.kv_heads) << e.preset;
    EXPECT_EQ(c.intermediate_size, e.ff) << e.preset;
    EXPECT_EQ(c.tie_word_embeddings, e.tied) << e.preset;
    EXPECT_EQ(c.head_dim(), 128) << e.preset;
    EXPECT_EQ(c.vocab_size, 151936);
    EXPECT_EQ(c.rope_theta, 1e6);
    EXPECT_EQ(c.rms_norm_eps, 1e-6);
  }
  // The users' trainable parameter counts for r 32 (their training log).
  EXPECT_EQ(lora_parameters(*formats::preset_config("qwen3-4b"), 32), 66'060'288);
  EXPECT_EQ(lora_parameters(*formats::preset_config("qwen3-8b"), 32), 87'293'952);
}

TEST_F(Qwen3, InitBaseWritesTransformersQwen3Layout) {
  const auto config = josi::json::Json::parse(josi::test::read_text(hf() / "config.json"));
  EXPECT_EQ(config["architectures"], josi::json::Json::array({"Qwen3ForCausalLM"}));
  EXPECT_EQ(config["model_type"], "qwen3");
  EXPECT_EQ(config["head_dim"], 128);
  EXPECT_EQ(config["hidden_size"], 256);
  EXPECT_EQ(config["num_attention_heads"], 4);
  EXPECT_EQ(config["attention_bias"], false);
  EXPECT_EQ(config["tie_word_embeddings"], true);
  EXPECT_EQ(config["torch_dtype"], "float32");
  formats::SafetensorsModel weights(hf());
  EXPECT_EQ(weights.at("model.layers.1.self_attn.q_proj.weight").shape, (std::vector<int64_t>{512, 256}));
  EXPECT_EQ(weights.at("model.layers.1.self_attn.k_proj.weight").shape, (std::vector<int64_t>{256, 256}));
  EXPECT_EQ(weights.at("model.layers.1.self_attn.o_proj.weight").shape, (std::vector<int64_t>{256, 512}));
  EXPECT_EQ(weights.at("model.layers.1.self_attn.q_norm.weight").shape, (std::vector<int64_t>{128}));
  EXPECT_EQ(weights.at("model.layers.1.self_attn.k_norm.weight").shape, (std::vector<int64_t>{128}));
  EXPECT_EQ(weights.find("model.layers.0.self_attn.q_proj.bias"), nullptr);
  EXPECT_EQ(weights.find("lm_head.weight"), nullptr);
  EXPECT_NE(formats::SafetensorsModel(untied_hf()).find("lm_head.weight"), nullptr);
  const auto tokenizer_config = josi::json::Json::parse(josi::test::read_text(hf() / "tokenizer_config.json"));
  const std::string chat_template = tokenizer_config["chat_template"];
  EXPECT_NE(chat_template.find("</think>"), std::string::npos);
  EXPECT_NE(chat_template.find("enable_thinking"), std::string::npos);
}

TEST_F(Qwen3, F32MatchesAnIndependentForwardPassTiedAndUntied) {
  IsaGuard guard;
  for (const auto& [dir, file] : {std::pair{hf(), gguf("f32")}, {untied_hf(), gguf("untied-f32")}}) {
    const auto expected = ReferenceForward(dir).logits(kTokens);
    for (auto isa : supported_isas()) {
      kernels::set_active_isa(isa);
      const auto got = all_logits(file, kTokens);
      ASSERT_EQ(got.size(), expected.size());
      EXPECT_LT(relative_difference(got, expected), 1e-4) << file << " " << kernels::isa_name(isa);
    }
    // The engine also reads the Hugging Face directory in place.
    EXPECT_LT(relative_difference(all_logits(dir, kTokens), expected), 1e-4) << dir;
  }
}

// A Q8_0 KV cache (--kv-type q8_0): the scalar path's logits are the plain
// forward pass's with K and V rounded through Q8_0. A fast path computes K
// and V with other float roundings, so a value near the midpoint of two
// levels may round to the other one: its logits stay within half of what
// the Q8_0 rounding itself moves them from the F16 cache's (the attention
// kernels' own exactness is kernels_test's). A batch's rows equal its
// tokens run one by one, bit for bit, on every path.
TEST_F(Qwen3, F32MatchesTheForwardPassThroughAQ8_0KvCacheOnEveryPath) {
  IsaGuard guard;
  const auto q8_kv = infer::KvType::q8_0;
  const auto expected = ReferenceForward(hf(), true, true).logits(kTokens);
  const double rounding = relative_difference(expected, ReferenceForward(hf()).logits(kTokens));
  EXPECT_GT(rounding, 1e-4);  // the test can tell the two caches apart
  kernels::set_active_isa(kernels::Isa::scalar);
  EXPECT_LT(relative_difference(all_logits(gguf("f32"), kTokens, 2, {}, q8_kv), expected), 1e-4);
  const std::vector<int32_t> tokens(kTokens.begin(), kTokens.begin() + 6);
  for (auto isa : supported_isas()) {
    kernels::set_active_isa(isa);
    EXPECT_LT(relative_difference(all_logits(gguf("f32"), kTokens, 2, {}, q8_kv), expected), rounding / 2)
        << kernels::isa_name(isa);
    ASSERT_TRUE(josi::test::one_by_one_logits(gguf("Q4_K_M"), tokens, q8_kv) ==
                all_logits(gguf("Q4_K_M"), tokens, 2, {}, q8_kv))
        << kernels::isa_name(isa);
  }
}

// Two contexts sharing one Workspace (a coach's two roles take turns) give
// each what a context of its own gives, bit for bit, whatever runs between
// their calls: nothing of one call lives on in the buffers.
TEST_F(Qwen3, ContextsSharingAWorkspaceGiveTheirOwnLogits) {
  infer::Model model(gguf("Q4_K_M"));
  josi::base::ThreadPool pool(2);
  const auto span = [](size_t from, size_t to) { return std::span<const int32_t>(kTokens.data() + from, to - from); };
  const auto logits = [](std::span<const float> l) { return std::vector<float>(l.begin(), l.end()); };
  infer::Context alone_a(model, pool, 64), alone_b(model, pool, 64, nullptr, infer::KvType::q8_0);
  const auto a1 = logits(alone_a.eval(span(0, 9))), a2 = logits(alone_a.eval(span(9, 14), infer::Logits::all));
  const auto b1 = logits(alone_b.eval(span(0, 4), infer::Logits::all)), b2 = logits(alone_b.eval(span(4, 14)));
  const auto shared = std::make_shared<infer::Workspace>();
  infer::Context a(model, pool, 64, nullptr, infer::KvType::f16, shared);
  infer::Context b(model, pool, 64, nullptr, infer::KvType::q8_0, shared);
  EXPECT_EQ(logits(a.eval(span(0, 9))), a1);
  EXPECT_EQ(logits(b.eval(span(0, 4), infer::Logits::all)), b1);
  EXPECT_EQ(logits(a.eval(span(9, 14), infer::Logits::all)), a2);
  EXPECT_EQ(logits(b.eval(span(4, 14))), b2);
}

// The same bounds as Qwen2's (inference_test.cpp).
TEST_F(Qwen3, EveryWeightTypeIsAsCloseAsQwen2sOnEveryPath) {
  IsaGuard guard;
  kernels::set_active_isa(kernels::Isa::scalar);
  const auto f32 = all_logits(gguf("f32"), kTokens);
  std::vector<std::string> types = {"f16"};
  types.insert(types.end(), std::begin(kQuantTypes), std::end(kQuantTypes));
  for (const auto& type : types) {
    kernels::set_active_isa(kernels::Isa::scalar);
    const auto scalar = all_logits(gguf(type), kTokens);
    const double budget = type.find("Q4") == 0 ? 0.25 : type.find("Q5") == 0 ? 0.12 : 0.06;
    EXPECT_LT(relative_difference(scalar, f32), budget) << type;
    for (auto isa : supported_isas()) {
      kernels::set_active_isa(isa);
      const double tolerance = type.find('Q') == 0 ? 2e-2 : 1e-4;
      EXPECT_LT(relative_difference(all_logits(gguf(type), kTokens), scalar), tolerance) << type << " " << kernels::isa_name(isa);
    }
  }
}

// llama.cpp's choices for Q4_K_M (llama_tensor_get_type): the output matrix
// (token_embd when tied) Q6_K, attn_v and ffn_down Q6_K on the layers
// use_more_bits picks (of 2 layers: the second), the per-head norms F32.
TEST_F(Qwen3, Q4KMChoosesEachTensorsTypeAsLlamaCpp) {
  const formats::GgufFile tied(gguf("Q4_K_M")), untied(gguf("untied-Q4_K_M"));
  const auto type = [](const formats::GgufFile& f, const std::string& name) {
    const auto* t = f.find_tensor(name);
    return t ? std::string(formats::ggml_type_info(t->type).name) : std::string("absent");
  };
  EXPECT_EQ(type(tied, "token_embd.weight"), "Q6_K");
  EXPECT_EQ(type(tied, "output.weight"), "absent");
  EXPECT_EQ(type(untied, "token_embd.weight"), "Q4_K");
  EXPECT_EQ(type(untied, "output.weight"), "Q6_K");
  for (const auto* f : {&tied, &untied}) {
    for (int layer = 0; layer < 2; ++layer) {
      const std::string p = "blk." + std::to_string(layer) + ".";
      const std::string more = josi::quant::use_more_bits(layer, 2) ? "Q6_K" : "Q4_K";
      EXPECT_EQ(type(*f, p + "attn_v.weight"), more) << layer;
      EXPECT_EQ(type(*f, p + "ffn_down.weight"), more) << layer;
      for (const char* name : {"attn_q", "attn_k", "attn_output", "ffn_gate", "ffn_up"})
        EXPECT_EQ(type(*f, p + name + ".weight"), "Q4_K") << p << name;
      for (const char* name : {"attn_norm", "ffn_norm", "attn_q_norm", "attn_k_norm"})
        EXPECT_EQ(type(*f, p + name + ".weight"), "F32") << p << name;
    }
  }
  EXPECT_FALSE(josi::quant::use_more_bits(0, 2));
  EXPECT_TRUE(josi::quant::use_more_bits(1, 2));
}

// What llama.cpp's loader reads for LLM_ARCH_QWEN3: the metadata keys
// (attention.key_length / value_length for the head size), and for each
// tensor its name and GGUF dims (row length first) as its create_tensor
// calls ask: attn_q {n_embd, head_dim * n_head}, attn_output {head_dim *
// n_head, n_embd}, attn_q_norm / attn_k_norm {head_dim}, no biases, output
// only when untied.
TEST_F(Qwen3, TheGgufHasTheLayoutLlamaCppsLoaderReads) {
  const std::string bytes = josi::test::read_text(gguf("f16"));
  ASSERT_GT(bytes.size(), 24u);
  EXPECT_EQ(bytes.substr(0, 4), "GGUF");
  uint32_t version;
  std::memcpy(&version, bytes.data() + 4, 4);
  EXPECT_EQ(version, 3u);

  const formats::GgufFile f(gguf("f16"));
  const auto u = [&](const std::string& key) { return f.at(key).as_uint(key); };
  EXPECT_EQ(f.at("general.architecture").as_string("a"), "qwen3");
  EXPECT_EQ(u("general.file_type"), 1u);
  EXPECT_EQ(u("qwen3.block_count"), 2u);
  EXPECT_EQ(u("qwen3.context_length"), 4096u);
  EXPECT_EQ(u("qwen3.embedding_length"), 256u);
  EXPECT_EQ(u("qwen3.feed_forward_length"), 512u);
  EXPECT_EQ(u("qwen3.attention.head_count"), 4u);
  EXPECT_EQ(u("qwen3.attention.head_count_kv"), 2u);
  EXPECT_EQ(u("qwen3.attention.key_length"), 128u);
  EXPECT_EQ(u("qwen3.attention.value_length"), 128u);
  EXPECT_EQ(f.at("qwen3.rope.freq_base").as_float("r"), 1e6);
  EXPECT_FLOAT_EQ(static_cast<float>(f.at("qwen3.attention.layer_norm_rms_epsilon").as_float("e")), 1e-6f);
  EXPECT_EQ(f.at("tokenizer.ggml.model").as_string("m"), "gpt2");
  EXPECT_EQ(f.at("tokenizer.ggml.pre").as_string("p"), "qwen2");
  EXPECT_EQ(f.at("tokenizer.ggml.tokens").as_array("t").elements.size(), 151936u);
  EXPECT_EQ(u("tokenizer.ggml.eos_token_id"), 151645u);
  EXPECT_EQ(u("tokenizer.ggml.padding_token_id"), 151643u);
  EXPECT_EQ(u("tokenizer.ggml.bos_token_id"), 151643u);
  EXPECT_FALSE(f.at("tokenizer.ggml.add_bos_token").as_bool("b"));
  EXPECT_EQ(f.find("qwen3.rope.dimension_count"), nullptr);  // the loader takes head_dim

  const auto dims = [&](const std::string& name) {
    const auto* t = f.find_tensor(name);
    return t ? t->dims : std::vector<uint64_t>{};
  };
  using D = std::vector<uint64_t>;
  EXPECT_EQ(dims("token_embd.weight"), (D{256, 151936}));
  EXPECT_EQ(dims("output_norm.weight"), (D{256}));
  EXPECT_EQ(dims("output.weight"), D{});
  for (int layer = 0; layer < 2; ++layer) {
    const std::string p = "blk." + std::to_string(layer) + ".";
    EXPECT_EQ(dims(p + "attn_norm.weight"), (D{256}));
    EXPECT_EQ(dims(p + "attn_q.weight"), (D{256, 512}));
    EXPECT_EQ(dims(p + "attn_k.weight"), (D{256, 256}));
    EXPECT_EQ(dims(p + "attn_v.weight"), (D{256, 256}));
    EXPECT_EQ(dims(p + "attn_output.weight"), (D{512, 256}));
    EXPECT_EQ(dims(p + "attn_q_norm.weight"), (D{128}));
    EXPECT_EQ(dims(p + "attn_k_norm.weight"), (D{128}));
    EXPECT_EQ(dims(p + "ffn_norm.weight"), (D{256}));
    EXPECT_EQ(dims(p + "ffn_gate.weight"), (D{256, 512}));
    EXPECT_EQ(dims(p + "ffn_up.weight"), (D{256, 512}));
    EXPECT_EQ(dims(p + "ffn_down.weight"), (D{512, 256}));
    EXPECT_EQ(dims(p + "attn_q.bias"), D{});
  }
  EXPECT_EQ(f.tensors().size(), 2u + 2u * 11u);  // token_embd, output_norm, 11 per layer
  for (const auto& t : f.tensors()) {
    EXPECT_EQ(t.type, t.dims.size() == 1 ? GgmlType::F32 : GgmlType::F16) << t.name;
    EXPECT_EQ((f.data_offset() + t.offset) % 32, 0u) << t.name;  // GGUF's default alignment
  }
  EXPECT_EQ(formats::GgufFile(gguf("untied-f32")).find_tensor("output.weight")->dims, (D{256, 151936}));
}

namespace {

// GGUF v3 written byte by byte from its published layout, the way llama.cpp's
// converter lays out a Qwen3 model: its metadata keys (with the general.*
// keys Josi does not write), the tensors in the checkpoint's (sorted) order,
// 2-D weights F16 and 1-D ones F32, data aligned to 32 bytes.
class RawGguf {
 public:
  void u32(const std::string& key, uint32_t v) { kv(key, 4, pod(v)); }
  void f32(const std::string& key, float v) { kv(key, 6, pod(v)); }
  void boolean(const std::string& key, bool v) { kv(key, 7, std::string(1, v ? 1 : 0)); }
  void text(const std::string& key, const std::string& v) { kv(key, 8, str(v)); }
  void strings(const std::string& key, const std::vector<std::string>& v) {
    std::string body = pod(uint32_t{8}) + pod(uint64_t{v.size()});
    for (const auto& s : v) body += str(s);
    kv(key, 9, body);
  }
  void i32s(const std::string& key, const std::vector<int32_t>& v) {
    std::string body = pod(uint32_t{5}) + pod(uint64_t{v.size()});
    for (int32_t x : v) body += pod(x);
    kv(key, 9, body);
  }
  void tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type, std::string data) {
    infos_ += str(name) + pod(static_cast<uint32_t>(dims.size()));
    for (uint64_t d : dims) infos_ += pod(d);
    data_.resize((data_.size() + 31) / 32 * 32, '\0');
    infos_ += pod(type) + pod(static_cast<uint64_t>(data_.size()));
    data_ += data;
    ++tensors_;
  }
  void write(const fs::path& path) const {
    std::string out = "GGUF" + pod(uint32_t{3}) + pod(tensors_) + pod(kv_count_) + kv_ + infos_;
    out.resize((out.size() + 31) / 32 * 32, '\0');
    josi::test::write_text(path, out + data_);
  }

 private:
  template <typename T>
  static std::string pod(T v) {
    return std::string(reinterpret_cast<const char*>(&v), sizeof v);
  }
  static std::string str(const std::string& s) { return pod(uint64_t{s.size()}) + s; }
  void kv(const std::string& key, uint32_t type, const std::string& value) {
    kv_ += str(key) + pod(type) + value;
    ++kv_count_;
  }
  std::string kv_, infos_, data_;
  uint64_t tensors_ = 0, kv_count_ = 0;
};

// llama.cpp's tensor name for a Qwen3 checkpoint tensor (its tensor map).
std::string llama_cpp_name(const std::string& hf) {
  static const std::vector<std::pair<std::string, std::string>> layer = {
      {"input_layernorm", "attn_norm"},        {"self_attn.q_proj", "attn_q"},  {"self_attn.k_proj", "attn_k"},
      {"self_attn.v_proj", "attn_v"},          {"self_attn.o_proj", "attn_output"}, {"self_attn.q_norm", "attn_q_norm"},
      {"self_attn.k_norm", "attn_k_norm"},     {"post_attention_layernorm", "ffn_norm"}, {"mlp.gate_proj", "ffn_gate"},
      {"mlp.up_proj", "ffn_up"},               {"mlp.down_proj", "ffn_down"}};
  if (hf == "model.embed_tokens.weight") return "token_embd.weight";
  if (hf == "model.norm.weight") return "output_norm.weight";
  if (hf == "lm_head.weight") return "output.weight";
  const std::string prefix = "model.layers.";
  const size_t dot = hf.find('.', prefix.size());
  const std::string index = hf.substr(prefix.size(), dot - prefix.size());
  const std::string rest = hf.substr(dot + 1, hf.size() - dot - 1 - std::string(".weight").size());
  for (const auto& [from, to] : layer)
    if (rest == from) return "blk." + index + "." + to + ".weight";
  return "";
}

}  // namespace

TEST_F(Qwen3, ReadsAFileInLlamaCppsOwnLayout) {
  formats::SafetensorsModel weights(hf());
  const auto config = josi::json::Json::parse(josi::test::read_text(hf() / "config.json"));
  const auto vocab = josi::text::vocabulary_from_tokenizer_json(hf() / "tokenizer.json");
  RawGguf g;
  g.text("general.architecture", "qwen3");
  g.text("general.type", "model");
  g.text("general.name", "Qwen3 Tiny");
  g.text("general.size_label", "89M");
  g.text("general.license", "apache-2.0");
  g.u32("qwen3.block_count", config["num_hidden_layers"]);
  g.u32("qwen3.context_length", config["max_position_embeddings"]);
  g.u32("qwen3.embedding_length", config["hidden_size"]);
  g.u32("qwen3.feed_forward_length", config["intermediate_size"]);
  g.u32("qwen3.attention.head_count", config["num_attention_heads"]);
  g.u32("qwen3.attention.head_count_kv", config["num_key_value_heads"]);
  g.f32("qwen3.rope.freq_base", config["rope_theta"].get<float>());
  g.f32("qwen3.attention.layer_norm_rms_epsilon", config["rms_norm_eps"].get<float>());
  g.u32("qwen3.attention.key_length", config["head_dim"]);
  g.u32("qwen3.attention.value_length", config["head_dim"]);
  g.u32("general.file_type", 1);
  g.u32("general.quantization_version", 2);
  g.text("tokenizer.ggml.model", "gpt2");
  g.text("tokenizer.ggml.pre", "qwen2");
  std::vector<std::string> tokens = vocab.tokens;
  std::vector<int32_t> types;
  for (auto t : vocab.types) types.push_back(static_cast<int32_t>(t));
  while (tokens.size() < 151936) {
    tokens.push_back("[PAD" + std::to_string(tokens.size()) + "]");
    types.push_back(5);  // unused
  }
  g.strings("tokenizer.ggml.tokens", tokens);
  g.i32s("tokenizer.ggml.token_type", types);
  g.strings("tokenizer.ggml.merges", vocab.merges);
  g.u32("tokenizer.ggml.eos_token_id", 151645);
  g.u32("tokenizer.ggml.padding_token_id", 151643);
  g.u32("tokenizer.ggml.bos_token_id", 151643);
  g.boolean("tokenizer.ggml.add_bos_token", false);
  std::vector<std::string> names;
  for (const auto* t : weights.tensors()) names.push_back(t->name);
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    const auto& t = weights.at(name);
    const std::string gguf_name = llama_cpp_name(name);
    ASSERT_FALSE(gguf_name.empty()) << name;
    const float* values = reinterpret_cast<const float*>(t.data);
    std::string data;
    const bool matrix = t.shape.size() == 2;
    for (int64_t i = 0; i < t.numel(); ++i) {
      if (matrix) {
        const uint16_t h = formats::f32_to_f16(values[i]);
        data.append(reinterpret_cast<const char*>(&h), 2);
      } else {
        data.append(reinterpret_cast<const char*>(&values[i]), 4);
      }
    }
    g.tensor(gguf_name, std::vector<uint64_t>(t.shape.rbegin(), t.shape.rend()), matrix ? 1u : 0u, data);
  }
  const auto file = work() / "llama-cpp-layout.gguf";
  g.write(file);
  // The same weights and types as Josi's own F16 export: the same logits, bit for bit.
  EXPECT_EQ(all_logits(file, kTokens), all_logits(gguf("f16"), kTokens));
  auto r = run_josi({"generate", file.string(), "--prompt", "What is Zone 2?", "--greedy", "--max-tokens", "8"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(Qwen3, OneBatchEqualsTokenByTokenAndSpeculationKeepsPlainDecoding) {
  IsaGuard guard;
  const std::vector<int32_t> tokens(kTokens.begin(), kTokens.begin() + 6);
  for (auto isa : supported_isas()) {
    kernels::set_active_isa(isa);
    for (const char* type : {"f16", "Q8_0", "Q4_K_M"})
      ASSERT_TRUE(josi::test::one_by_one_logits(gguf(type), tokens) == all_logits(gguf(type), tokens))
          << type << " " << kernels::isa_name(isa);
  }
  infer::Model model(gguf("Q4_K_M"));
  const auto tokenizer = josi::text::Tokenizer::load(gguf("Q4_K_M"));
  const auto prompt = josi::text::encode_chatml(tokenizer, {{"user", "run run run, 45 minute run, run run today"}}, true);
  josi::base::ThreadPool pool(2);
  for (const float temperature : {0.0f, 0.7f}) {
    std::vector<int32_t> outputs[2];
    for (const int32_t draft : {0, 8}) {
      infer::Context context(model, pool, 256);
      infer::GenerateOptions options;
      options.sampling.temperature = temperature;
      options.sampling.seed = 3;
      options.max_new_tokens = 32;
      options.stop_tokens = {-1};
      options.draft_tokens = draft;
      outputs[draft ? 1 : 0] = infer::generate(context, tokenizer, prompt, options).tokens;
    }
    EXPECT_EQ(outputs[1], outputs[0]) << temperature;
  }
}

// An adapter Josi did not write: bench/random_adapter.js writes PEFT's key
// names and adapter_config.json from the base's config.json (head_dim 128),
// with the users' r 32 / alpha 64. Merged or applied at run time, on every
// kernel path, it gives the same logits.
TEST_F(Qwen3, APeftAdapterMergesAndAppliesAtRunTime) {
  IsaGuard guard;
  const auto peft = work() / "peft";
  const auto script = (josi::test::source_dir() / "bench" / "random_adapter.js").string();
  const int rc = std::system(("node '" + script + "' '" + (hf() / "config.json").string() + "' '" + peft.string() +
                              "' 5 32 64 >/dev/null 2>&1")
                                 .c_str());
  ASSERT_EQ(rc, 0);
  const auto merged = work() / "peft-merged";
  auto r = run_josi({"merge", "--lora_path", peft.string(), "--output_path", merged.string(), "--dtype", "f32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_josi({"export-gguf", merged.string(), "--outfile", (work() / "peft-merged.gguf").string(), "--outtype", "f32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto adapter = work() / "peft-adapter.gguf";
  r = run_josi({"export-gguf", "--lora", peft.string(), "--base", hf().string(), "--outfile", adapter.string(), "--outtype", "f32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const formats::GgufFile a(adapter);
  EXPECT_EQ(a.at("general.architecture").as_string("a"), "qwen3");
  EXPECT_EQ(a.at("qwen3.attention.key_length").as_uint("k"), 128u);
  EXPECT_EQ(a.find_tensor("blk.0.attn_q.weight.lora_a")->dims, (std::vector<uint64_t>{256, 32}));
  EXPECT_EQ(a.find_tensor("blk.0.attn_q.weight.lora_b")->dims, (std::vector<uint64_t>{32, 512}));
  EXPECT_EQ(a.find_tensor("blk.0.attn_output.weight.lora_a")->dims, (std::vector<uint64_t>{512, 32}));

  const auto expected = all_logits(work() / "peft-merged.gguf", kTokens);
  EXPECT_GT(relative_difference(all_logits(gguf("f32"), kTokens), expected), 0.01);  // the adapter matters
  EXPECT_LT(relative_difference(all_logits(merged, kTokens), expected), 1e-5);      // the merged directory in place
  for (auto isa : supported_isas()) {
    kernels::set_active_isa(isa);
    EXPECT_LT(relative_difference(all_logits(gguf("f32"), kTokens, 2, adapter), expected), 1e-4) << kernels::isa_name(isa);
  }
  // The adapter on a Qwen2 base of another shape is refused in one line.
  const auto qwen2 = work() / "qwen2";
  r = run_josi({"init-base", "--preset", "tiny", "--tokenizer", josi::test::qwen_tokenizer_json().string(), "--out",
                qwen2.string(), "--dtype", "f32"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_josi({"export-gguf", qwen2.string(), "--outfile", (work() / "qwen2.gguf").string(), "--outtype", "f16"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  r = run_josi({"logits", (work() / "qwen2.gguf").string(), "--adapter", adapter.string(), "--tokens", "1,2",
                "--out", (work() / "x.bin").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("an adapter for a qwen3 model"), std::string::npos) << r.err;
  EXPECT_EQ(josi::test::josi_lines(r.err), 1u) << r.err;
}

// The engine's commands take a Qwen3 file as they take a Qwen2 one.
TEST_F(Qwen3, LogitsBenchEvalAndGgufInfoAcceptAQwen3File) {
  std::string ids;
  for (int32_t t : kTokens) ids += (ids.empty() ? "" : ",") + std::to_string(t);
  const auto out = work() / "logits.bin";
  auto r = run_josi({"logits", gguf("Q8_0").string(), "--tokens", ids, "--out", out.string(), "--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string bytes = josi::test::read_text(out);
  const auto expected = all_logits(gguf("Q8_0"), kTokens);
  ASSERT_EQ(bytes.size(), expected.size() * sizeof(float));
  EXPECT_EQ(std::memcmp(bytes.data(), expected.data(), bytes.size()), 0);

  r = run_josi({"bench", gguf("Q4_K_M").string(), "--pp", "16", "--tg", "4", "--repetitions", "1", "--threads", "2", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto bench = josi::json::parse(r.out, "bench");
  EXPECT_GT(bench["tg_tokens_per_s"].get<double>(), 0);
  // Bytes per generated token: every matrix once, the q/k norms aside.
  uint64_t matrices = 0;
  const formats::GgufFile file(gguf("Q4_K_M"));
  for (const auto& t : file.tensors())
    if (t.dims.size() == 2) matrices += t.nbytes;
  EXPECT_EQ(bench["bytes_per_token"].get<uint64_t>(), matrices);  // tied: token_embd is the output matrix

  josi::test::write_text(work() / "eval.jsonl", josi::test::dozen_interpreter_examples());
  r = run_josi({"eval", "--model", gguf("Q8_0").string(), "--data", (work() / "eval.jsonl").string(), "--mode",
                "interpreter", "--limit", "2", "--compare", gguf("f16").string(), "--json", "--threads", "2"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto eval = josi::json::parse(r.out, "eval");
  EXPECT_EQ(eval["examples"], 2) << r.out;
  EXPECT_GT(eval["eval_loss"].get<double>(), 0);

  r = run_josi({"gguf", "info", gguf("Q4_K_M").string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto info = josi::json::parse(r.out, "gguf info");
  EXPECT_EQ(info["metadata"]["general.architecture"]["value"], "qwen3");
  EXPECT_EQ(info["metadata"]["qwen3.attention.key_length"]["value"], 128);
}

// A coach on one Qwen3 file serving both roles: the prefix kept in a cache
// file is reused by the next run, which gives the same turns.
TEST_F(Qwen3, ChatReusesAPrefixCacheFileWithTheSameTurns) {
  const std::string line = josi::test::read_text(josi::test::source_dir() / "data" / "samples" / "chat.jsonl");
  auto turn = josi::json::parse(line.substr(0, line.find('\n')), "chat.jsonl");
  turn["options"] = {{"seed", 4}, {"max_tokens", 60}};
  const auto cache = work() / "cache";
  std::string outputs[2];
  for (int run = 0; run < 2; ++run) {
    auto r = run_josi({"chat", "--interpreter", gguf("Q4_K_M").string(), "--cache-dir", cache.string(), "--jsonl", "--threads",
                       "2"},
                      turn.dump() + "\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string source = run == 0 ? "evaluated" : "cache file";
    EXPECT_NE(r.err.find("interpreter prefix"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(", " + source), std::string::npos) << r.err;
    auto out = josi::json::parse(r.out, "chat");
    EXPECT_TRUE(out["interpreter"]["valid"].get<bool>()) << r.out;  // the constraint on a Qwen3 vocabulary
    out.erase("timings_ms");
    outputs[run] = out.dump();
  }
  EXPECT_EQ(outputs[1], outputs[0]);
}
