#pragma once
// A Qwen2, Qwen3 or llama causal language model on libtorch for LoRA
// training: the base weights of a Hugging Face directory (F32, F16 or BF16
// safetensors, sharded or not), frozen, in the compute type on the training
// device, and optional LoRA adapters on the seven projections. The forward
// pass is transformers' (RMSNorm in f32, q/k/v biases for Qwen2, per-head
// q/k RMSNorm before RoPE for Qwen3, rotate-half RoPE, grouped-query causal
// attention, SiLU-gated MLP) and stops before the output projection: the
// loss applies it only where there are labels (lm_loss.hpp).
#include <array>
#include <filesystem>
#include <memory>
#include <vector>

#include <torch/torch.h>

#include "formats/architecture.hpp"
#include "formats/hf_config.hpp"
#include "formats/peft_adapter.hpp"
#include "train/lora_weights.hpp"

namespace josi::train {

struct ForwardPass {
  bool train = false;      // LoRA dropout on
  bool recompute = false;  // per-layer recomputation in backward
};

class CausalLm {
 public:
  // Throws josi::Error naming the directory and the tensor when config.json
  // is not one of Josi's architectures, a weight is missing or its shape
  // disagrees.
  CausalLm(const std::filesystem::path& dir, torch::Device device, torch::ScalarType type);

  const formats::ModelConfig& config() const { return config_; }
  torch::Device device() const { return device_; }
  torch::ScalarType type() const { return type_; }

  // Adapters on every layer's `config.target_modules`, all zero (see
  // LoraWeights::init_fresh). Throws on a module that is not a projection.
  LoraWeights& attach_lora(const formats::LoraConfig& config);
  // The adapter's own projections and weights. Throws when a projection is
  // not in this model or its shapes differ (an adapter for another base).
  LoraWeights& attach_lora(const formats::PeftAdapter& adapter);
  LoraWeights* lora() const { return lora_.get(); }

  // input_ids [batch, seq] int64 -> final hidden states [batch, seq, hidden]
  // in the compute type (after the last RMSNorm). Sequences are right-padded:
  // with causal attention no real token ever sees a padding position.
  torch::Tensor hidden_states(const torch::Tensor& input_ids, ForwardPass pass = {}) const;
  // Full float32 logits [batch, seq, vocab], without autograd (tests, generation).
  torch::Tensor logits(const torch::Tensor& input_ids) const;
  // The output projection [vocab, hidden] (the embedding when tied).
  const torch::Tensor& output_weight() const { return config_.tie_word_embeddings ? embed_ : lm_head_; }

 private:
  struct Linear {
    torch::Tensor weight;  // [out, in]
    torch::Tensor bias;    // undefined when the projection has none
  };
  struct Layer {
    torch::Tensor input_norm, post_norm;
    torch::Tensor q_norm, k_norm;  // [head_dim]; undefined without per-head norms
    std::array<Linear, 7> projections;  // in lora_module_names() order
  };
  struct Rope {
    torch::Tensor cos, sin;  // [seq, head_dim]
  };

  torch::Tensor project(const torch::Tensor& x, int64_t layer, int module, bool train) const;
  torch::Tensor decoder_layer(const torch::Tensor& x, int64_t layer, const Rope& rope, bool train) const;
  torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight) const;
  Rope rope(int64_t seq) const;
  LoraWeights& attach(formats::LoraConfig config, const std::vector<LoraShape>& shapes);

  formats::ModelConfig config_;
  const formats::Architecture* arch_ = nullptr;
  torch::Device device_;
  torch::ScalarType type_;
  torch::Tensor embed_, final_norm_, lm_head_;
  std::vector<Layer> layers_;
  std::unique_ptr<LoraWeights> lora_;
};

}  // namespace josi::train
