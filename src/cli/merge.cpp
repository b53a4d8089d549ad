// josi merge: the seed's "finetune_qwen25.py merge --lora_path D".
#include <iostream>

#include "base/error.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "lora/merge.hpp"

namespace josi::cli {

void register_merge(CLI::App& app) {
  auto lora_path = std::make_shared<std::string>();
  auto output_path = std::make_shared<std::string>();
  auto base_model = std::make_shared<std::string>();
  auto dtype = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("merge", "Merge a LoRA adapter into its base model: a Hugging Face directory for export-gguf");
  cmd->add_option(flag("lora_path"), *lora_path, "Adapter directory (adapter_config.json, adapter_model.safetensors)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option(flag("output_path"), *output_path, "Output directory (default: merged/ beside the adapter directory)");
  cmd->add_option(flag("base_model"), *base_model, "Base model directory (default: the adapter's base_model_name_or_path)");
  cmd->add_option(flag("dtype"), *dtype, "bf16, f16 or f32 (default: the base model's)")->check(CLI::IsMember({"bf16", "f16", "f32"}));
  cmd->callback([lora_path, output_path, base_model, dtype] {
    lora::MergeOptions options;
    options.lora_path = *lora_path;
    options.output_path = *output_path;
    options.base_model = *base_model;
    if (!dtype->empty()) options.dtype = lora::float_dtype_from_name(*dtype);
    const auto s = lora::merge_adapter(options);
    std::cout << "merge: " << s.merged_weights << " adapted weights merged into " << s.base_model.string() << ", "
              << s.tensors << " tensors (" << formats::dtype_name(s.dtype) << ") -> " << s.output.string() << "\n";
  });
}

}  // namespace josi::cli
