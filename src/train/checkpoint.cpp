#include "train/checkpoint.hpp"

#include <algorithm>
#include <vector>

#include "base/error.hpp"
#include "base/files.hpp"
#include "formats/safetensors.hpp"
#include "base/directory_tree.hpp"
#include "train/torch_tensors.hpp"

namespace josi::train {

namespace fs = std::filesystem;

namespace {

constexpr const char* kPrefix = "checkpoint-";

std::optional<int64_t> checkpoint_step(const fs::path& dir) {
  const std::string name = dir.filename().string();
  if (name.rfind(kPrefix, 0) != 0 || name.size() == std::string(kPrefix).size() || name.size() > 24) return std::nullopt;
  int64_t step = 0;
  for (char c : name.substr(std::string(kPrefix).size())) {
    if (c < '0' || c > '9') return std::nullopt;
    step = step * 10 + (c - '0');
  }
  return step;
}

// Complete checkpoints (trainer_state.json is written last), by step.
std::vector<std::pair<int64_t, fs::path>> list_checkpoints(const fs::path& run_dir) {
  std::vector<std::pair<int64_t, fs::path>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    auto step = checkpoint_step(entry.path());
    if (step && fs::exists(entry.path() / "trainer_state.json")) found.emplace_back(*step, entry.path());
  }
  std::sort(found.begin(), found.end());
  return found;
}

torch::Tensor generator_state(torch::Device device) {
  auto generator = device.is_cuda() ? at::globalContext().defaultGenerator(device)
                                    : at::globalContext().defaultGenerator(torch::kCPU);
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_generator_state(torch::Device device, const formats::TensorView& view) {
  auto generator = device.is_cuda() ? at::globalContext().defaultGenerator(device)
                                    : at::globalContext().defaultGenerator(torch::kCPU);
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(tensor_from_view(view, torch::kCPU, torch::kByte));
}

const formats::TensorView& flat_tensor(const formats::SafetensorsFile& file, const std::string& name, int64_t numel) {
  const auto& view = file.at(name);
  if (view.dtype != formats::DType::F32 || view.shape != std::vector<int64_t>{numel})
    throw Error(file.path().string() + ": " + name + " does not match the adapter (" + std::to_string(numel) +
                " float32 values expected)");
  return view;
}

}  // namespace

json::Json to_json(const TrainerState& s) {
  json::Json out = json::Json::object();
  out["global_step"] = s.global_step;
  out["best_eval_loss"] = s.best_checkpoint.empty() ? json::Json() : json::Json(s.best_eval_loss);
  out["best_checkpoint"] = s.best_checkpoint;
  out["evals_without_improvement"] = s.evals_without_improvement;
  out["early_stopped"] = s.early_stopped;
  out["train_loss_sum"] = s.train_loss_sum;
  out["train_tokens"] = s.train_tokens;
  out["train_seconds"] = s.train_seconds;
  out["log_history"] = s.log_history;
  return out;
}

TrainerState trainer_state_from_json(const json::Json& v, const std::string& what) {
  auto bad = [&](const char* key) { return Error(what + ": key \"" + key + "\" is missing or mistyped"); };
  auto get = [&](const char* key) -> const json::Json& {
    auto it = v.find(key);
    if (it == v.end()) throw bad(key);
    return *it;
  };
  if (!v.is_object()) throw Error(what + ": expected a JSON object");
  TrainerState s;
  try {
    s.global_step = get("global_step").get<int64_t>();
    s.best_checkpoint = get("best_checkpoint").get<std::string>();
    if (!s.best_checkpoint.empty()) s.best_eval_loss = get("best_eval_loss").get<double>();
    s.evals_without_improvement = get("evals_without_improvement").get<int64_t>();
    s.early_stopped = get("early_stopped").get<bool>();
    s.train_loss_sum = get("train_loss_sum").get<double>();
    s.train_tokens = get("train_tokens").get<int64_t>();
    s.train_seconds = get("train_seconds").get<double>();
  } catch (const nlohmann::json::exception&) {
    throw Error(what + ": a key has the wrong type");
  }
  s.log_history = get("log_history");
  if (!s.log_history.is_array()) throw bad("log_history");
  return s;
}

std::string checkpoint_name(int64_t step) { return kPrefix + std::to_string(step); }

fs::path save_checkpoint(const fs::path& run_dir, const LoraWeights& lora, const formats::LoraConfig& adapter_config,
                         AdamW& optimizer, const TrainerState& state, torch::Device device) {
  const std::string name = checkpoint_name(state.global_step);
  const fs::path temp = run_dir / ("." + name + ".partial");
  base::remove_tree(temp);  // left by a killed run
  formats::write_peft_adapter(temp, adapter_config, lora.adapter_tensors());

  const int64_t n = optimizer.exp_avg().numel();
  formats::SafetensorsWriter moments;
  moments.add_bytes("exp_avg", formats::DType::F32, {n}, tensor_bytes(optimizer.exp_avg(), formats::DType::F32));
  moments.add_bytes("exp_avg_sq", formats::DType::F32, {n}, tensor_bytes(optimizer.exp_avg_sq(), formats::DType::F32));
  moments.write(temp / "optimizer.safetensors");

  formats::SafetensorsWriter rng;
  auto add_state = [&](const std::string& key, const torch::Tensor& state_bytes) {
    rng.add_bytes(key, formats::DType::U8, {state_bytes.numel()}, tensor_bytes(state_bytes, formats::DType::U8));
  };
  add_state("cpu", generator_state(torch::kCPU));
  if (device.is_cuda()) add_state("cuda", generator_state(device));
  rng.write(temp / "rng_state.safetensors");

  base::write_file_atomic(temp / "trainer_state.json", to_json(state).dump(1) + "\n");
  const fs::path final = run_dir / name;
  base::replace_tree(temp, final);
  return final;
}

TrainerState load_checkpoint(const fs::path& dir, LoraWeights& lora, AdamW& optimizer, torch::Device device) {
  const fs::path state_path = dir / "trainer_state.json";
  TrainerState state = trainer_state_from_json(json::parse(base::read_file(state_path), state_path.string()), state_path.string());
  lora.load(formats::PeftAdapter(dir));

  const int64_t n = lora.values().numel();
  formats::SafetensorsFile moments(dir / "optimizer.safetensors");
  torch::NoGradGuard no_grad;
  optimizer.exp_avg().copy_(tensor_from_view(flat_tensor(moments, "exp_avg", n), device, torch::kFloat));
  optimizer.exp_avg_sq().copy_(tensor_from_view(flat_tensor(moments, "exp_avg_sq", n), device, torch::kFloat));
  optimizer.set_steps(state.global_step);

  formats::SafetensorsFile rng(dir / "rng_state.safetensors");
  set_generator_state(torch::kCPU, rng.at("cpu"));
  if (device.is_cuda()) {
    if (const auto* cuda = rng.find("cuda")) set_generator_state(device, *cuda);
  }
  return state;
}

std::optional<fs::path> latest_checkpoint(const fs::path& run_dir) {
  auto found = list_checkpoints(run_dir);
  if (found.empty()) return std::nullopt;
  return found.back().second;
}

void rotate_checkpoints(const fs::path& run_dir, int64_t limit, const std::string& best) {
  auto found = list_checkpoints(run_dir);
  auto is_best = [&](const fs::path& dir) { return dir.filename().string() == best; };
  int64_t kept = std::any_of(found.begin(), found.end(), [&](const auto& c) { return is_best(c.second); });
  for (auto it = found.rbegin(); it != found.rend(); ++it) {  // newest first
    if (is_best(it->second)) continue;
    if (kept < limit)
      ++kept;
    else
      base::remove_tree(it->second);
  }
}

}  // namespace josi::train
