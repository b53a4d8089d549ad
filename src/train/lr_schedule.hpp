#pragma once
// The seed's learning-rate schedule (transformers' cosine schedule with
// warmup): linear from 0 over the warmup steps, then half a cosine down to 0
// at the last step. Step k (0-based) uses lr_at(k).
#include <cstdint>

namespace josi::train {

class LrSchedule {
 public:
  // warmup steps = ceil(total_steps * warmup_ratio)
  LrSchedule(double peak_lr, int64_t total_steps, double warmup_ratio);
  double lr_at(int64_t step) const;
  int64_t warmup_steps() const { return warmup_; }

 private:
  double peak_;
  int64_t total_, warmup_;
};

}  // namespace josi::train
