// formats.md "PEFT LoRA adapter directory": adapter_config.json, the PEFT key
// names (with and without the adapter name), A/B pairing and shapes, writing.
#include "formats/peft_adapter.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "support/test_support.hpp"

using namespace josi::formats;
namespace fs = std::filesystem;
using josi::json::Json;
using josi::test::TempDir;
using josi::test::read_text;
using josi::test::write_text;

namespace {

// adapter_config.json as PEFT 0.13 saves it (sorted keys, every field).
const char* kPeftConfig = R"({
  "alpha_pattern": {},
  "auto_mapping": null,
  "base_model_name_or_path": "Qwen/Qwen2.5-1.5B-Instruct",
  "bias": "none",
  "fan_in_fan_out": false,
  "inference_mode": true,
  "init_lora_weights": true,
  "layer_replication": null,
  "layers_pattern": null,
  "layers_to_transform": null,
  "loftq_config": {},
  "lora_alpha": 32,
  "lora_dropout": 0.05,
  "megatron_config": null,
  "megatron_core": "megatron.core",
  "modules_to_save": null,
  "peft_type": "LORA",
  "r": 4,
  "rank_pattern": {},
  "revision": null,
  "target_modules": ["v_proj", "q_proj", "down_proj"],
  "task_type": "CAUSAL_LM",
  "use_dora": false,
  "use_rslora": false
})";

std::string zeros_f32(int64_t n) { return std::string(static_cast<size_t>(n) * 4, '\0'); }

AdapterTensor lora(const std::string& key, std::vector<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::string bytes = zeros_f32(n);
  for (size_t i = 0; i < key.size() && i < bytes.size(); ++i) bytes[i] = key[i];  // recognisable contents
  return {key, DType::F32, std::move(shape), std::move(bytes)};
}

std::string key(int layer, const std::string& group, const std::string& module, const std::string& half,
                const std::string& adapter = "") {
  return "base_model.model.model.layers." + std::to_string(layer) + "." + group + "." + module + ".lora_" + half +
         (adapter.empty() ? "" : "." + adapter) + ".weight";
}

void write_adapter(const fs::path& dir, const std::vector<AdapterTensor>& tensors, const std::string& config = kPeftConfig) {
  fs::create_directories(dir);
  write_text(dir / "adapter_config.json", config);
  SafetensorsWriter writer;
  for (const auto& t : tensors) writer.add_bytes(t.key, t.dtype, t.shape, t.bytes);
  writer.set_metadata("format", "pt");
  writer.write(dir / "adapter_model.safetensors");
}

std::string adapter_error(const fs::path& dir) {
  try {
    PeftAdapter adapter(dir);
    return "";
  } catch (const josi::Error& e) {
    return e.what();
  }
}

std::string config_error(const Json& value) {
  try {
    lora_config_from_json(value, "cfg.json");
    return "";
  } catch (const josi::Error& e) {
    return e.what();
  }
}

}  // namespace

TEST(LoraConfig, ReadsWhatPeftWrites) {
  LoraConfig c = lora_config_from_json(Json::parse(kPeftConfig), "adapter_config.json");
  EXPECT_EQ(c.r, 4);
  EXPECT_EQ(c.lora_alpha, 32.0);
  EXPECT_EQ(c.lora_dropout, 0.05);
  EXPECT_EQ(c.target_modules, (std::vector<std::string>{"v_proj", "q_proj", "down_proj"}));
  EXPECT_EQ(c.bias, "none");
  EXPECT_EQ(c.task_type, "CAUSAL_LM");
  EXPECT_EQ(c.base_model_name_or_path, "Qwen/Qwen2.5-1.5B-Instruct");
  EXPECT_FALSE(c.fan_in_fan_out);
  EXPECT_TRUE(c.inference_mode);
  EXPECT_EQ(c.scale(), 8.0);
}

TEST(LoraConfig, TargetModulesMayBeOneString) {
  Json doc = Json::parse(kPeftConfig);
  doc["target_modules"] = ".*\\.(q|v)_proj";
  LoraConfig c = lora_config_from_json(doc, "x");
  EXPECT_EQ(c.target_modules, std::vector<std::string>{".*\\.(q|v)_proj"});
}

TEST(LoraConfig, JsonRoundTrip) {
  LoraConfig c;
  c.r = 8;
  c.lora_alpha = 16;
  c.lora_dropout = 0.1;
  c.target_modules = {"q_proj", "k_proj"};
  c.base_model_name_or_path = "base";
  c.inference_mode = false;
  Json doc = to_json(c);
  std::vector<std::string> keys;
  for (const auto& [k, v] : doc.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"peft_type", "task_type", "r", "lora_alpha", "lora_dropout",
                                            "target_modules", "bias", "fan_in_fan_out", "inference_mode",
                                            "base_model_name_or_path"}));
  EXPECT_EQ(doc["peft_type"], "LORA");
  EXPECT_TRUE(doc["lora_alpha"].is_number_integer());  // PEFT declares an int
  LoraConfig back = lora_config_from_json(doc, "x");
  EXPECT_EQ(back.r, 8);
  EXPECT_EQ(back.lora_alpha, 16.0);
  EXPECT_EQ(back.lora_dropout, 0.1);
  EXPECT_EQ(back.target_modules, c.target_modules);
  EXPECT_EQ(back.base_model_name_or_path, "base");
  EXPECT_FALSE(back.inference_mode);
  c.lora_alpha = 12.5;
  EXPECT_EQ(to_json(c)["lora_alpha"], 12.5);
}

TEST(LoraConfig, Errors) {
  auto with = [](const char* k, Json v) {
    Json doc = Json::parse(kPeftConfig);
    if (v.is_discarded())
      doc.erase(k);
    else
      doc[k] = std::move(v);
    return doc;
  };
  const Json gone(Json::value_t::discarded);
  EXPECT_EQ(config_error(Json::array()), "cfg.json: expected a JSON object, got array");
  EXPECT_EQ(config_error(with("peft_type", "PREFIX_TUNING")),
            "cfg.json: key \"peft_type\": only LORA adapters are supported, got \"PREFIX_TUNING\"");
  EXPECT_EQ(config_error(with("peft_type", gone)), "cfg.json: key \"peft_type\": missing");
  EXPECT_EQ(config_error(with("r", gone)), "cfg.json: key \"r\": missing");
  EXPECT_EQ(config_error(with("r", 0)), "cfg.json: key \"r\": expected a positive integer");
  EXPECT_EQ(config_error(with("r", -4)), "cfg.json: key \"r\": expected a positive integer");
  EXPECT_EQ(config_error(with("r", 4.0)), "cfg.json: key \"r\": expected a positive integer");
  EXPECT_EQ(config_error(with("r", "4")), "cfg.json: key \"r\": expected a positive integer");
  EXPECT_EQ(config_error(with("lora_alpha", gone)), "cfg.json: key \"lora_alpha\": missing");
  EXPECT_EQ(config_error(with("lora_alpha", "32")), "cfg.json: key \"lora_alpha\": expected a number");
  EXPECT_EQ(config_error(with("lora_dropout", 1.5)), "cfg.json: key \"lora_dropout\": must be in [0, 1)");
  EXPECT_EQ(config_error(with("target_modules", 3)),
            "cfg.json: key \"target_modules\": expected a list of strings or a string, got integer");
  EXPECT_EQ(config_error(with("target_modules", {"q_proj", 1})),
            "cfg.json: key \"target_modules\": expected a list of strings");
  EXPECT_EQ(config_error(with("bias", false)), "cfg.json: key \"bias\": expected a string, got boolean");
  EXPECT_EQ(config_error(with("inference_mode", "yes")),
            "cfg.json: key \"inference_mode\": expected true or false, got string");
  EXPECT_NE(config_error(with("use_rslora", true)).find("key \"use_rslora\": rank-stabilised"), std::string::npos);
  EXPECT_NE(config_error(with("use_dora", true)).find("key \"use_dora\": DoRA"), std::string::npos);
  EXPECT_NE(config_error(with("rank_pattern", {{"q_proj", 8}})).find("key \"rank_pattern\""), std::string::npos);
  EXPECT_NE(config_error(with("alpha_pattern", {{"q_proj", 8}})).find("key \"alpha_pattern\""), std::string::npos);
}

TEST(PeftAdapter, PairsSortedByLayerThenModule) {
  TempDir dir;
  // r = 4; hidden 8, kv 4, intermediate 12. Written in scrambled order.
  std::vector<AdapterTensor> tensors = {
      lora(key(1, "mlp", "down_proj", "B"), {8, 4}),      lora(key(1, "mlp", "down_proj", "A"), {4, 12}),
      lora(key(0, "self_attn", "v_proj", "A"), {4, 8}),   lora(key(10, "self_attn", "q_proj", "A"), {4, 8}),
      lora(key(0, "self_attn", "q_proj", "B"), {8, 4}),   lora(key(0, "self_attn", "v_proj", "B"), {4, 4}),
      lora(key(10, "self_attn", "q_proj", "B"), {8, 4}),  lora(key(0, "self_attn", "q_proj", "A"), {4, 8}),
      lora(key(2, "mlp", "gate_proj", "A"), {4, 8}),      lora(key(2, "mlp", "gate_proj", "B"), {12, 4}),
      lora(key(2, "self_attn", "o_proj", "A"), {4, 8}),   lora(key(2, "self_attn", "o_proj", "B"), {8, 4}),
      lora(key(2, "mlp", "up_proj", "B"), {12, 4}),       lora(key(2, "mlp", "up_proj", "A"), {4, 8}),
      lora(key(2, "self_attn", "k_proj", "B"), {4, 4}),   lora(key(2, "self_attn", "k_proj", "A"), {4, 8}),
  };
  write_adapter(dir.path(), tensors);
  PeftAdapter adapter(dir.path());
  EXPECT_EQ(adapter.config().r, 4);
  std::vector<std::string> order;
  for (const LoraPair& p : adapter.pairs()) order.push_back(std::to_string(p.layer) + ":" + p.module);
  EXPECT_EQ(order, (std::vector<std::string>{"0:q_proj", "0:v_proj", "1:down_proj", "2:k_proj", "2:o_proj",
                                             "2:gate_proj", "2:up_proj", "10:q_proj"}));
  const LoraPair& down = adapter.pairs()[2];
  EXPECT_EQ(down.base_weight, "model.layers.1.mlp.down_proj.weight");
  EXPECT_EQ(down.a->name, key(1, "mlp", "down_proj", "A"));
  EXPECT_EQ(down.b->name, key(1, "mlp", "down_proj", "B"));
  EXPECT_EQ(down.a->shape, (std::vector<int64_t>{4, 12}));
  EXPECT_EQ(down.b->shape, (std::vector<int64_t>{8, 4}));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(down.a->data), 8), key(1, "mlp", "down_proj", "A").substr(0, 8));
  EXPECT_EQ(adapter.pairs()[0].base_weight, "model.layers.0.self_attn.q_proj.weight");
}

TEST(PeftAdapter, KeysWithTheAdapterName) {
  TempDir dir;
  write_adapter(dir.path(), {lora(key(3, "self_attn", "k_proj", "A", "default"), {4, 8}),
                             lora(key(3, "self_attn", "k_proj", "B", "default"), {2, 4}),
                             lora(key(0, "mlp", "up_proj", "A", "default"), {4, 8}),
                             lora(key(0, "mlp", "up_proj", "B", "default"), {16, 4})});
  PeftAdapter adapter(dir.path());
  ASSERT_EQ(adapter.pairs().size(), 2u);
  EXPECT_EQ(adapter.pairs()[0].base_weight, "model.layers.0.mlp.up_proj.weight");
  EXPECT_EQ(adapter.pairs()[1].base_weight, "model.layers.3.self_attn.k_proj.weight");
  EXPECT_EQ(adapter.pairs()[1].b->shape, (std::vector<int64_t>{2, 4}));
}

TEST(PeftAdapter, MissingB) {
  TempDir dir;
  write_adapter(dir.path(), {lora(key(0, "self_attn", "q_proj", "A"), {4, 8}), lora(key(0, "self_attn", "q_proj", "B"), {8, 4}),
                             lora(key(1, "self_attn", "q_proj", "A"), {4, 8})});
  EXPECT_EQ(adapter_error(dir.path()), (dir / "adapter_model.safetensors").string() + ": tensor \"" +
                                           key(1, "self_attn", "q_proj", "A") + "\" has no lora_B");
}

TEST(PeftAdapter, MissingA) {
  TempDir dir;
  write_adapter(dir.path(), {lora(key(0, "mlp", "gate_proj", "B", "default"), {8, 4})});
  EXPECT_EQ(adapter_error(dir.path()), (dir / "adapter_model.safetensors").string() + ": tensor \"" +
                                           key(0, "mlp", "gate_proj", "B", "default") + "\" has no lora_A");
}

TEST(PeftAdapter, AShapeDisagreesWithR) {
  TempDir dir;
  write_adapter(dir.path(), {lora(key(0, "self_attn", "q_proj", "A"), {8, 8}), lora(key(0, "self_attn", "q_proj", "B"), {8, 4})});
  std::string m = adapter_error(dir.path());
  EXPECT_NE(m.find("adapter_model.safetensors: tensor \"" + key(0, "self_attn", "q_proj", "A") +
                   "\": shape [8, 8], expected [4, in] for r = 4"),
            std::string::npos)
      << m;
}

TEST(PeftAdapter, BShapeDisagreesWithR) {
  TempDir dir;
  write_adapter(dir.path(), {lora(key(0, "self_attn", "q_proj", "A"), {4, 8}), lora(key(0, "self_attn", "q_proj", "B"), {4, 8})});
  std::string m = adapter_error(dir.path());
  EXPECT_NE(m.find("\": shape [4, 8], expected [out, 4] for r = 4"), std::string::npos) << m;
}

TEST(PeftAdapter, NotAMatrix) {
  TempDir dir;
  write_adapter(dir.path(), {lora(key(0, "self_attn", "q_proj", "A"), {4, 8, 1}), lora(key(0, "self_attn", "q_proj", "B"), {8, 4})});
  EXPECT_NE(adapter_error(dir.path()).find("shape [4, 8, 1], expected [4, in]"), std::string::npos);
  write_adapter(dir.path(), {lora(key(0, "self_attn", "q_proj", "A"), {4, 8}), lora(key(0, "self_attn", "q_proj", "B"), {4})});
  EXPECT_NE(adapter_error(dir.path()).find("shape [4], expected [out, 4]"), std::string::npos);
}

TEST(PeftAdapter, IntegerTensorsAreRefused) {
  TempDir dir;
  AdapterTensor a = lora(key(0, "self_attn", "q_proj", "A"), {4, 8});
  a.dtype = DType::I32;
  write_adapter(dir.path(), {a, lora(key(0, "self_attn", "q_proj", "B"), {8, 4})});
  EXPECT_NE(adapter_error(dir.path()).find("dtype I32, expected F32, F16 or BF16"), std::string::npos);
}

TEST(PeftAdapter, KeysOutsideThePeftNaming) {
  const std::vector<std::string> bad = {
      "base_model.model.model.layers.0.self_attn.q_proj.weight",           // a base weight
      "base_model.model.model.layers.0.self_attn.q_proj.lora_A",           // no .weight
      "base_model.model.model.layers.0.self_attn.q_proj.lora_A.bias",      // bias
      "base_model.model.model.layers.0.mlp.q_proj.lora_A.weight",          // wrong group
      "base_model.model.model.layers.0.self_attn.gate_proj.lora_A.weight", // wrong group
      "base_model.model.model.layers.0.self_attn.qkv_proj.lora_A.weight",  // unknown module
      "base_model.model.model.layers.01.self_attn.q_proj.lora_A.weight",   // leading zero
      "base_model.model.model.layers.-1.self_attn.q_proj.lora_A.weight",   // sign
      "base_model.model.model.layers.x.self_attn.q_proj.lora_A.weight",
      "base_model.model.model.layers.0.self_attn.q_proj.lora_C.weight",
      "base_model.model.model.layers.0.self_attn.q_proj.lora_A..weight",   // empty adapter name
      "base_model.model.model.layers.0.self_attn.q_proj.lora_A.a.b.weight",
      "base_model.model.lm_head.modules_to_save.default.weight",
      "model.layers.0.self_attn.q_proj.lora_A.weight",                     // no PEFT prefix
      "base_model.model.model.layers.0.self_attn.q_proj.lora_embedding_A.weight",
  };
  for (const std::string& name : bad) {
    TempDir dir;
    write_adapter(dir.path(), {lora(name, {4, 8})});
    std::string m = adapter_error(dir.path());
    EXPECT_NE(m.find("tensor \"" + name + "\" is not a LoRA weight"), std::string::npos) << name << " -> " << m;
  }
}

TEST(PeftAdapter, SameWeightInBothKeyForms) {
  TempDir dir;
  write_adapter(dir.path(), {lora(key(0, "self_attn", "q_proj", "A"), {4, 8}),
                             lora(key(0, "self_attn", "q_proj", "A", "default"), {4, 8}),
                             lora(key(0, "self_attn", "q_proj", "B"), {8, 4})});
  EXPECT_NE(adapter_error(dir.path()).find("repeats"), std::string::npos);
}

TEST(PeftAdapter, ConfigErrorsNameTheConfigFile) {
  TempDir dir;
  write_adapter(dir.path(), {}, R"({"peft_type": "IA3", "r": 4, "lora_alpha": 8})");
  EXPECT_EQ(adapter_error(dir.path()), (dir / "adapter_config.json").string() +
                                           ": key \"peft_type\": only LORA adapters are supported, got \"IA3\"");
  write_text(dir / "adapter_config.json", "{");
  EXPECT_EQ(adapter_error(dir.path()).rfind((dir / "adapter_config.json").string() + ": invalid JSON", 0), 0u);
}

TEST(PeftAdapter, MissingWeightsFile) {
  TempDir dir;
  write_text(dir / "adapter_config.json", kPeftConfig);
  try {
    PeftAdapter adapter(dir.path());
    FAIL();
  } catch (const josi::Error& e) {
    EXPECT_EQ(e.code(), josi::ExitCode::io);
    EXPECT_NE(std::string(e.what()).find("adapter_model.safetensors"), std::string::npos);
  }
}

TEST(PeftAdapter, EmptyAdapterHasNoPairs) {
  TempDir dir;
  write_adapter(dir.path(), {});
  EXPECT_TRUE(PeftAdapter(dir.path()).pairs().empty());
}

TEST(PeftAdapter, WriteThenRead) {
  TempDir dir;
  LoraConfig config;
  config.r = 2;
  config.lora_alpha = 4;
  config.base_model_name_or_path = "Qwen/Qwen2.5-0.5B-Instruct";
  std::vector<AdapterTensor> tensors = {
      lora(peft_key_prefix("model.layers.0.self_attn.q_proj.weight") + ".lora_A.weight", {2, 6}),
      lora(peft_key_prefix("model.layers.0.self_attn.q_proj.weight") + ".lora_B.weight", {6, 2}),
      lora(peft_key_prefix("model.layers.0.mlp.down_proj.weight") + ".lora_A.weight", {2, 10}),
      lora(peft_key_prefix("model.layers.0.mlp.down_proj.weight") + ".lora_B.weight", {6, 2}),
  };
  tensors[1].dtype = DType::BF16;
  tensors[1].bytes.resize(6 * 2 * 2);
  write_peft_adapter(dir / "out", config, tensors);
  EXPECT_EQ(Json::parse(read_text(dir / "out" / "adapter_config.json")), to_json(config));
  SafetensorsFile raw(dir / "out" / "adapter_model.safetensors");
  EXPECT_EQ(raw.metadata().at("format"), "pt");
  ASSERT_EQ(raw.tensors().size(), 4u);
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(raw.tensors()[i].name, tensors[i].key);
    EXPECT_EQ(raw.tensors()[i].dtype, tensors[i].dtype);
    EXPECT_EQ(raw.tensors()[i].shape, tensors[i].shape);
    EXPECT_EQ(std::string(reinterpret_cast<const char*>(raw.tensors()[i].data), raw.tensors()[i].nbytes),
              tensors[i].bytes);
  }
  PeftAdapter adapter(dir / "out");
  EXPECT_EQ(adapter.config().r, 2);
  EXPECT_EQ(adapter.config().scale(), 2.0);
  EXPECT_EQ(adapter.config().base_model_name_or_path, "Qwen/Qwen2.5-0.5B-Instruct");
  ASSERT_EQ(adapter.pairs().size(), 2u);
  EXPECT_EQ(adapter.pairs()[0].module, "q_proj");
  EXPECT_EQ(adapter.pairs()[0].b->dtype, DType::BF16);
  EXPECT_EQ(adapter.pairs()[1].module, "down_proj");
}

TEST(PeftAdapter, WriteWithABadTensorLeavesNoWeights) {
  TempDir dir;
  AdapterTensor t = lora(key(0, "self_attn", "q_proj", "A"), {2, 6});
  t.bytes.pop_back();
  EXPECT_THROW(write_peft_adapter(dir.path(), LoraConfig{}, {t}), josi::Error);
  EXPECT_FALSE(fs::exists(dir / "adapter_model.safetensors"));
  EXPECT_FALSE(fs::exists(dir / "adapter_config.json"));
}

TEST(PeftKeyPrefix, Forms) {
  EXPECT_EQ(peft_key_prefix("model.layers.3.self_attn.q_proj.weight"), "base_model.model.model.layers.3.self_attn.q_proj");
  EXPECT_EQ(peft_key_prefix("model.layers.27.mlp.down_proj.weight"), "base_model.model.model.layers.27.mlp.down_proj");
  EXPECT_THROW(peft_key_prefix("model.layers.3.self_attn.q_proj.bias"), josi::Error);
  EXPECT_THROW(peft_key_prefix(".weight"), josi::Error);
}
