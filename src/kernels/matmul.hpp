#pragma once
// Matrix products of a GGUF weight matrix with float activations, the
// engine's one heavy operation. Activations are quantized on the fly to 8-bit
// blocks so that quantized weights meet them in integer dot products; float
// weights (F32/F16/BF16) meet float activations. Work is split over the
// shared thread pool.
#include <cstdint>
#include <vector>

#include "base/thread_pool.hpp"
#include "formats/ggml_type.hpp"
#include "kernels/vector_ops.hpp"

namespace josi::kernels {

// F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K.
bool can_matmul(formats::GgmlType type);

// How a weight matrix's bytes are arranged: as the file stores them, row
// after row, or (row_groups) Q4_K and Q6_K rows in groups of 16 for the
// AVX-512 path (kernels/row_groups.hpp), which reads those at memory speed
// where the row layout kept it computing. Every path multiplies every layout.
enum class WeightLayout { rows, row_groups };

// The layout the active path multiplies fastest for a rows × k matrix of `type`.
WeightLayout best_layout(formats::GgmlType type, int64_t rows, int64_t k);
// Bytes of the matrix in `layout`.
uint64_t layout_bytes(WeightLayout layout, formats::GgmlType type, int64_t rows, int64_t k);
// The row-layout matrix `w` rearranged into `layout` at `out` (layout_bytes).
void arrange_weights(WeightLayout layout, formats::GgmlType type, const void* w, int64_t rows, int64_t k, uint8_t* out);

// Buffers reused across calls so the hot loop never allocates.
struct MatmulScratch {
  std::vector<uint8_t> activations;
  std::vector<float> partial_sums;
};

// A low-rank term a product adds to its rows: y[t * ldy + r] += sum_j
// B[r][j] * u[t * ldu + j], with B (`rows` × `rank`, F32 or F16) in panels of
// kLowRankPanel rows: panel p holds, for each j, the panel's rows of column j
// (B[p * 16 + i][j] at bt[(p * rank + j) * 16 + i]), the last panel padded
// with zeros (vector_ops.hpp's add_panels_f16). A task's rows are then one
// contiguous read, added in registers instead of one short dot product per
// row. A LoRA adapter's second factor (u = scale · A·x) rides on its base
// projection this way, computed in the same tasks as the rows it adds to, so
// an adapter adds no synchronisation of its own to the product.
struct LowRankTerm {
  formats::GgmlType type = formats::GgmlType::F32;
  const void* bt = nullptr;
  int64_t rank = 0;
  const float* u = nullptr;
  int64_t ldu = 0;
};

// y[t * ldy + r] = sum_i W[r][i] * x[t * k + i]  for r < rows, t < n_tokens,
// plus `term` when one is given.
// W is `rows` contiguous rows of `k` weights of `type` (ggml_row_bytes(type, k)
// bytes each), or arranged in `layout`. Uses active_isa(). Throws
// josi::Error for a type it cannot multiply, a k that is not a multiple of
// the type's block size, or a layout that does not fit the type and shape.
void matmul(base::ThreadPool& pool, formats::GgmlType type, const void* w, int64_t rows, int64_t k, const float* x,
            int64_t n_tokens, float* y, int64_t ldy, MatmulScratch& scratch, WeightLayout layout = WeightLayout::rows,
            const LowRankTerm* term = nullptr);

// y = W·x, as matmul, for a float (F32, F16, BF16) matrix of few long rows:
// an adapter's stacked A factor, 16 to 48 rows of 1536 to 8960 weights,
// where tasks of kRowBlock rows would leave threads idle. The columns are
// split too, into slices of kColumnSlice columns (a multiple of every float
// kernel's vector width; the last slice narrower) whose partial sums are
// added in order, so the result does not depend on the number of threads.
// W is in column slices (to_column_slices): each task's weights are then
// one contiguous read.
constexpr int64_t kColumnSlice = 512;
void matmul_split_columns(base::ThreadPool& pool, formats::GgmlType type, const void* w_slices, int64_t rows, int64_t k,
                          const float* x, int64_t n_tokens, float* y, int64_t ldy, MatmulScratch& scratch);

// `rows` contiguous rows of `k` values of `value_bytes` bytes each, as
// matmul_split_columns reads them: slice after slice, each slice's rows
// (its kColumnSlice values of each, fewer in the last slice) one after the other.
std::vector<uint8_t> to_column_slices(const uint8_t* w, size_t value_bytes, int64_t rows, int64_t k);

}  // namespace josi::kernels
