#pragma once
// A fast path's activation quantizers: one row of k floats into the 8-bit
// layouts of isa_kernels.hpp, built around the path's own one-block
// quantizer `Block(x, n, q, d, sums16)`, which returns the block's sum of q
// and fills per-16 sums when `sums16` is not null. Included only by the ISA
// files (internal linkage, like tiling.hpp).
#include <cstdint>

#include "kernels/isa_kernels.hpp"

namespace josi::kernels::detail {
namespace {

using BlockQuantizer = int (*)(const float* x, int n, int8_t* q, float& d, int16_t* sums16);

// 32-blocks: q, d, d·Σq and Σq per block (the offset terms of Q5_1 and of
// Q8_0's unsigned grouped levels).
template <BlockQuantizer Block>
void quantize_row_q8_32(const float* x, int64_t k, uint8_t* out, const ActLayout& layout) {
  auto* q = reinterpret_cast<int8_t*>(out);
  auto* d = reinterpret_cast<float*>(out + layout.d);
  auto* s = reinterpret_cast<float*>(out + layout.sums);
  auto* q_sums = reinterpret_cast<int16_t*>(out + layout.q_sums);
  for (int64_t b = 0; b < k / 32; ++b) {
    const int sum = Block(x + 32 * b, 32, q + 32 * b, d[b], nullptr);
    s[b] = d[b] * static_cast<float>(sum);
    q_sums[b] = static_cast<int16_t>(sum);
  }
}

// 256-blocks: q, d and the sums of q per 16 (the K-quants' min terms).
template <BlockQuantizer Block>
void quantize_row_q8_256(const float* x, int64_t k, uint8_t* out, const ActLayout& layout) {
  auto* q = reinterpret_cast<int8_t*>(out);
  auto* d = reinterpret_cast<float*>(out + layout.d);
  auto* bsums = reinterpret_cast<int16_t*>(out + layout.sums);
  for (int64_t b = 0; b < k / 256; ++b) Block(x + 256 * b, 256, q + 256 * b, d[b], bsums + 16 * b);
}

}  // namespace
}  // namespace josi::kernels::detail
