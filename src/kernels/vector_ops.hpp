#pragma once
// Small float vector operations for attention over the KV cache (F16 or
// Q8_0) and for the per-token layers. Each uses active_isa().
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

// The same over a Q8_0 cache: rows of n values (a multiple of 32) in Q8_0
// blocks (an F16 scale d, then 32 int8 levels q: 34 bytes), `stride` bytes
// apart. f32_to_q8_0 writes one row: d = max|x| / 127 rounded to F16,
// q = round-to-nearest-even(x · 127 / max|x|), all zero for a zero block;
// one implementation serves every path, so every path caches the same bytes.
constexpr int64_t kQ8_0Block = 32, kQ8_0BlockBytes = 34;
void f32_to_q8_0(const float* x, uint8_t* y_q8_0, int64_t n);
void dot_f32_q8_0_rows(const float* a, const uint8_t* rows_q8_0, int64_t stride, int64_t rows, int64_t n, float* out);
void axpy_q8_0_rows(const float* w, const uint8_t* rows_q8_0, int64_t stride, int64_t rows, int64_t n, float* y);

// A low-rank term over n_rows rows: y[i] += Σ_j u[j] · B[i][j], B (n_rows ×
// rank, F16) in panels of kLowRankPanel rows, column after column (B[p·16 + i][j]
// at panels[(p·rank + j)·16 + i]), the last panel padded with zeros. One call
// for a task's whole row range: each panel's rows stay in registers across
// the rank columns, and each row is added to in the order of j.
constexpr int64_t kLowRankPanel = 16;
void add_panels_f16(const float* u, int64_t rank, const uint16_t* panels_f16, int64_t n_rows, float* y);

// A small f32 product for attention's tiles: c[r][j] = (c[r][j] when
// `accumulate`, else 0) + Σ_i a[r·lda + i] · b[i·ldb + j], for r < rows,
// j < n, i < k; n is a multiple of kTileColumns (callers pad b's and c's
// rows). Each c[r][j] is summed over i in order in a lane of its own, so it
// does not depend on rows, n or the other elements: a query's attention
// comes out the same in any batch.
constexpr int64_t kTileColumns = 16;
void gemm_f32_tile(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t rows,
                   int64_t k, int64_t n, bool accumulate);

}  // namespace josi::kernels
