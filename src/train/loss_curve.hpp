#pragma once
// The loss-curve image written at the end of training: an SVG chart of the
// training loss per step and the evaluation loss per evaluation. Logarithmic
// loss axis when the loss spans more than two orders of magnitude (an
// interpreter run goes from ~2 to below 0.01).
#include <cstdint>
#include <string>
#include <vector>

namespace josi::train {

struct CurvePoint {
  int64_t step = 0;
  double value = 0;
};

std::string loss_curve_svg(const std::vector<CurvePoint>& train, const std::vector<CurvePoint>& eval,
                           const std::string& title);

}  // namespace josi::train
