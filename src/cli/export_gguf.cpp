// josi export-gguf: the seed's "convert_hf_to_gguf.py MERGED --outfile F --outtype f16".
#include <iostream>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "quant/hf_to_gguf.hpp"

namespace josi::cli {

void register_export_gguf(CLI::App& app) {
  auto model_dir = std::make_shared<std::string>();
  auto outfile = std::make_shared<std::string>();
  auto outtype = std::make_shared<std::string>("f16");
  auto opts = std::make_shared<quant::ExportOptions>();
  auto* cmd = app.add_subcommand("export-gguf", "Convert a Hugging Face Qwen2/llama directory to GGUF");
  cmd->add_option("model_dir", *model_dir, "Merged model directory (config.json, *.safetensors, tokenizer.json)")
      ->required()
      ->check(CLI::ExistingDirectory);
  cmd->add_option(flag("outfile"), *outfile, "Output .gguf file")->required();
  cmd->add_option(flag("outtype"), *outtype, "f32, f16, bf16 or q8_0")
      ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0"}, CLI::ignore_case))
      ->capture_default_str();
  cmd->add_option(flag("name"), opts->name, "general.name (default: the directory name)");
  cmd->callback([model_dir, outfile, outtype, opts] {
    opts->outtype = *formats::ggml_type_from_name(*outtype);
    auto s = quant::export_gguf(*model_dir, *outfile, *opts);
    std::cout << "export-gguf: " << s.architecture << ", " << s.tensors << " tensors, " << s.parameters
              << " parameters -> " << *outfile << " (" << s.bytes << " bytes)\n";
  });
}

}  // namespace josi::cli
