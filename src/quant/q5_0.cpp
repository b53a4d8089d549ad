// Q5_0: 32 weights, fp16 d, u32 qh (bit j = 5th bit of weight j), low
// nibbles as Q4_0; x = d·(q − 16).
#include <cstring>

#include "quant/blocks.hpp"
#include "quant/scale_search.hpp"

namespace josi::quant::detail {

namespace {
// As Q4_0, scaled to 32 levels.
constexpr SymSearch kSearch{16.5f, 14.f, 6, 1};
}  // namespace

void quantize_q5_0(const float* x, void* out, int64_t nb, const float* importance) {
  auto* dst = static_cast<uint8_t*>(out);
  for (int64_t b = 0; b < nb; ++b) {
    BlockQ5_0 blk{};
    float q[kQK];
    blk.d = fit_block_symmetric(x + b * kQK, importance ? importance + b * kQK : nullptr, -16, 15, kSearch, q);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = static_cast<int>(q[j]) + 16, hi = static_cast<int>(q[j + 16]) + 16;
      blk.qs[j] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
      qh |= static_cast<uint32_t>(lo >> 4) << j;
      qh |= static_cast<uint32_t>(hi >> 4) << (j + 16);
    }
    std::memcpy(blk.qh, &qh, 4);
    std::memcpy(dst + b * sizeof blk, &blk, sizeof blk);
  }
}

void dequantize_q5_0(const void* in, float* y, int64_t nb) {
  const auto* src = static_cast<const uint8_t*>(in);
  for (int64_t b = 0; b < nb; ++b, y += kQK) {
    BlockQ5_0 blk;
    std::memcpy(&blk, src + b * sizeof blk, sizeof blk);
    uint32_t qh;
    std::memcpy(&qh, blk.qh, 4);
    const float d = half_value(blk.d);
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = (blk.qs[j] & 15) | static_cast<int>(((qh >> j) & 1) << 4);
      const int hi = (blk.qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4);
      y[j] = static_cast<float>(lo - 16) * d;
      y[j + 16] = static_cast<float>(hi - 16) * d;
    }
  }
}

}  // namespace josi::quant::detail
