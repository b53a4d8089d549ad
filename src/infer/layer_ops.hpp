#pragma once
// The per-token operations of a transformer layer other than the matrix
// products: RMSNorm, rotary position embedding, SwiGLU and softmax. Cheap
// next to the matmuls, so written plainly.
#include <cstdint>

#include "infer/model.hpp"

namespace josi::infer {

// y = x / sqrt(mean(x^2) + eps) * w  (in f32; x and y may alias). Returns
// the scale 1 / sqrt(mean(x^2) + eps).
float rms_norm(const float* x, const float* w, float* y, int64_t n, float eps);

// Angles of one position: cos/sin of pos * base^(-2j/head_dim), j < head_dim/2.
void rope_angles(int64_t pos, int64_t head_dim, float base, float* cos_out, float* sin_out);
// Rotates each of `n_heads` heads of `x` (head_dim values each) in place.
void apply_rope(float* x, int64_t n_heads, int64_t head_dim, const float* cos, const float* sin, RopeStyle style);

// g = silu(g) * u, the SwiGLU gate.
void swiglu(float* g, const float* u, int64_t n);

// In-place softmax of x[0..n).
void softmax(float* x, int64_t n);

}  // namespace josi::infer
