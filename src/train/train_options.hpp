#pragma once
// Every setting of a training run, with the seed's defaults (docs/architecture.md "Training").
// They are written to training_config.json, which is also what --resume reads
// back, so a resumed run continues with exactly the same settings. Free of
// libtorch, like trainer.hpp and merge.hpp: the CLI compiles without it.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "data/validate.hpp"
#include "formats/peft_adapter.hpp"
#include "json/json.hpp"

namespace josi::train {

struct AdamWSettings {  // torch.optim.AdamW's (adamw.hpp)
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // transformers' default, which the seed keeps
};

struct TrainOptions {
  // The recipe the settings below start from: "v5" (the seed's Qwen2.5
  // recipe) or the users' Qwen3 one, "qwen3-4b" / "qwen3-8b" (recipe()).
  std::string recipe = "v5";
  data::DatasetMode mode = data::DatasetMode::interpreter;
  std::filesystem::path base_model = "models/Qwen2.5-1.5B-Instruct";
  std::filesystem::path train_data;  // empty: data/train_<mode data>.jsonl
  std::filesystem::path val_data;    // empty: data/val_<mode data>.jsonl
  std::filesystem::path output_dir;  // empty: models/josi-v5-qwen25-<mode>-<YYYYmmdd_HHMMSS> (v7-qwen3-<size> for Qwen3)
  formats::LoraConfig lora;          // r 16, alpha 32, dropout 0.05, the seven projections
  double lr = 5e-5;
  int64_t epochs = 4;
  int64_t batch_size = 4;
  int64_t grad_accum = 4;
  int64_t max_seq_length = 2048;
  int64_t max_steps = 0;  // > 0 overrides epochs
  double warmup_ratio = 0.05;
  double max_grad_norm = 1.0;
  AdamWSettings adamw;
  int64_t save_total_limit = 3;
  int64_t early_stopping_patience = 3;  // evaluations; 0: never stop early
  double early_stopping_threshold = 0.001;
  uint64_t seed = 42;
  std::string device = "auto";                  // auto (cuda when present), cpu, cuda, cuda:N
  std::string gradient_checkpointing = "auto";  // auto (on a GPU), on, off
  bool wandb = false;  // the seed's W&B reporting; Josi always writes metrics locally instead
  std::string timestamp;  // YYYYmmdd_HHMMSS of the run's start
};

// A recipe's settings: "v5" (the defaults above: r 16, alpha 32, lr 5e-5,
// 4 epochs, batch 4 x 4, 2048 tokens) or the users' Qwen3 recipe, "qwen3-4b"
// and "qwen3-8b": r 32, alpha 64, dropout 0.05, lr 2e-5 (4B) or 1e-5 (8B),
// 3 epochs, batch 1 x 16, 4096 tokens, early stopping after 3 evaluations,
// base models/Qwen3-4B or -8B. Throws a usage error for another name.
TrainOptions recipe(const std::string& name);
std::vector<std::string> recipe_names();

// Fills the defaults that depend on the mode and the time: data paths and the
// output directory (the seed's names). Sets the timestamp when empty.
void complete_defaults(TrainOptions& options);

// Throws josi::Error (usage) naming the setting when a value is out of range.
void check_options(const TrainOptions& options);

json::Json to_json(const TrainOptions& options);

// How a model trained with `options` is to be run (its preset, written into
// training_config.json and from there into the GGUF files): "v6" for the
// users' Qwen3 recipes and unified data (the v6 prompt layout), else "v5".
std::string run_preset(const TrainOptions& options);
// Reads the settings back from a training_config.json; throws naming `what`.
TrainOptions train_options_from_json(const json::Json& value, const std::string& what);


}  // namespace josi::train
