#include "train/train_options.hpp"

#include <ctime>

#include "base/error.hpp"

namespace josi::train {

namespace fs = std::filesystem;

namespace {

std::string now_stamp() {
  std::time_t t = std::time(nullptr);
  std::tm local{};
  localtime_r(&t, &local);
  char text[32];
  std::strftime(text, sizeof text, "%Y%m%d_%H%M%S", &local);
  return text;
}

// Reads the keys of training_config.json with one clear error per bad key.
class Reader {
 public:
  Reader(const json::Json& doc, std::string what) : doc_(doc), what_(std::move(what)) {}

  const json::Json& at(const char* key) const {
    auto it = doc_.find(key);
    if (it == doc_.end()) throw Error(what_ + ": key \"" + key + "\": missing");
    return *it;
  }
  std::string text(const char* key) const {
    const auto& v = at(key);
    if (!v.is_string()) throw Error(what_ + ": key \"" + key + "\": expected a string");
    return v.get<std::string>();
  }
  double number(const char* key) const {
    const auto& v = at(key);
    if (!v.is_number()) throw Error(what_ + ": key \"" + key + "\": expected a number");
    return v.get<double>();
  }
  int64_t integer(const char* key) const {
    const auto& v = at(key);
    if (!v.is_number_integer()) throw Error(what_ + ": key \"" + key + "\": expected an integer");
    return v.get<int64_t>();
  }
  bool flag(const char* key) const {
    const auto& v = at(key);
    if (!v.is_boolean()) throw Error(what_ + ": key \"" + key + "\": expected true or false");
    return v.get<bool>();
  }

 private:
  const json::Json& doc_;
  std::string what_;
};

void require(bool ok, const std::string& message) {
  if (!ok) throw Error(message, ExitCode::usage);
}

}  // namespace

TrainOptions recipe(const std::string& name) {
  TrainOptions o;
  o.recipe = name;
  if (name == "v5") return o;
  if (name != "qwen3-4b" && name != "qwen3-8b")
    throw Error("--recipe " + name + ": expected v5, qwen3-4b or qwen3-8b", ExitCode::usage);
  const bool large = name == "qwen3-8b";
  o.base_model = large ? "models/Qwen3-8B" : "models/Qwen3-4B";
  o.lora.r = 32;
  o.lora.lora_alpha = 64;
  o.lora.lora_dropout = 0.05;
  o.lr = large ? 1e-5 : 2e-5;
  o.epochs = 3;
  o.batch_size = 1;
  o.grad_accum = 16;
  o.max_seq_length = 4096;
  o.early_stopping_patience = 3;
  return o;
}

std::vector<std::string> recipe_names() { return {"v5", "qwen3-4b", "qwen3-8b"}; }

void complete_defaults(TrainOptions& options) {
  if (options.timestamp.empty()) options.timestamp = now_stamp();
  // The seed trains the explainer on the sequential data (prepare-sequential's
  // output); the users' unified runs on both roles' v7 split.
  const std::string data_name = options.mode == data::DatasetMode::interpreter ? "interpreter"
                                : options.mode == data::DatasetMode::explainer ? "explainer_sequential"
                                                                               : "v7_unified";
  if (options.train_data.empty()) options.train_data = "data/train_" + data_name + ".jsonl";
  if (options.val_data.empty()) options.val_data = "data/val_" + data_name + ".jsonl";
  // The users' run names: josi-v5-qwen25-<mode>-..., josi-v7-qwen3-<size>-<mode>-...
  const std::string family = options.recipe == "v5" ? "v5-qwen25" : "v7-" + options.recipe;
  if (options.output_dir.empty())
    options.output_dir =
        fs::path("models") / ("josi-" + family + "-" + data::mode_name(options.mode) + "-" + options.timestamp);
}

void check_options(const TrainOptions& o) {
  require(o.lr > 0 && o.lr < 1, "--lr " + std::to_string(o.lr) + ": expected a learning rate in (0, 1)");
  require(o.epochs > 0, "--epochs: expected a positive number of epochs");
  require(o.batch_size > 0, "--batch_size: expected a positive batch size");
  require(o.grad_accum > 0, "--grad_accum: expected a positive number of micro-batches");
  require(o.max_seq_length > 16, "--max_seq_length: expected more than 16 tokens");
  require(o.max_steps >= 0, "--max_steps: expected 0 (use --epochs) or a positive number of steps");
  require(o.lora.r > 0, "--lora_r: expected a positive rank");
  require(o.lora.lora_dropout >= 0 && o.lora.lora_dropout < 1, "--lora_dropout: expected a value in [0, 1)");
  require(o.early_stopping_patience >= 0, "--early_stopping_patience: expected 0 (off) or a number of evaluations");
  require(o.warmup_ratio >= 0 && o.warmup_ratio < 1, "warmup_ratio: expected a value in [0, 1)");
  require(o.gradient_checkpointing == "auto" || o.gradient_checkpointing == "on" || o.gradient_checkpointing == "off",
          "--gradient_checkpointing " + o.gradient_checkpointing + ": expected auto, on or off");
}

std::string run_preset(const TrainOptions& o) {
  return o.mode == data::DatasetMode::unified || o.recipe.rfind("qwen3", 0) == 0 ? "v6" : "v5";
}

json::Json to_json(const TrainOptions& o) {
  json::Json out = json::Json::object();
  out["recipe"] = o.recipe;
  out["mode"] = data::mode_name(o.mode);
  out["preset"] = run_preset(o);
  out["base_model"] = o.base_model.string();
  out["train_data"] = o.train_data.string();
  out["val_data"] = o.val_data.string();
  out["output_dir"] = o.output_dir.string();
  out["timestamp"] = o.timestamp;
  out["lora_r"] = o.lora.r;
  out["lora_alpha"] = o.lora.lora_alpha;
  out["lora_dropout"] = o.lora.lora_dropout;
  out["target_modules"] = o.lora.target_modules;
  out["bias"] = o.lora.bias;
  out["learning_rate"] = o.lr;
  out["num_train_epochs"] = o.epochs;
  out["per_device_train_batch_size"] = o.batch_size;
  out["gradient_accumulation_steps"] = o.grad_accum;
  out["effective_batch_size"] = o.batch_size * o.grad_accum;
  out["max_seq_length"] = o.max_seq_length;
  out["max_steps"] = o.max_steps;
  out["warmup_ratio"] = o.warmup_ratio;
  out["lr_scheduler_type"] = "cosine";
  out["optim"] = "adamw";
  out["adam_beta1"] = o.adamw.beta1;
  out["adam_beta2"] = o.adamw.beta2;
  out["adam_epsilon"] = o.adamw.eps;
  out["weight_decay"] = o.adamw.weight_decay;
  out["max_grad_norm"] = o.max_grad_norm;
  out["save_total_limit"] = o.save_total_limit;
  out["early_stopping_patience"] = o.early_stopping_patience;
  out["early_stopping_threshold"] = o.early_stopping_threshold;
  out["seed"] = o.seed;
  out["device"] = o.device;
  out["gradient_checkpointing"] = o.gradient_checkpointing;
  out["wandb"] = o.wandb;
  return out;
}

TrainOptions train_options_from_json(const json::Json& value, const std::string& what) {
  if (!value.is_object()) throw Error(what + ": expected a JSON object");
  Reader r(value, what);
  TrainOptions o;
  if (value.contains("recipe")) o.recipe = r.text("recipe");  // runs from before recipes were v5
  const std::string mode = r.text("mode");
  if (mode != "interpreter" && mode != "explainer" && mode != "unified")
    throw Error(what + ": key \"mode\": expected interpreter, explainer or unified");
  o.mode = data::dataset_mode_from_name(mode);
  o.base_model = r.text("base_model");
  o.train_data = r.text("train_data");
  o.val_data = r.text("val_data");
  o.output_dir = r.text("output_dir");
  o.timestamp = r.text("timestamp");
  o.lora.r = r.integer("lora_r");
  o.lora.lora_alpha = r.number("lora_alpha");
  o.lora.lora_dropout = r.number("lora_dropout");
  const auto& targets = r.at("target_modules");
  if (!targets.is_array()) throw Error(what + ": key \"target_modules\": expected a list of strings");
  o.lora.target_modules.clear();
  for (const auto& t : targets) {
    if (!t.is_string()) throw Error(what + ": key \"target_modules\": expected a list of strings");
    o.lora.target_modules.push_back(t.get<std::string>());
  }
  o.lr = r.number("learning_rate");
  o.epochs = r.integer("num_train_epochs");
  o.batch_size = r.integer("per_device_train_batch_size");
  o.grad_accum = r.integer("gradient_accumulation_steps");
  o.max_seq_length = r.integer("max_seq_length");
  o.max_steps = r.integer("max_steps");
  o.warmup_ratio = r.number("warmup_ratio");
  o.adamw.beta1 = r.number("adam_beta1");
  o.adamw.beta2 = r.number("adam_beta2");
  o.adamw.eps = r.number("adam_epsilon");
  o.adamw.weight_decay = r.number("weight_decay");
  o.max_grad_norm = r.number("max_grad_norm");
  o.save_total_limit = r.integer("save_total_limit");
  o.early_stopping_patience = r.integer("early_stopping_patience");
  o.early_stopping_threshold = r.number("early_stopping_threshold");
  const auto& seed = r.at("seed");
  if (!seed.is_number_unsigned()) throw Error(what + ": key \"seed\": expected a non-negative integer");
  o.seed = seed.get<uint64_t>();
  o.device = r.text("device");
  o.gradient_checkpointing = r.text("gradient_checkpointing");
  o.wandb = r.flag("wandb");
  check_options(o);
  return o;
}

}  // namespace josi::train
