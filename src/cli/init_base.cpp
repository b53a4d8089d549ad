// josi init-base: a stand-in Qwen2 or Qwen3 base model of the real shapes, seeded random weights.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "formats/base_model_init.hpp"

namespace josi::cli {

void register_init_base(CLI::App& app) {
  auto opts = std::make_shared<formats::InitBaseOptions>();
  auto dtype = std::make_shared<std::string>("bf16");
  auto tokenizer = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("init-base", "Write a Hugging Face Qwen2 or Qwen3 directory with seeded random weights of a preset's shapes");
  cmd->add_option(flag("preset"), opts->preset,
                  "Qwen2.5: tiny (2 layers, hidden 256), 0.5b, 1.5b; Qwen3: qwen3-tiny (2 layers, hidden 256, head_dim 128), "
                  "qwen3-0.6b, qwen3-1.7b, qwen3-4b, qwen3-8b")
      ->check(CLI::IsMember(formats::preset_names()))
      ->capture_default_str();
  cmd->add_option(flag("tokenizer"), *tokenizer, "tokenizer.json to copy into the model")->required()->check(CLI::ExistingFile);
  cmd->add_option(flag("out"), *out, "Output directory")->required();
  cmd->add_option(flag("seed"), opts->seed, "Random seed")->capture_default_str();
  cmd->add_option(flag("dtype"), *dtype, "bf16, f16 or f32")->check(CLI::IsMember({"bf16", "f16", "f32"}))->capture_default_str();
  cmd->callback([opts, dtype, tokenizer, out] {
    opts->dtype = *dtype == "f32" ? formats::DType::F32 : *dtype == "f16" ? formats::DType::F16 : formats::DType::BF16;
    opts->tokenizer_json = *tokenizer;
    opts->out = *out;
    formats::init_base_model(*opts);
    std::cout << "init-base: wrote " << opts->preset << " (" << *dtype << ", seed " << opts->seed << ") to " << *out << "\n";
  });
}

}  // namespace josi::cli
