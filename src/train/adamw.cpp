#include "train/adamw.hpp"

#include <cmath>

namespace josi::train {

AdamW::AdamW(const torch::Tensor& params, AdamWSettings settings)
    : s_(settings), exp_avg_(torch::zeros_like(params)), exp_avg_sq_(torch::zeros_like(params)) {}

void AdamW::step(torch::Tensor& params, const torch::Tensor& grads, double lr) {
  torch::NoGradGuard no_grad;
  ++steps_;
  params.mul_(1.0 - lr * s_.weight_decay);
  exp_avg_.lerp_(grads, 1.0 - s_.beta1);
  exp_avg_sq_.mul_(s_.beta2).addcmul_(grads, grads, 1.0 - s_.beta2);
  const double bias_correction1 = 1.0 - std::pow(s_.beta1, static_cast<double>(steps_));
  const double bias_correction2 = 1.0 - std::pow(s_.beta2, static_cast<double>(steps_));
  auto denom = (exp_avg_sq_.sqrt() / std::sqrt(bias_correction2)).add_(s_.eps);
  params.addcdiv_(exp_avg_, denom, -lr / bias_correction1);
}

double clip_grad_norm(torch::Tensor& grads, double max_norm) {
  torch::NoGradGuard no_grad;
  const double norm = grads.norm().item<double>();
  const double scale = max_norm / (norm + 1e-6);
  if (scale < 1.0) grads.mul_(scale);
  return norm;
}

}  // namespace josi::train
