#include "train/trainer.hpp"

#include <chrono>
#include <cmath>
#include <fstream>
#include <numeric>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/progress.hpp"
#include "formats/hf_config.hpp"
#include "formats/safetensors.hpp"
#include "text/tokenizer.hpp"
#include "train/checkpoint.hpp"
#include "train/device.hpp"
#include "base/directory_tree.hpp"
#include "train/evaluation.hpp"
#include "train/lm_loss.hpp"
#include "train/loss_curve.hpp"
#include "train/lr_schedule.hpp"
#include "train/causal_lm.hpp"
#include "train/training_data.hpp"

namespace josi::train {

namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// Files of a base model that travel with an adapter or a merged model.
const char* const kTokenizerFiles[] = {"tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
                                       "vocab.json", "merges.txt", "added_tokens.json"};

struct Schedule {
  int64_t micro_batches_per_epoch = 0;
  int64_t steps_per_epoch = 0;
  int64_t total_steps = 0;
  int64_t eval_steps = 0;
};

Schedule make_schedule(const TrainOptions& o, int64_t n_train) {
  Schedule s;
  s.micro_batches_per_epoch = (n_train + o.batch_size - 1) / o.batch_size;
  // The last step of an epoch takes the micro-batches that are left.
  s.steps_per_epoch = (s.micro_batches_per_epoch + o.grad_accum - 1) / o.grad_accum;
  s.total_steps = o.max_steps > 0 ? o.max_steps : s.steps_per_epoch * o.epochs;
  s.eval_steps = std::max<int64_t>(1, n_train / (o.batch_size * o.grad_accum * 4));
  return s;
}

// The example order of an epoch: a Fisher-Yates shuffle driven by splitmix64
// seeded with (seed, epoch), the same on every machine and after a resume.
std::vector<size_t> epoch_order(size_t n, uint64_t seed, int64_t epoch) {
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) + 1;
  auto next = [&state] {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  };
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), size_t{0});
  for (size_t i = n; i > 1; --i) std::swap(order[i - 1], order[next() % i]);
  return order;
}

torch::Device choose_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  return resolve_device(name);
}

// Everything about the base model that can be checked without loading it.
text::Tokenizer check_base_model(const fs::path& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw Error("--base_model " + dir.string() +
                    ": not a directory (a Hugging Face Qwen2 model: config.json, *.safetensors, tokenizer.json; "
                    "`josi init-base` writes a stand-in)",
                ExitCode::io);
  const auto config = formats::read_model_config(dir);
  formats::SafetensorsModel weights(dir);  // opens (and checks) every shard
  if (!fs::exists(dir / "tokenizer.json"))
    throw Error(dir.string() + ": tokenizer.json is missing (the base model's tokenizer is needed)", ExitCode::io);
  auto tokenizer = text::Tokenizer::load(dir / "tokenizer.json");
  if (static_cast<int64_t>(tokenizer.vocab_size()) > config.vocab_size)
    throw Error(dir.string() + ": the tokenizer has " + std::to_string(tokenizer.vocab_size()) +
                " tokens but the model only " + std::to_string(config.vocab_size) + " embedding rows");
  return tokenizer;
}

// A new run directory must not hold anything yet: nothing of the user's is overwritten.
void check_new_run_dir(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::is_empty(dir, ec))
    throw Error("--output_dir " + dir.string() + " already exists and is not empty (choose another, or --resume " +
                    dir.string() + " to continue it)",
                ExitCode::io);
}

void create_run_dir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw Error("--output_dir " + dir.string() + ": cannot create: " + ec.message(), ExitCode::io);
  base::check_output_path(dir / "training_config.json");
}

void write_json(const fs::path& path, const json::Json& value) { base::write_file_atomic(path, value.dump(2) + "\n"); }

// metrics.jsonl: rewritten from the log history (so a resumed run's file
// equals an uninterrupted one), then appended to line by line.
class MetricsLog {
 public:
  MetricsLog(const fs::path& path, const json::Json& history) : path_(path) {
    std::string text;
    for (const auto& line : history) text += line.dump() + "\n";
    base::write_file_atomic(path, text);
    out_.open(path, std::ios::app);
    if (!out_) throw Error(path.string() + ": cannot append metrics", ExitCode::io);
  }
  void append(const json::Json& line) { out_ << line.dump() << "\n" << std::flush; }

 private:
  fs::path path_;
  std::ofstream out_;
};

// lora_weights/ or final/: the best checkpoint's adapter (and, for final/,
// the tokenizer files), assembled under a temporary name and renamed.
void publish_adapter(const fs::path& checkpoint, const fs::path& target, const fs::path& base_model, bool with_tokenizer) {
  const fs::path temp = target.parent_path() / ("." + target.filename().string() + ".partial");
  base::remove_tree(temp);
  std::error_code ec;
  fs::create_directories(temp, ec);
  auto copy = [&](const fs::path& from) {
    fs::copy_file(from, temp / from.filename(), fs::copy_options::overwrite_existing, ec);
    if (ec) throw Error(from.string() + ": cannot copy into " + target.string() + ": " + ec.message(), ExitCode::io);
  };
  copy(checkpoint / "adapter_config.json");
  copy(checkpoint / "adapter_model.safetensors");
  if (with_tokenizer)
    for (const char* name : kTokenizerFiles)
      if (fs::exists(base_model / name)) copy(base_model / name);
  base::replace_tree(temp, target);
}

std::string duration_text(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  if (s >= 3600) return std::to_string(s / 3600) + "h" + std::to_string(s % 3600 / 60) + "m";
  if (s >= 60) return std::to_string(s / 60) + "m" + std::to_string(s % 60) + "s";
  return std::to_string(s) + "s";
}

double round_to(double v, double unit) { return std::round(v / unit) * unit; }

}  // namespace

TrainRequest resume_request(const fs::path& dir, const std::string& device) {
  std::error_code ec;
  fs::path run_dir = dir;
  if (!fs::exists(dir / "training_config.json", ec) && fs::exists(dir / "trainer_state.json", ec)) run_dir = dir.parent_path();
  const fs::path config = run_dir / "training_config.json";
  if (!fs::exists(config, ec))
    throw Error("--resume " + dir.string() + ": no training_config.json there (not a josi train output directory)",
                ExitCode::io);
  TrainRequest request;
  request.options = train_options_from_json(json::parse(base::read_file(config), config.string()), config.string());
  request.options.output_dir = run_dir;
  if (!device.empty()) request.options.device = device;
  request.resume = true;
  return request;
}

TrainResult train(const TrainRequest& request, std::ostream& out) {
  TrainOptions o = request.options;
  complete_defaults(o);
  check_options(o);

  // Everything that can be wrong is checked before the long work.
  const torch::Device device = choose_device(o.device);
  use_all_cpu_cores();
  const torch::ScalarType type = compute_type(device);
  const bool recompute = o.gradient_checkpointing == "on" || (o.gradient_checkpointing == "auto" && device.is_cuda());
  text::Tokenizer tokenizer = check_base_model(o.base_model);
  const auto pad = tokenizer.token_id("<|endoftext|>");
  if (!pad) throw Error(o.base_model.string() + ": the tokenizer has no <|endoftext|> (padding) token");
  const int32_t pad_id = *pad;
  if (request.resume) {
    if (!fs::is_directory(o.output_dir)) throw Error("--resume " + o.output_dir.string() + ": not a directory", ExitCode::io);
  } else {
    check_new_run_dir(o.output_dir);
  }
  const data::TokenizedDataset train_set = data::tokenize_dataset(o.train_data, o.mode, tokenizer, o.max_seq_length);
  const data::TokenizedDataset val_set = data::tokenize_dataset(o.val_data, o.mode, tokenizer, o.max_seq_length);
  if (!request.resume) create_run_dir(o.output_dir);
  out << "train data " << o.train_data.string() << ": " << data::describe(train_set.counts) << "\n";
  out << "val data " << o.val_data.string() << ": " << data::describe(val_set.counts) << "\n";
  for (const auto* set : {&train_set, &val_set})
    for (const auto& line : set->counts.first_skipped) out << "  skipped " << line << "\n";

  const Schedule schedule = make_schedule(o, static_cast<int64_t>(train_set.examples.size()));
  const LrSchedule lr_schedule(o.lr, schedule.total_steps, o.warmup_ratio);
  std::optional<fs::path> checkpoint;
  if (request.resume) checkpoint = latest_checkpoint(o.output_dir);

  out << "loading " << o.base_model.string() << " on " << device.str() << " ("
      << (type == torch::kBFloat16 ? "bf16" : "f32") << (recompute ? ", per-layer recomputation" : "") << ")\n";
  CausalLm model(o.base_model, device, type);
  formats::LoraConfig adapter_config = o.lora;
  adapter_config.base_model_name_or_path = fs::absolute(o.base_model).lexically_normal().string();
  adapter_config.inference_mode = true;
  LoraWeights& lora = model.attach_lora(adapter_config);
  lora.init_fresh(o.seed);
  torch::manual_seed(o.seed);  // LoRA dropout
  AdamW optimizer(lora.values(), o.adamw);
  TrainerState state;
  if (checkpoint) {
    state = load_checkpoint(*checkpoint, lora, optimizer, device);
    out << "resuming from " << checkpoint->string() << " (step " << state.global_step << " of " << schedule.total_steps
        << ")\n";
  } else {
    json::Json config = to_json(o);
    config["device_used"] = device.str();
    config["bf16"] = type == torch::kBFloat16;
    config["gradient_checkpointing_used"] = recompute;
    config["train_examples"] = train_set.examples.size();
    config["val_examples"] = val_set.examples.size();
    config["train_tokens"] = train_set.tokens();
    config["truncated_examples"] = train_set.counts.truncated;
    config["skipped_examples"] = train_set.counts.unusable_rows + train_set.counts.prompt_too_long;
    config["total_steps"] = schedule.total_steps;
    config["warmup_steps"] = lr_schedule.warmup_steps();
    config["eval_steps"] = schedule.eval_steps;
    config["trainable_parameters"] = lora.parameter_count();
    write_json(o.output_dir / "training_config.json", config);
  }
  out << "LoRA r " << o.lora.r << ", " << lora.parameter_count() << " trainable parameters; " << schedule.total_steps
      << " steps (" << schedule.steps_per_epoch << " per epoch, warmup " << lr_schedule.warmup_steps() << "), eval every "
      << schedule.eval_steps << " steps\n";

  MetricsLog metrics(o.output_dir / "metrics.jsonl", state.log_history);
  MemoryMeter memory(device);
  auto log = [&](json::Json line) {
    metrics.append(line);
    state.log_history.push_back(std::move(line));
  };
  auto epoch_of = [&](int64_t step) { return round_to(static_cast<double>(step) / schedule.steps_per_epoch, 1e-4); };

  auto evaluate_and_save = [&] {
    const EvalResult eval = evaluate(model, val_set, o.batch_size, pad_id);
    memory.sample();
    const bool first = state.best_checkpoint.empty();
    // Early stopping counts evaluations that fail to improve on the best by
    // more than the threshold; the best itself follows any improvement.
    if (first || eval.loss < state.best_eval_loss - o.early_stopping_threshold)
      state.evals_without_improvement = 0;
    else
      ++state.evals_without_improvement;
    if (first || eval.loss < state.best_eval_loss) {
      state.best_eval_loss = eval.loss;
      state.best_checkpoint = checkpoint_name(state.global_step);
    }
    if (o.early_stopping_patience > 0 && state.evals_without_improvement >= o.early_stopping_patience)
      state.early_stopped = true;
    log({{"step", state.global_step},
         {"epoch", epoch_of(state.global_step)},
         {"eval_loss", eval.loss},
         {"eval_token_accuracy", eval.token_accuracy},
         {"eval_tokens", eval.tokens}});
    save_checkpoint(o.output_dir, lora, adapter_config, optimizer, state, device);
    rotate_checkpoints(o.output_dir, o.save_total_limit, state.best_checkpoint);
    if (!request.progress || state.early_stopped)
      out << "step " << state.global_step << ": eval_loss " << eval.loss << ", token accuracy " << eval.token_accuracy
          << (state.early_stopped ? " (early stop)" : "") << "\n";
  };

  std::unique_ptr<base::Progress> progress;
  if (request.progress) {
    progress = std::make_unique<base::Progress>("train", schedule.total_steps, "steps");
    progress->advance(static_cast<uint64_t>(state.global_step));
  }
  const auto session_start = Clock::now();
  const int64_t session_first_step = state.global_step;
  int64_t order_epoch = -1;
  std::vector<size_t> order;
  const size_t n_train = train_set.examples.size();
  while (state.global_step < schedule.total_steps && !state.early_stopped) {
    const int64_t step = state.global_step;
    const int64_t epoch = step / schedule.steps_per_epoch;
    if (epoch != order_epoch) order = epoch_order(n_train, o.seed, order_epoch = epoch);
    const int64_t first_micro = step % schedule.steps_per_epoch * o.grad_accum;
    const int64_t end_micro = std::min(first_micro + o.grad_accum, schedule.micro_batches_per_epoch);
    std::vector<Batch> batches;
    int64_t labels = 0;
    for (int64_t m = first_micro; m < end_micro; ++m) {
      std::vector<const data::TokenizedExample*> rows;
      for (size_t i = static_cast<size_t>(m * o.batch_size); i < std::min(n_train, static_cast<size_t>((m + 1) * o.batch_size)); ++i)
        rows.push_back(&train_set.examples[order[i]]);
      batches.push_back(make_batch(rows, pad_id));
      labels += batches.back().label_count();
    }

    const auto step_start = Clock::now();
    lora.zero_grads();
    double loss_sum = 0;
    int64_t tokens = 0;
    for (const Batch& batch : batches) {
      auto hidden = model.hidden_states(batch.input_ids, {/*train=*/true, recompute});
      auto loss = lm_loss(select_positions(hidden, batch.label_positions), model.output_weight(), batch.labels);
      // The step's loss is the mean over every completion token of its
      // micro-batches, whatever their sizes.
      (loss.loss_sum / static_cast<double>(labels)).backward();
      loss_sum += loss.loss_sum.item<double>();
      tokens += batch.tokens;
    }
    const double step_loss = loss_sum / static_cast<double>(labels);
    if (!std::isfinite(step_loss))
      throw Error("training diverged: the loss is " + std::to_string(step_loss) + " at step " + std::to_string(step + 1) +
                  " (try a lower --lr)");
    const double grad_norm = clip_grad_norm(lora.grads(), o.max_grad_norm);
    const double lr = lr_schedule.lr_at(step);
    optimizer.step(lora.values(), lora.grads(), lr);
    synchronize(device);
    const double seconds = std::chrono::duration<double>(Clock::now() - step_start).count();
    memory.sample();

    state.global_step = step + 1;
    state.train_loss_sum += step_loss;
    state.train_tokens += tokens;
    state.train_seconds += seconds;
    const double tokens_per_second = seconds > 0 ? static_cast<double>(tokens) / seconds : 0;
    log({{"step", state.global_step},
         {"epoch", epoch_of(state.global_step)},
         {"loss", step_loss},
         {"learning_rate", lr},
         {"grad_norm", grad_norm},
         {"tokens", tokens},
         {"tokens_per_second", round_to(tokens_per_second, 0.1)}});
    if (progress) {
      const double elapsed = std::chrono::duration<double>(Clock::now() - session_start).count();
      const double left = elapsed / static_cast<double>(state.global_step - session_first_step) *
                          static_cast<double>(schedule.total_steps - state.global_step);
      char note[160];
      std::snprintf(note, sizeof note, "loss %.4f lr %.2e %.0f tok/s, %s left", step_loss, lr, tokens_per_second,
                    duration_text(left).c_str());
      progress->advance(1, note);
    }
    if (state.global_step % schedule.eval_steps == 0 || state.global_step == schedule.total_steps) evaluate_and_save();
  }
  if (progress) progress->done();
  if (state.best_checkpoint.empty()) evaluate_and_save();  // a run resumed after its last step, before its evaluation

  // The best adapter becomes the run's result.
  const fs::path best = o.output_dir / state.best_checkpoint;
  publish_adapter(best, o.output_dir / "lora_weights", o.base_model, /*with_tokenizer=*/false);
  publish_adapter(best, o.output_dir / "final", o.base_model, /*with_tokenizer=*/true);

  TrainResult result;
  result.output_dir = o.output_dir;
  result.total_steps = state.global_step;
  result.epochs_completed = epoch_of(state.global_step);
  result.train_loss = state.global_step ? state.train_loss_sum / static_cast<double>(state.global_step) : 0;
  result.best_eval_loss = state.best_eval_loss;
  result.best_checkpoint = state.best_checkpoint;
  result.early_stopped = state.early_stopped;
  result.tokens_per_second = state.train_seconds > 0 ? static_cast<double>(state.train_tokens) / state.train_seconds : 0;
  result.peak_memory_bytes = memory.peak_bytes();
  result.memory_kind = memory.kind();
  std::vector<CurvePoint> train_curve, eval_curve;
  for (const auto& line : state.log_history) {
    const int64_t step = line.at("step").get<int64_t>();
    if (line.contains("loss")) train_curve.push_back({step, line["loss"].get<double>()});
    if (line.contains("eval_loss")) {
      eval_curve.push_back({step, line["eval_loss"].get<double>()});
      if (checkpoint_name(step) == state.best_checkpoint)
        result.best_eval_token_accuracy = line["eval_token_accuracy"].get<double>();
    }
  }
  write_json(o.output_dir / "training_metrics.json",
             {{"train_loss", result.train_loss},
              {"best_eval_loss", result.best_eval_loss},
              {"best_eval_token_accuracy", result.best_eval_token_accuracy},
              {"total_steps", result.total_steps},
              {"epochs_completed", result.epochs_completed},
              {"best_checkpoint", result.best_checkpoint},
              {"early_stopped", result.early_stopped},
              {"train_tokens", state.train_tokens},
              {"train_seconds", round_to(state.train_seconds, 0.001)},
              {"tokens_per_second", round_to(result.tokens_per_second, 0.1)},
              {"peak_memory_bytes", result.peak_memory_bytes},
              {"peak_memory_kind", result.memory_kind},
              {"device", device.str()}});
  base::write_file_atomic(o.output_dir / "loss_curve.svg",
                          loss_curve_svg(train_curve, eval_curve, "josi train --mode " + data::mode_name(o.mode)));
  return result;
}

}  // namespace josi::train
