#pragma once
// The trainable LoRA matrices of a model. All of them live in one flat f32
// buffer, with each projection's A and B as leaf views into it and their
// gradients as views into a second flat buffer: the optimizer, the gradient
// clipping and the checkpoints each work on one tensor instead of hundreds.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <torch/torch.h>

#include "formats/peft_adapter.hpp"

namespace josi::train {

// The seven projections LoRA may adapt in a decoder layer, in PEFT's order.
const std::vector<std::string>& lora_module_names();
int lora_module_index(std::string_view module);  // -1 when not one of them

struct LoraShape {
  int64_t layer = 0;
  std::string module;       // q_proj ... down_proj
  std::string base_weight;  // model.layers.<i>.<self_attn|mlp>.<module>.weight
  int64_t in = 0, out = 0;
};

struct LoraModule {
  LoraShape shape;
  torch::Tensor a;  // [r, in]
  torch::Tensor b;  // [out, r]
};

class LoraWeights {
 public:
  LoraWeights(formats::LoraConfig config, const std::vector<LoraShape>& shapes, torch::Device device);
  LoraWeights(const LoraWeights&) = delete;
  LoraWeights& operator=(const LoraWeights&) = delete;

  const formats::LoraConfig& config() const { return config_; }
  const std::vector<LoraModule>& modules() const { return modules_; }
  const LoraModule* find(int64_t layer, int module_index) const;
  int64_t parameter_count() const { return values_.numel(); }

  torch::Tensor& values() { return values_; }  // every A and B, flat
  torch::Tensor& grads() { return grads_; }    // their gradients, flat
  void zero_grads() { grads_.zero_(); }

  // PEFT's initialisation: A Kaiming-uniform (bound 1/sqrt(in)) from a
  // generator seeded with `seed`, B zero, so training starts at the base model.
  void init_fresh(uint64_t seed);
  // The weights of a saved adapter; its pairs must be exactly these modules.
  void load(const formats::PeftAdapter& adapter);
  // PEFT-named f32 tensors, ready for formats::write_peft_adapter.
  std::vector<formats::AdapterTensor> adapter_tensors() const;

 private:
  formats::LoraConfig config_;
  std::vector<LoraModule> modules_;
  std::vector<int> index_;  // layer * 7 + module index -> position in modules_, -1 when absent
  torch::Tensor values_, grads_;
};

}  // namespace josi::train
