#pragma once
// Training checkpoints: checkpoint-<step>/ in the run directory, holding the
// adapter in PEFT format, the optimizer state, the random generators' state
// and the trainer's state (step, best evaluation, early-stopping count, log
// history). Each is written under a temporary name and renamed, so a run
// killed at any moment leaves only complete checkpoints, and --resume
// continues from the newest with the same data order and schedule.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <torch/torch.h>

#include "json/json.hpp"
#include "train/adamw.hpp"
#include "train/lora_weights.hpp"

namespace josi::train {

struct TrainerState {
  int64_t global_step = 0;
  double best_eval_loss = 0;        // valid when best_checkpoint is set
  std::string best_checkpoint;      // directory name, "" before the first evaluation
  int64_t evals_without_improvement = 0;
  bool early_stopped = false;
  double train_loss_sum = 0;        // sum of the per-step losses so far
  int64_t train_tokens = 0;         // tokens trained on so far
  double train_seconds = 0;         // time spent in training steps so far
  json::Json log_history = json::Json::array();  // every metrics line so far
};

json::Json to_json(const TrainerState& state);
TrainerState trainer_state_from_json(const json::Json& value, const std::string& what);

std::string checkpoint_name(int64_t step);  // "checkpoint-<step>"

// Writes checkpoint-<state.global_step> (replacing one of that name).
std::filesystem::path save_checkpoint(const std::filesystem::path& run_dir, const LoraWeights& lora,
                                      const formats::LoraConfig& adapter_config, AdamW& optimizer,
                                      const TrainerState& state, torch::Device device);

// Restores the adapter weights, optimizer and generators; returns the trainer state.
TrainerState load_checkpoint(const std::filesystem::path& dir, LoraWeights& lora, AdamW& optimizer, torch::Device device);

// The complete checkpoint with the highest step, if any.
std::optional<std::filesystem::path> latest_checkpoint(const std::filesystem::path& run_dir);

// Keeps at most `limit` checkpoints: the best one and the newest others.
void rotate_checkpoints(const std::filesystem::path& run_dir, int64_t limit, const std::string& best);

}  // namespace josi::train
