// josi export-gguf: the seed's "convert_hf_to_gguf.py MERGED --outfile F --outtype f16",
// and with --lora an adapter directory as a GGUF LoRA adapter ("convert_lora_to_gguf.py").
#include <iostream>

#include "base/error.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "quant/hf_to_gguf.hpp"
#include "runtime/preset.hpp"

namespace josi::cli {

void register_export_gguf(CLI::App& app) {
  auto model_dir = std::make_shared<std::string>();
  auto outfile = std::make_shared<std::string>();
  auto outtype = std::make_shared<std::string>("f16");
  auto opts = std::make_shared<quant::ExportOptions>();
  auto lora = std::make_shared<quant::LoraExportOptions>();
  auto lora_dir = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("export-gguf", "Convert a Hugging Face Qwen2/llama directory, or a LoRA adapter, to GGUF");
  auto* model_opt = cmd->add_option("model_dir", *model_dir, "Merged model directory (config.json, *.safetensors, tokenizer.json)")
                        ->check(CLI::ExistingDirectory);
  auto* lora_opt = cmd->add_option(flag("lora"), *lora_dir, "A PEFT LoRA adapter directory, written as a GGUF LoRA adapter")
                       ->check(CLI::ExistingDirectory)
                       ->excludes(model_opt);
  cmd->add_option(flag("base"), lora->base, "With --lora: the base model directory (default: the adapter's base_model_name_or_path)")
      ->check(CLI::ExistingDirectory)
      ->needs(lora_opt);
  cmd->add_option(flag("outfile"), *outfile, "Output .gguf file")->required();
  cmd->add_option(flag("outtype"), *outtype, "f32, f16, bf16 or q8_0 (an adapter: f32 or f16)")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0"}, CLI::ignore_case))
      ->capture_default_str();
  cmd->add_option(flag("name"), opts->name, "general.name (default: the directory name)");
  auto preset = std::make_shared<std::string>();
  cmd->add_option(flag("preset"), *preset,
                  "How the model is to be run, written as josi.preset and josi.prompt_layout: v5 or v6 (default: the "
                  "preset of the josi train run the directory comes from, else none)")
      ->check(CLI::IsMember(runtime::preset_names()));
  cmd->callback([model_dir, outfile, outtype, opts, lora, lora_dir, preset] {
    const auto type = *formats::ggml_type_from_name(*outtype);
    const std::string& source = lora_dir->empty() ? *model_dir : *lora_dir;
    opts->trained_as = preset->empty() ? formats::trained_as_of_run(source) : formats::TrainedAs{*preset, *preset};
    if (!opts->trained_as.preset.empty()) runtime::preset_named(opts->trained_as.preset, source + ": training_config.json preset");
    quant::ExportSummary s;
    if (!lora_dir->empty()) {
      lora->outtype = type;
      lora->name = opts->name;
      lora->trained_as = opts->trained_as;
      s = quant::export_lora_gguf(*lora_dir, *outfile, *lora);
      std::cout << "export-gguf: " << s.architecture << " LoRA adapter, " << s.tensors << " tensors, " << s.parameters
                << " parameters -> " << *outfile << " (" << s.bytes << " bytes)\n";
      return;
    }
    if (model_dir->empty()) throw Error("export-gguf: give a model directory or --lora DIR", ExitCode::usage);
    opts->outtype = type;
    s = quant::export_gguf(*model_dir, *outfile, *opts);
    std::cout << "export-gguf: " << s.architecture << ", " << s.tensors << " tensors, " << s.parameters
              << " parameters -> " << *outfile << " (" << s.bytes << " bytes)\n";
  });
}

}  // namespace josi::cli
