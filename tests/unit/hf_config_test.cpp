// formats.md "Hugging Face model directory": config.json keys, defaults,
// validation errors naming file and key, and writing back unknown keys.
#include "formats/hf_config.hpp"

#include <gtest/gtest.h>

#include "base/error.hpp"
#include "support/test_support.hpp"

using namespace josi::formats;
namespace fs = std::filesystem;
using josi::test::TempDir;
using josi::test::read_text;
using josi::test::write_text;

namespace {

// Qwen2.5-1.5B-Instruct's config.json as published (keys in its order).
const char* kQwen15 = R"({
  "architectures": [
    "Qwen2ForCausalLM"
  ],
  "attention_dropout": 0.0,
  "bos_token_id": 151643,
  "eos_token_id": 151645,
  "hidden_act": "silu",
  "hidden_size": 1536,
  "initializer_range": 0.02,
  "intermediate_size": 8960,
  "max_position_embeddings": 32768,
  "max_window_layers": 21,
  "model_type": "qwen2",
  "num_attention_heads": 12,
  "num_hidden_layers": 28,
  "num_key_value_heads": 2,
  "rms_norm_eps": 1e-06,
  "rope_theta": 1000000.0,
  "sliding_window": 32768,
  "tie_word_embeddings": true,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.43.1",
  "use_cache": true,
  "use_sliding_window": false,
  "vocab_size": 151936
}
)";

josi::json::Json qwen() { return josi::json::Json::parse(kQwen15); }

// Writes `doc` as config.json and returns the error from reading it ("" if none).
std::string config_error(const josi::json::Json& doc, fs::path* where = nullptr) {
  static TempDir dir;
  static int counter = 0;
  fs::path sub = dir / std::to_string(counter++);
  fs::create_directories(sub);
  write_text(sub / "config.json", doc.dump());
  if (where) *where = sub / "config.json";
  try {
    read_model_config(sub);
    return "";
  } catch (const josi::Error& e) {
    return e.what();
  }
}

void expect_key_error(const josi::json::Json& doc, const std::string& key, const std::string& fragment) {
  fs::path path;
  std::string message = config_error(doc, &path);
  ASSERT_FALSE(message.empty()) << "accepted; expected an error on " << key;
  EXPECT_EQ(message.rfind(path.string() + ": key \"" + key + "\": ", 0), 0u) << message;
  EXPECT_NE(message.find(fragment), std::string::npos) << message;
}

}  // namespace

TEST(HfConfig, ReadsQwen25) {
  TempDir dir;
  write_text(dir / "config.json", kQwen15);
  ModelConfig c = read_model_config(dir.path());
  EXPECT_EQ(c.architecture, "Qwen2ForCausalLM");
  EXPECT_EQ(c.model_type, "qwen2");
  EXPECT_EQ(c.hidden_size, 1536);
  EXPECT_EQ(c.intermediate_size, 8960);
  EXPECT_EQ(c.num_hidden_layers, 28);
  EXPECT_EQ(c.num_attention_heads, 12);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim(), 128);
  EXPECT_EQ(c.max_position_embeddings, 32768);
  EXPECT_EQ(c.vocab_size, 151936);
  EXPECT_EQ(c.rope_theta, 1e6);
  EXPECT_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(c.torch_dtype, "bfloat16");
  EXPECT_EQ(c.bos_token_id, 151643);
  EXPECT_EQ(c.eos_token_ids, std::vector<int64_t>{151645});
  // A config.json path works as well as its directory.
  EXPECT_EQ(read_model_config(dir / "config.json").hidden_size, 1536);
}

TEST(HfConfig, Defaults) {
  auto doc = qwen();
  for (const char* key : {"rope_theta", "tie_word_embeddings", "num_key_value_heads", "bos_token_id", "eos_token_id",
                          "torch_dtype", "rms_norm_eps", "model_type"})
    doc.erase(key);
  TempDir dir;
  write_text(dir / "config.json", doc.dump());
  ModelConfig c = read_model_config(dir.path());
  EXPECT_EQ(c.rope_theta, 10000.0);
  EXPECT_FALSE(c.tie_word_embeddings);
  EXPECT_EQ(c.num_key_value_heads, 12);  // plain multi-head attention
  EXPECT_EQ(c.bos_token_id, -1);
  EXPECT_TRUE(c.eos_token_ids.empty());
  EXPECT_EQ(c.torch_dtype, "bfloat16");
  EXPECT_EQ(c.rms_norm_eps, 1e-6);
  EXPECT_EQ(c.model_type, "");
}

TEST(HfConfig, EosTokenIdMayBeAList) {
  auto doc = qwen();
  doc["eos_token_id"] = {151645, 151643};
  doc["bos_token_id"] = nullptr;
  TempDir dir;
  write_text(dir / "config.json", doc.dump());
  ModelConfig c = read_model_config(dir.path());
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{151645, 151643}));
  EXPECT_EQ(c.bos_token_id, -1);
}

TEST(HfConfig, NewerDtypeKey) {
  auto doc = qwen();
  doc.erase("torch_dtype");
  doc["dtype"] = "float16";
  TempDir dir;
  write_text(dir / "config.json", doc.dump());
  ModelConfig c = read_model_config(dir.path());
  EXPECT_EQ(c.torch_dtype, "float16");
  auto out = to_json(c);
  EXPECT_EQ(out["dtype"], "float16");
  EXPECT_FALSE(out.contains("torch_dtype"));
}

TEST(HfConfig, WriteKeepsUnknownKeysAndOrder) {
  TempDir dir;
  write_text(dir / "config.json", kQwen15);
  ModelConfig c = read_model_config(dir.path());
  c.vocab_size = 151665;
  c.tie_word_embeddings = false;
  c.eos_token_ids = {1, 2};
  TempDir out;
  write_model_config(out / "sub", c);  // the directory is created
  const std::string text = read_text(out / "sub" / "config.json");
  auto doc = josi::json::Json::parse(text);
  EXPECT_EQ(doc["sliding_window"], 32768);
  EXPECT_EQ(doc["transformers_version"], "4.43.1");
  EXPECT_EQ(doc["vocab_size"], 151665);
  EXPECT_EQ(doc["tie_word_embeddings"], false);
  EXPECT_EQ(doc["eos_token_id"], josi::json::Json({1, 2}));
  // Same keys in the same order as the original.
  std::vector<std::string> before, after;
  const auto original = qwen();
  for (const auto& [k, v] : original.items()) before.push_back(k);
  for (const auto& [k, v] : doc.items()) after.push_back(k);
  EXPECT_EQ(before, after);
  EXPECT_EQ(text.substr(0, 22), "{\n  \"architectures\": [");
  EXPECT_EQ(text.back(), '\n');
  ModelConfig again = read_model_config(out / "sub");
  EXPECT_EQ(again.vocab_size, 151665);
  EXPECT_EQ(again.rope_theta, 1e6);
  EXPECT_EQ(again.rms_norm_eps, 1e-6);
}

TEST(HfConfig, UnchangedConfigRoundTripsToTheSameJson) {
  TempDir dir;
  write_text(dir / "config.json", kQwen15);
  EXPECT_EQ(to_json(read_model_config(dir.path())), qwen());
}

TEST(HfConfig, ToJsonWithoutRaw) {
  ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.model_type = "llama";
  c.hidden_size = 64;
  c.intermediate_size = 128;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.max_position_embeddings = 256;
  c.vocab_size = 100;
  c.eos_token_ids = {2};
  c.bos_token_id = 1;
  TempDir dir;
  write_model_config(dir.path(), c);
  ModelConfig back = read_model_config(dir.path());
  EXPECT_EQ(back.architecture, "LlamaForCausalLM");
  EXPECT_EQ(back.model_type, "llama");
  EXPECT_EQ(back.num_key_value_heads, 2);
  EXPECT_EQ(back.eos_token_ids, std::vector<int64_t>{2});
  EXPECT_EQ(back.bos_token_id, 1);
  EXPECT_EQ(back.raw["eos_token_id"], 2);  // one id is written as a number
}

TEST(HfConfig, MissingFile) {
  TempDir dir;
  try {
    read_model_config(dir.path());
    FAIL();
  } catch (const josi::Error& e) {
    EXPECT_NE(std::string(e.what()).find((dir / "config.json").string()), std::string::npos);
    EXPECT_EQ(e.code(), josi::ExitCode::io);
  }
}

TEST(HfConfig, NotJsonOrNotAnObject) {
  TempDir dir;
  write_text(dir / "config.json", "{\"hidden_size\": ");
  try {
    read_model_config(dir.path());
    FAIL();
  } catch (const josi::Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind((dir / "config.json").string() + ": invalid JSON", 0), 0u) << e.what();
  }
  write_text(dir / "config.json", "[]");
  EXPECT_THROW(read_model_config(dir.path()), josi::Error);
}

TEST(HfConfig, MissingRequiredKey) {
  for (const char* key : {"architectures", "hidden_size", "intermediate_size", "num_hidden_layers",
                          "num_attention_heads", "max_position_embeddings", "vocab_size"}) {
    auto doc = qwen();
    doc.erase(key);
    expect_key_error(doc, key, "missing");
  }
}

TEST(HfConfig, MistypedKeys) {
  auto doc = qwen();
  doc["hidden_size"] = "1536";
  expect_key_error(doc, "hidden_size", "expected an integer, got string");
  doc = qwen();
  doc["num_hidden_layers"] = 28.0;
  expect_key_error(doc, "num_hidden_layers", "expected an integer, got number");
  doc = qwen();
  doc["architectures"] = "Qwen2ForCausalLM";
  expect_key_error(doc, "architectures", "non-empty list");
  doc = qwen();
  doc["architectures"] = josi::json::Json::array();
  expect_key_error(doc, "architectures", "non-empty list");
  doc = qwen();
  doc["tie_word_embeddings"] = "true";
  expect_key_error(doc, "tie_word_embeddings", "expected true or false");
  doc = qwen();
  doc["rope_theta"] = "1e6";
  expect_key_error(doc, "rope_theta", "expected a number");
  doc = qwen();
  doc["eos_token_id"] = {1, "2"};
  expect_key_error(doc, "eos_token_id", "expected an integer");
  doc = qwen();
  doc["bos_token_id"] = 1.5;
  expect_key_error(doc, "bos_token_id", "expected an integer");
  doc = qwen();
  doc["torch_dtype"] = 16;
  expect_key_error(doc, "torch_dtype", "expected a string");
  doc = qwen();
  doc["model_type"] = 2;
  expect_key_error(doc, "model_type", "expected a string");
}

TEST(HfConfig, NonPositiveValues) {
  for (const char* key : {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                          "num_key_value_heads", "max_position_embeddings", "vocab_size"}) {
    auto doc = qwen();
    doc[key] = 0;
    expect_key_error(doc, key, "must be positive, got 0");
    doc[key] = -3;
    expect_key_error(doc, key, "must be positive, got -3");
  }
  auto doc = qwen();
  doc["rope_theta"] = 0;
  expect_key_error(doc, "rope_theta", "positive");
  doc = qwen();
  doc["rms_norm_eps"] = -1e-6;
  expect_key_error(doc, "rms_norm_eps", "positive");
  doc = qwen();
  doc["eos_token_id"] = -1;
  expect_key_error(doc, "eos_token_id", "negative");
}

TEST(HfConfig, InconsistentHeads) {
  auto doc = qwen();
  doc["num_attention_heads"] = 7;  // 1536 / 7 is not whole
  expect_key_error(doc, "num_attention_heads", "7 heads do not divide hidden_size 1536");
  doc = qwen();
  doc["num_key_value_heads"] = 5;  // 12 / 5
  expect_key_error(doc, "num_key_value_heads", "5 KV heads do not divide num_attention_heads 12");
}
