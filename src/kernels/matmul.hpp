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

namespace josi::kernels {

// F32, F16, BF16, Q8_0, Q4_0, Q5_0, Q5_1, Q4_K, Q5_K, Q6_K.
bool can_matmul(formats::GgmlType type);

// Buffers reused across calls so the hot loop never allocates.
struct MatmulScratch {
  std::vector<uint8_t> activations;
};

// y[t * ldy + r] = sum_i W[r][i] * x[t * k + i]  for r < rows, t < n_tokens.
// W is `rows` contiguous rows of `k` weights of `type` (ggml_row_bytes(type, k)
// bytes each). Uses active_isa(). Throws josi::Error for a type it cannot
// multiply or a k that is not a multiple of the type's block size.
void matmul(base::ThreadPool& pool, formats::GgmlType type, const void* w, int64_t rows, int64_t k, const float* x,
            int64_t n_tokens, float* y, int64_t ldy, MatmulScratch& scratch);

}  // namespace josi::kernels
