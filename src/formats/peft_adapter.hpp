#pragma once
// A PEFT LoRA adapter directory: adapter_config.json plus
// adapter_model.safetensors with keys
// base_model.model.model.layers.<i>.<self_attn|mlp>.<proj>.lora_A.weight [r, in]
// and .lora_B.weight [out, r]. Read adapters saved by Python PEFT and by Josi.
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "formats/safetensors.hpp"
#include "json/json.hpp"

namespace josi::formats {

struct LoraConfig {
  int64_t r = 16;
  double lora_alpha = 32;
  double lora_dropout = 0.05;
  std::vector<std::string> target_modules = {"q_proj", "k_proj", "v_proj", "o_proj",
                                             "gate_proj", "up_proj", "down_proj"};
  std::string bias = "none";
  std::string task_type = "CAUSAL_LM";
  std::string base_model_name_or_path;
  bool fan_in_fan_out = false;
  bool inference_mode = true;
  double scale() const { return lora_alpha / static_cast<double>(r); }
};

LoraConfig lora_config_from_json(const json::Json& value, const std::string& what);  // throws naming `what`
json::Json to_json(const LoraConfig& config);

// One adapted projection: layer index, module ("q_proj"...), its A and B views.
struct LoraPair {
  int64_t layer = 0;
  std::string module;           // q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj
  std::string base_weight;      // "model.layers.<i>.<self_attn|mlp>.<module>.weight"
  const TensorView* a = nullptr;  // [r, in]
  const TensorView* b = nullptr;  // [out, r]
};

class PeftAdapter {
 public:
  // Throws josi::Error naming the file when the config is not LORA, a key does
  // not follow the PEFT naming, an A lacks its B, or shapes disagree with r.
  explicit PeftAdapter(const std::filesystem::path& dir);
  const LoraConfig& config() const { return config_; }
  const std::vector<LoraPair>& pairs() const { return pairs_; }  // by layer, then module order

 private:
  LoraConfig config_;
  std::unique_ptr<SafetensorsFile> weights_;
  std::vector<LoraPair> pairs_;
};

// The PEFT key prefix of a base weight: "model.layers.3.self_attn.q_proj.weight"
// -> "base_model.model.model.layers.3.self_attn.q_proj".
std::string peft_key_prefix(const std::string& base_weight);

// Writes adapter_config.json and adapter_model.safetensors (atomically each).
// `tensors` are (PEFT key, dtype, shape, bytes).
struct AdapterTensor {
  std::string key;
  DType dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};
void write_peft_adapter(const std::filesystem::path& dir, const LoraConfig& config,
                        const std::vector<AdapterTensor>& tensors);

}  // namespace josi::formats
