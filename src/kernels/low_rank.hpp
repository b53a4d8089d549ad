#pragma once
// The two factors of a LoRA adapter as the engine multiplies them. Both are
// kept in one layout, panels: a matrix M (rows × cols, F32 or F16) cut into
// panels of kLowRankPanel rows, each holding its rows' values of column 0,
// then of column 1, ... (M[p·16 + i][j] at (p·cols + j)·16 + i), the last
// panel padded with zeros. B (out × rank) is added to a product's rows in
// the tasks that write them, one contiguous read per task (LowRankTerm); A
// (rank × in) is multiplied a range of its columns at a time, so whoever
// writes x can fold a slice of A·x into the same pass (infer/adapter_input.hpp).
#include <cstdint>
#include <vector>

#include "formats/ggml_type.hpp"
#include "kernels/vector_ops.hpp"

namespace josi::kernels {

// Bytes of a rows × cols matrix in panels of `type` (F32 or F16), the last panel padded.
size_t panels_bytes(formats::GgmlType type, int64_t rows, int64_t cols);
// M (rows × cols, row-major floats) in panels of `type` (F32 or F16).
std::vector<uint8_t> to_panels(formats::GgmlType type, const float* m, int64_t rows, int64_t cols);

// y[r - r0] += Σ_{j0 <= j < j1} M[r][j] · v[j - j0] for r0 <= r < r1, with
// M (cols columns) in panels of `type` and r0 a multiple of kLowRankPanel.
// Each row is added to in the order of j.
void add_panel_product(formats::GgmlType type, const void* m_panels, int64_t cols, int64_t r0, int64_t r1, int64_t j0,
                       int64_t j1, const float* v, float* y);

// A low-rank term a product adds to its rows: y[t * ldy + r] += Σ_j B[r][j] ·
// u[t * ldu + j], B (`rows` × `rank`) in panels. A LoRA adapter's second
// factor (u = scale · A·x) rides on its base projection this way, computed
// in the same tasks as the rows it adds to, so it adds no synchronisation
// of its own to the product.
struct LowRankTerm {
  formats::GgmlType type = formats::GgmlType::F32;
  const void* bt = nullptr;
  int64_t rank = 0;
  const float* u = nullptr;
  int64_t ldu = 0;
};

// Adds `term` to rows [r0, r1) of y for n_tokens tokens, r0 a multiple of kLowRankPanel.
void add_low_rank(const LowRankTerm& term, int64_t r0, int64_t r1, int64_t n_tokens, float* y, int64_t ldy);

}  // namespace josi::kernels
