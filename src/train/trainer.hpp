#pragma once
// The training run (docs/architecture.md "Training"): LoRA fine-tuning of a Qwen2 base on the
// completion tokens of a chat dataset with the seed's recipe (AdamW, warmup
// then cosine, gradient accumulation, clipping, evaluation every
// max(1, n_train / (batch x accumulation x 4)) steps, checkpoints of which the
// best and the newest are kept, early stopping). Writes into the run
// directory: training_config.json, metrics.jsonl (one line per step and per
// evaluation), checkpoint-<step>/, lora_weights/ and final/ (the best
// adapter, PEFT format), training_metrics.json and loss_curve.svg.
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>

#include "train/train_options.hpp"

namespace josi::train {

struct TrainRequest {
  TrainOptions options;
  // Continue this run directory from its newest checkpoint (its
  // training_config.json supplies the settings; see resume_request).
  bool resume = false;
  bool progress = true;  // the progress bar on stderr
};

// The request that continues `dir` (a run directory, or one of its
// checkpoints): the run's saved settings, on `device` when not empty.
TrainRequest resume_request(const std::filesystem::path& dir, const std::string& device);

struct TrainResult {
  std::filesystem::path output_dir;
  int64_t total_steps = 0;
  double epochs_completed = 0;
  double train_loss = 0;  // mean of the step losses
  double best_eval_loss = 0;
  double best_eval_token_accuracy = 0;
  std::string best_checkpoint;
  bool early_stopped = false;
  double tokens_per_second = 0;  // over the training steps
  uint64_t peak_memory_bytes = 0;
  std::string memory_kind;
};

// Runs (or continues) training; reports on `out`. Every input is checked
// before the model is loaded; bad input throws josi::Error naming it.
TrainResult train(const TrainRequest& request, std::ostream& out);

}  // namespace josi::train
