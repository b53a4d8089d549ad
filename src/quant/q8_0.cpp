// Q8_0: 32 weights, fp16 d, int8 q; x = d·q.
#include <cstring>

#include "quant/blocks.hpp"
#include "quant/scale_search.hpp"

namespace josi::quant::detail {

namespace {
// Levels are ±127 (llama.cpp writes that range; -128 would break symmetric
// kernels that negate q). With 255 levels the rounding noise dominates, so a
// few candidates near the max and one refit are enough.
constexpr SymSearch kSearch{127.f, 123.f, 5, 1};
}  // namespace

void quantize_q8_0(const float* x, void* out, int64_t nb, const float* importance) {
  auto* dst = static_cast<uint8_t*>(out);
  for (int64_t b = 0; b < nb; ++b) {
    BlockQ8_0 blk{};
    float q[kQK];
    blk.d = fit_block_symmetric(x + b * kQK, importance ? importance + b * kQK : nullptr, -127, 127, kSearch, q);
    for (int i = 0; i < kQK; ++i) blk.qs[i] = static_cast<int8_t>(q[i]);
    std::memcpy(dst + b * sizeof blk, &blk, sizeof blk);
  }
}

void dequantize_q8_0(const void* in, float* y, int64_t nb) {
  const auto* src = static_cast<const uint8_t*>(in);
  for (int64_t b = 0; b < nb; ++b, y += kQK) {
    BlockQ8_0 blk;
    std::memcpy(&blk, src + b * sizeof blk, sizeof blk);
    const float d = half_value(blk.d);
    for (int i = 0; i < kQK; ++i) y[i] = static_cast<float>(blk.qs[i]) * d;
  }
}

}  // namespace josi::quant::detail
