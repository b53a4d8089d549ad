#include "train/lr_schedule.hpp"

#include <algorithm>
#include <cmath>

namespace josi::train {

LrSchedule::LrSchedule(double peak_lr, int64_t total_steps, double warmup_ratio)
    : peak_(peak_lr), total_(total_steps), warmup_(static_cast<int64_t>(std::ceil(static_cast<double>(total_steps) * warmup_ratio))) {}

double LrSchedule::lr_at(int64_t step) const {
  if (step < warmup_) return peak_ * static_cast<double>(step) / static_cast<double>(std::max<int64_t>(1, warmup_));
  const double progress = static_cast<double>(step - warmup_) / static_cast<double>(std::max<int64_t>(1, total_ - warmup_));
  return peak_ * std::max(0.0, 0.5 * (1.0 + std::cos(M_PI * progress)));
}

}  // namespace josi::train
