#pragma once
// Stand-in base models: a Hugging Face Qwen2 or Qwen3 directory with seeded
// random weights of exactly the real shapes (Qwen2.5-0.5B/1.5B-Instruct,
// Qwen3-0.6B/1.7B/4B/8B, or a tiny 2-layer model of either architecture
// whose rows all fit every quant block). Real weights cannot be downloaded
// here; compute and file sizes are the real ones, so tests and benchmarks
// measure what users will see.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/dtype.hpp"
#include "formats/hf_config.hpp"

namespace josi::formats {

// "tiny", "0.5b", "1.5b", "qwen3-tiny", "qwen3-0.6b", "qwen3-1.7b",
// "qwen3-4b", "qwen3-8b"; nullopt for an unknown name.
std::optional<ModelConfig> preset_config(std::string_view preset);
std::vector<std::string> preset_names();

struct InitBaseOptions {
  std::string preset = "tiny";
  std::filesystem::path tokenizer_json;  // copied into the directory
  std::filesystem::path out;
  uint64_t seed = 0;
  DType dtype = DType::BF16;  // BF16, F16 or F32
  bool progress = true;
};

// Writes config.json, model.safetensors, tokenizer.json, tokenizer_config.json
// (ChatML template) and generation_config.json (the seed's sampling
// defaults). Same seed, same bytes. Throws josi::Error before writing when
// the preset, dtype or tokenizer is bad.
void init_base_model(const InitBaseOptions& options);

// The same for any shape of Josi's architectures (options.preset is
// ignored): tests use it for models between the presets, e.g. 12 layers.
void write_random_model(const ModelConfig& config, const InitBaseOptions& options);

// The chat template (Jinja) written into tokenizer_config.json: ChatML, and
// for Qwen3 its own rules (no default system prompt, think blocks).
std::string_view chat_jinja_template(const ModelConfig& config);

}  // namespace josi::formats
