#pragma once
// Merging a LoRA adapter into its base model (docs/architecture.md "What is where", lora/): every adapted
// weight becomes W + (alpha / r) * B * A, computed in f32 and rounded once to
// the output type; everything else is copied. The result is a complete
// Hugging Face directory (config.json, model.safetensors, tokenizer and
// generation files) ready for `josi export-gguf`. Adapters saved by Python
// PEFT load as well as Josi's own (formats/peft_adapter.hpp).
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "formats/dtype.hpp"

namespace josi::lora {

struct MergeOptions {
  std::filesystem::path lora_path;    // the adapter directory
  std::filesystem::path base_model;   // empty: the adapter's base_model_name_or_path
  std::filesystem::path output_path;  // empty: default_merge_output(lora_path)
  std::optional<formats::DType> dtype;  // F32, F16 or BF16; empty: the base model's torch_dtype
  bool progress = true;
};

struct MergeSummary {
  std::filesystem::path output;
  std::filesystem::path base_model;
  size_t merged_weights = 0;  // adapted projections
  size_t tensors = 0;         // tensors written
  formats::DType dtype = formats::DType::BF16;
};

// "bf16" | "f16" | "f32" (and the torch_dtype spellings) -> the file dtype; nullopt otherwise.
std::optional<formats::DType> float_dtype_from_name(const std::string& name);

// `merged/` beside the adapter directory (<run>/lora_weights -> <run>/merged).
std::filesystem::path default_merge_output(const std::filesystem::path& lora_path);

// Checks everything first (the adapter, its base, shapes, the output place)
// and throws josi::Error naming the input; then writes the output under a
// temporary name and renames it into place. An existing output directory is
// replaced only when it holds a model (config.json) or nothing.
MergeSummary merge_adapter(const MergeOptions& options);

}  // namespace josi::lora
