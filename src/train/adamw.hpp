#pragma once
// AdamW with decoupled weight decay, the update of torch.optim.AdamW, on one
// flat parameter tensor: a handful of whole-buffer operations per step
// however many LoRA matrices there are (the "fused" optimizer of the seed's
// GPU recipe). Its state is two tensors and a step count, saved with each
// checkpoint so a resumed run continues exactly.
#include <cstdint>

#include <torch/torch.h>

#include "train/train_options.hpp"

namespace josi::train {

class AdamW {
 public:
  AdamW(const torch::Tensor& params, AdamWSettings settings);
  // One update of `params` (in place) with `grads` at learning rate `lr`.
  void step(torch::Tensor& params, const torch::Tensor& grads, double lr);

  int64_t steps() const { return steps_; }
  torch::Tensor& exp_avg() { return exp_avg_; }
  torch::Tensor& exp_avg_sq() { return exp_avg_sq_; }
  void set_steps(int64_t steps) { steps_ = steps; }

 private:
  AdamWSettings s_;
  torch::Tensor exp_avg_, exp_avg_sq_;
  int64_t steps_ = 0;
};

// Scales `grads` in place so their global L2 norm is at most `max_norm`;
// returns the norm before scaling.
double clip_grad_norm(torch::Tensor& grads, double max_norm);

}  // namespace josi::train
