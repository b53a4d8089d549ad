// josi train: the seed's "finetune_qwen25.py train --mode interpreter|explainer", and the
// users' Qwen3 recipe (--recipe qwen3-4b|qwen3-8b).
#include <cstdio>
#include <iostream>

#include "base/error.hpp"
#include "cli/commands.hpp"
#include "cli/options.hpp"
#include "train/trainer.hpp"

namespace josi::cli {

void register_train(CLI::App& app) {
  auto o = std::make_shared<train::TrainOptions>();
  auto mode = std::make_shared<std::string>();
  auto resume = std::make_shared<std::string>();
  auto device = std::make_shared<std::string>("auto");
  auto no_wandb = std::make_shared<bool>(false);
  auto train_data = std::make_shared<std::string>();
  auto val_data = std::make_shared<std::string>();
  auto output_dir = std::make_shared<std::string>();
  auto base_model = std::make_shared<std::string>();
  auto recipe = std::make_shared<std::string>("v5");
  auto* cmd = app.add_subcommand("train", "LoRA fine-tuning of a Qwen2.5 or Qwen3 base model on chat data");
  // The settings a resumed run takes from its training_config.json instead.
  auto settings = std::make_shared<std::vector<CLI::Option*>>();
  auto setting = [&](CLI::Option* option) {
    settings->push_back(option);
    return option;
  };
  setting(cmd->add_option(flag("recipe"), *recipe,
                          "Starting settings: v5 (the seed's Qwen2.5 recipe), qwen3-4b or qwen3-8b (the users' Qwen3 "
                          "recipe: r 32, alpha 64, lr 2e-5 / 1e-5, batch 1 x 16, 3 epochs, 4096 tokens); flags override")
              ->check(CLI::IsMember(train::recipe_names()))
              ->capture_default_str());
  setting(cmd->add_option(flag("mode"), *mode, "interpreter, explainer, or unified (both roles in one run, each row's system prompt saying which)")
              ->check(CLI::IsMember({"interpreter", "explainer", "unified"})));
  setting(cmd->add_option(flag("train_data"), *train_data,
                          "Training JSONL (default: data/train_interpreter.jsonl, data/train_explainer_sequential.jsonl or "
                          "data/train_v7_unified.jsonl)"));
  setting(cmd->add_option(flag("val_data"), *val_data,
                          "Validation JSONL (default: data/val_interpreter.jsonl, data/val_explainer_sequential.jsonl or "
                          "data/val_v7_unified.jsonl)"));
  setting(cmd->add_option(flag("output_dir"), *output_dir,
                          "Run directory (default: models/josi-v5-qwen25-<mode>-<timestamp>, or josi-v7-qwen3-<size>-...)"));
  setting(cmd->add_option(flag("base_model"), *base_model,
                          "Base model: a Hugging Face Qwen2.5 or Qwen3 directory (default: models/Qwen2.5-1.5B-Instruct, "
                          "or models/Qwen3-4B / -8B)"));
  setting(cmd->add_option(flag("lr"), o->lr, "Peak learning rate")->capture_default_str());
  setting(cmd->add_option(flag("epochs"), o->epochs, "Epochs")->capture_default_str());
  setting(cmd->add_option(flag("batch_size"), o->batch_size, "Examples per micro-batch")->capture_default_str());
  setting(cmd->add_option(flag("grad_accum"), o->grad_accum, "Micro-batches per optimizer step")->capture_default_str());
  setting(cmd->add_option(flag("max_seq_length"), o->max_seq_length, "Maximum tokens per example")->capture_default_str());
  setting(cmd->add_option(flag("max_steps"), o->max_steps, "Optimizer steps; 0: from --epochs")->capture_default_str());
  setting(cmd->add_option(flag("seed"), o->seed, "Seed of the LoRA initialisation, data order and dropout")->capture_default_str());
  setting(cmd->add_option(flag("lora_r"), o->lora.r, "LoRA rank")->capture_default_str());
  setting(cmd->add_option(flag("lora_alpha"), o->lora.lora_alpha, "LoRA alpha (scale alpha / r)")->capture_default_str());
  setting(cmd->add_option(flag("lora_dropout"), o->lora.lora_dropout, "Dropout on the LoRA input")->capture_default_str());
  setting(cmd->add_option(flag("early_stopping_patience"), o->early_stopping_patience,
                          "Stop after this many evaluations without an improvement over 0.001; 0: never")
              ->capture_default_str());
  setting(cmd->add_option(flag("gradient_checkpointing"), o->gradient_checkpointing,
                          "Per-layer recomputation: auto (on a GPU), on or off")
              ->check(CLI::IsMember({"auto", "on", "off"}))
              ->capture_default_str());
  cmd->add_option(flag("device"), *device, "auto (a GPU when present), cpu, cuda or cuda:N")->capture_default_str();
  cmd->add_option(flag("resume"), *resume, "Continue the run in this directory from its newest checkpoint");
  cmd->add_flag(flag("no_wandb"), *no_wandb, "Do not report to Weights & Biases (Josi never does; metrics go to metrics.jsonl)");

  cmd->callback([o, mode, recipe, resume, device, no_wandb, train_data, val_data, output_dir, base_model, settings, cmd] {
    train::TrainRequest request;
    if (!resume->empty()) {
      for (const CLI::Option* option : *settings)
        if (option->count() > 0)
          throw Error("--resume continues a run with its saved settings; " + option->get_name() + " cannot change them",
                      ExitCode::usage);
      request = train::resume_request(*resume, cmd->count("--device") ? *device : "");
    } else {
      if (mode->empty()) throw Error("train: --mode is required (interpreter, explainer or unified)", ExitCode::usage);
      // The recipe's settings, but for those given on the command line.
      const train::TrainOptions r = train::recipe(*recipe);
      o->recipe = r.recipe;
      const auto given = [cmd](const char* name) { return cmd->count(std::string("--") + name) > 0; };
      if (!given("lr")) o->lr = r.lr;
      if (!given("epochs")) o->epochs = r.epochs;
      if (!given("batch_size")) o->batch_size = r.batch_size;
      if (!given("grad_accum")) o->grad_accum = r.grad_accum;
      if (!given("max_seq_length")) o->max_seq_length = r.max_seq_length;
      if (!given("lora_r")) o->lora.r = r.lora.r;
      if (!given("lora_alpha")) o->lora.lora_alpha = r.lora.lora_alpha;
      if (!given("lora_dropout")) o->lora.lora_dropout = r.lora.lora_dropout;
      if (!given("early_stopping_patience")) o->early_stopping_patience = r.early_stopping_patience;
      o->mode = data::dataset_mode_from_name(*mode);
      o->train_data = *train_data;
      o->val_data = *val_data;
      o->output_dir = *output_dir;
      o->base_model = base_model->empty() ? r.base_model : std::filesystem::path(*base_model);
      o->device = *device;
      o->wandb = !*no_wandb;
      request.options = *o;
    }
    if (!*no_wandb) std::cout << "train: Weights & Biases reporting is not built in; metrics go to metrics.jsonl\n";
    const auto r = train::train(request, std::cout);
    std::printf("train: %lld steps (%.2f epochs)%s, train_loss %.4f, best eval_loss %.4f (token accuracy %.2f%%) at %s\n",
                static_cast<long long>(r.total_steps), r.epochs_completed, r.early_stopped ? ", stopped early" : "",
                r.train_loss, r.best_eval_loss, 100.0 * r.best_eval_token_accuracy, r.best_checkpoint.c_str());
    std::printf("train: %.0f tokens/s, peak memory %.0f MiB (%s)\n", r.tokens_per_second,
                static_cast<double>(r.peak_memory_bytes) / (1 << 20), r.memory_kind.c_str());
    std::printf("train: adapter %s (PEFT format); next: josi merge --lora_path %s\n",
                (r.output_dir / "lora_weights").string().c_str(), (r.output_dir / "lora_weights").string().c_str());
  });
}

}  // namespace josi::cli
