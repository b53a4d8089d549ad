#pragma once
// The config.json of a Hugging Face model directory of one of Josi's
// architectures (formats/architecture.hpp): the keys the converter, trainer
// and engine use, read with clear errors and written back with the rest of
// the original keys kept.
#include <filesystem>
#include <string>
#include <vector>

#include "json/json.hpp"

namespace josi::formats {

struct ModelConfig {
  std::string architecture;  // architectures[0], e.g. "Qwen3ForCausalLM"
  std::string model_type;    // "qwen2", "qwen3", "llama"
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  // config.json's head_dim where it states one (Qwen3: 128, so heads x
  // head_dim need not be hidden_size); 0 when absent.
  int64_t explicit_head_dim = 0;
  int64_t max_position_embeddings = 0;
  int64_t vocab_size = 0;
  double rope_theta = 10000.0;
  double rms_norm_eps = 1e-6;
  bool tie_word_embeddings = false;
  std::string torch_dtype = "bfloat16";
  int64_t bos_token_id = -1;  // -1 when absent
  std::vector<int64_t> eos_token_ids;  // eos_token_id may be a number or a list
  json::Json raw;  // the whole document, to write back unknown keys unchanged

  // Each head's width: the explicit one, else hidden_size / heads.
  int64_t head_dim() const { return explicit_head_dim > 0 ? explicit_head_dim : hidden_size / num_attention_heads; }
};

// Reads `<dir>/config.json` (or a config.json path); throws josi::Error naming
// the file and key when a required key is missing, mistyped or inconsistent
// (heads not dividing hidden size without a head_dim, kv heads not dividing
// heads, an odd head_dim, values <= 0).
ModelConfig read_model_config(const std::filesystem::path& dir_or_file);
json::Json to_json(const ModelConfig& config);  // raw with the known keys updated
void write_model_config(const std::filesystem::path& dir, const ModelConfig& config);  // atomic

}  // namespace josi::formats
