#pragma once
// Matrix products of a GGUF weight matrix with float activations, the
// engine's one heavy operation. Activations are quantized on the fly to 8-bit
// blocks so that quantized weights meet them in integer dot products; float
// weights (F32/F16/BF16) meet float activations. Work is split over the
// shared thread pool.
#include <cstdint>
#include <functional>
#include <vector>

#include "base/thread_pool.hpp"
#include "formats/ggml_type.hpp"
#include "kernels/low_rank.hpp"

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
};

// Work on a product's rows [r0, r1) of every token, run by the task that has
// just written them (low-rank term included) while they are in cache: a
// residual add, an activation, a slice of the next product's input. Called
// once per block of kRowsDoneBlock rows (r0 a multiple of it, the last
// block shorter), so what it does by block does not depend on the threads.
using RowsDone = std::function<void(int64_t r0, int64_t r1)>;
constexpr int64_t kRowsDoneBlock = 64;

// y[t * ldy + r] = sum_i W[r][i] * x[t * k + i]  for r < rows, t < n_tokens,
// plus `term` when one is given, then `rows_done` on each block of rows.
// W is `rows` contiguous rows of `k` weights of `type` (ggml_row_bytes(type, k)
// bytes each), or arranged in `layout`. Uses active_isa(). Throws
// josi::Error for a type it cannot multiply, a k that is not a multiple of
// the type's block size, or a layout that does not fit the type and shape.
void matmul(base::ThreadPool& pool, formats::GgmlType type, const void* w, int64_t rows, int64_t k, const float* x,
            int64_t n_tokens, float* y, int64_t ldy, MatmulScratch& scratch, WeightLayout layout = WeightLayout::rows,
            const LowRankTerm* term = nullptr, const RowsDone* rows_done = nullptr);

}  // namespace josi::kernels
