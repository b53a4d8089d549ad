#pragma once
// Converts a Hugging Face model directory (Qwen2, Qwen3 or llama architecture,
// single or sharded safetensors in F32/F16/BF16) into a GGUF file llama.cpp
// loads unchanged: architecture metadata, the full tokenizer, tensors renamed
// and laid out as llama.cpp lays them out; and a PEFT LoRA adapter into
// a GGUF LoRA adapter. Streams tensor by tensor, so
// memory stays near the largest tensor, not the model.
#include <filesystem>
#include <string>

#include "formats/ggml_type.hpp"
#include "formats/josi_metadata.hpp"

namespace josi::quant {

struct ExportOptions {
  formats::GgmlType outtype = formats::GgmlType::F16;  // F32, F16, BF16 or Q8_0
  std::string name;                                    // general.name; default: the directory name
  formats::TrainedAs trained_as;                       // josi.preset and josi.prompt_layout, when set
  bool progress = true;
};

struct ExportSummary {
  std::string architecture;  // GGUF name: "qwen2" | "qwen3" | "llama"
  size_t tensors = 0;
  uint64_t parameters = 0;
  uint64_t bytes = 0;        // output file size
};

// Throws josi::Error before writing anything when the directory is not a
// model of one of Josi's architectures, a tensor is missing or mis-shaped, or the tokenizer is
// missing; leaves no partial output.
ExportSummary export_gguf(const std::filesystem::path& model_dir, const std::filesystem::path& outfile,
                          const ExportOptions& options);

struct LoraExportOptions {
  formats::GgmlType outtype = formats::GgmlType::F16;  // F32 or F16
  std::filesystem::path base;  // the base model directory; empty: the adapter's base_model_name_or_path
  std::string name;            // general.name; default: the adapter directory's name
  formats::TrainedAs trained_as;  // josi.preset and josi.prompt_layout, when set
  bool progress = true;
};

// Writes a PEFT LoRA adapter directory (Josi's or Python PEFT's) as a GGUF
// LoRA adapter in the layout llama.cpp loads: general.type "adapter",
// adapter.type "lora", adapter.lora.alpha, the base's architecture and
// shape, and blk.N.<proj>.weight.lora_a [in, r] / .lora_b [r, out] (GGUF
// order; llama's Q/K rows permuted as in its model files). Checks the
// adapter against the base first; leaves no partial output.
ExportSummary export_lora_gguf(const std::filesystem::path& adapter_dir, const std::filesystem::path& outfile,
                               const LoraExportOptions& options);

}  // namespace josi::quant
