#pragma once
// Small float vector operations for attention over the F16 KV cache and for
// the per-token layers. Each uses active_isa().
#include <cstdint>

namespace josi::kernels {

float dot_f32(const float* a, const float* b, int64_t n);
float dot_f32_f16(const float* a, const uint16_t* b_f16, int64_t n);
void axpy_f16(float a, const uint16_t* x_f16, float* y, int64_t n);  // y += a * x
void f32_to_f16(const float* x, uint16_t* y_f16, int64_t n);         // round to nearest even

// Attention over `rows` cache rows of n F16 values, `stride` values apart:
// out[j] = a · row_j (the scores of one query), and y += Σ_j w[j]·row_j
// (the weighted sum of the values). One call per query instead of one per
// key: the query or the output stays in registers across the rows.
void dot_f32_f16_rows(const float* a, const uint16_t* rows_f16, int64_t stride, int64_t rows, int64_t n, float* out);
void axpy_f16_rows(const float* w, const uint16_t* rows_f16, int64_t stride, int64_t rows, int64_t n, float* y);

}  // namespace josi::kernels
