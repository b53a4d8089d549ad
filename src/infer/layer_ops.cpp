#include "infer/layer_ops.hpp"

#include <algorithm>
#include <cmath>

namespace josi::infer {

float rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * w[i];
  return scale;
}

void rope_angles(int64_t pos, int64_t head_dim, float base, float* cos_out, float* sin_out) {
  for (int64_t j = 0; j < head_dim / 2; ++j) {
    const double angle = static_cast<double>(pos) * std::pow(static_cast<double>(base), -2.0 * j / head_dim);
    cos_out[j] = static_cast<float>(std::cos(angle));
    sin_out[j] = static_cast<float>(std::sin(angle));
  }
}

void apply_rope(float* x, int64_t n_heads, int64_t head_dim, const float* cos, const float* sin, RopeStyle style) {
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < n_heads; ++h) {
    float* v = x + h * head_dim;
    for (int64_t j = 0; j < half; ++j) {
      // NeoX pairs j with j + half; interleaved pairs 2j with 2j + 1.
      float& a = style == RopeStyle::neox ? v[j] : v[2 * j];
      float& b = style == RopeStyle::neox ? v[j + half] : v[2 * j + 1];
      const float a0 = a, b0 = b;
      a = a0 * cos[j] - b0 * sin[j];
      b = a0 * sin[j] + b0 * cos[j];
    }
  }
}

void swiglu(float* g, const float* u, int64_t n) {
  for (int64_t i = 0; i < n; ++i) g[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void softmax(float* x, int64_t n) {
  const float max = *std::max_element(x, x + n);
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace josi::infer
