#include "train/lora_weights.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "base/error.hpp"
#include "base/strings.hpp"
#include "train/torch_tensors.hpp"

namespace josi::train {

namespace {

constexpr int kModules = 7;

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace

const std::vector<std::string>& lora_module_names() {
  static const std::vector<std::string> names = {"q_proj",    "k_proj",  "v_proj",   "o_proj",
                                                 "gate_proj", "up_proj", "down_proj"};
  return names;
}

int lora_module_index(std::string_view module) {
  const auto& names = lora_module_names();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == module) return static_cast<int>(i);
  return -1;
}

LoraWeights::LoraWeights(formats::LoraConfig config, const std::vector<LoraShape>& shapes, torch::Device device)
    : config_(std::move(config)) {
  const int64_t r = config_.r;
  int64_t total = 0, layers = 0;
  for (const auto& s : shapes) {
    total += r * (s.in + s.out);
    layers = std::max(layers, s.layer + 1);
  }
  auto options = torch::TensorOptions().dtype(torch::kFloat).device(device);
  values_ = torch::zeros({total}, options);
  grads_ = torch::zeros({total}, options);
  index_.assign(static_cast<size_t>(layers * kModules), -1);

  int64_t offset = 0;
  auto take = [&](int64_t rows, int64_t cols) {
    auto value = values_.narrow(0, offset, rows * cols).view({rows, cols});
    value.requires_grad_(true);
    // Gradients accumulate in place into the flat buffer.
    value.mutable_grad() = grads_.narrow(0, offset, rows * cols).view({rows, cols});
    offset += rows * cols;
    return value;
  };
  for (const auto& s : shapes) {
    const int m = lora_module_index(s.module);
    if (m < 0) throw Error("LoRA: " + base::quoted(s.module) + " is not a projection of the model");
    int& slot = index_[static_cast<size_t>(s.layer * kModules + m)];
    if (slot >= 0) throw Error("LoRA: layer " + std::to_string(s.layer) + " " + s.module + " appears twice");
    slot = static_cast<int>(modules_.size());
    LoraModule module;
    module.shape = s;
    module.a = take(r, s.in);
    module.b = take(s.out, r);
    modules_.push_back(std::move(module));
  }
}

const LoraModule* LoraWeights::find(int64_t layer, int module_index) const {
  const size_t at = static_cast<size_t>(layer * kModules + module_index);
  if (layer < 0 || module_index < 0 || at >= index_.size() || index_[at] < 0) return nullptr;
  return &modules_[static_cast<size_t>(index_[at])];
}

void LoraWeights::init_fresh(uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& m : modules_) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(m.shape.in));
    auto a = torch::empty({config_.r, m.shape.in}, torch::kFloat).uniform_(-bound, bound, generator);
    m.a.copy_(a);
    m.b.zero_();
  }
}

void LoraWeights::load(const formats::PeftAdapter& adapter) {
  torch::NoGradGuard no_grad;
  if (adapter.pairs().size() != modules_.size())
    throw Error("LoRA: the adapter has " + std::to_string(adapter.pairs().size()) + " adapted projections, expected " +
                std::to_string(modules_.size()));
  for (const auto& pair : adapter.pairs()) {
    const LoraModule* m = find(pair.layer, lora_module_index(pair.module));
    if (m == nullptr) throw Error("LoRA: the adapter adapts " + pair.base_weight + ", which this model does not");
    const std::vector<int64_t> want_a = {config_.r, m->shape.in}, want_b = {m->shape.out, config_.r};
    if (pair.a->shape != want_a || pair.b->shape != want_b)
      throw Error("LoRA: " + pair.base_weight + ": adapter shapes " + shape_text(pair.a->shape) + " and " +
                  shape_text(pair.b->shape) + ", expected " + shape_text(want_a) + " and " + shape_text(want_b));
    m->a.copy_(tensor_from_view(*pair.a, m->a.device(), torch::kFloat));
    m->b.copy_(tensor_from_view(*pair.b, m->b.device(), torch::kFloat));
  }
}

std::vector<formats::AdapterTensor> LoraWeights::adapter_tensors() const {
  std::vector<formats::AdapterTensor> out;
  for (const auto& m : modules_) {
    const std::string prefix = formats::peft_key_prefix(m.shape.base_weight);
    out.push_back({prefix + ".lora_A.weight", formats::DType::F32, {config_.r, m.shape.in}, tensor_bytes(m.a, formats::DType::F32)});
    out.push_back({prefix + ".lora_B.weight", formats::DType::F32, {m.shape.out, config_.r}, tensor_bytes(m.b, formats::DType::F32)});
  }
  return out;
}

}  // namespace josi::train
