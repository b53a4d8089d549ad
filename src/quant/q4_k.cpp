// Q4_K: super-blocks of 256 = eight sub-blocks of 32 with 6-bit scales and
// mins; x = d·sc·q − dmin·m, q in 0..15.
#include <cstring>

#include "quant/blocks.hpp"
#include "quant/scale_search.hpp"

namespace josi::quant::detail {

void quantize_q4_k(const float* x, void* out, int64_t nb, const float* importance) {
  auto* dst = static_cast<uint8_t*>(out);
  KAffineBlock fit;
  for (int64_t b = 0; b < nb; ++b) {
    fit_k_affine(x + b * kQKK, importance ? importance + b * kQKK : nullptr, 15, fit);
    BlockQ4_K blk{};
    blk.d = fit.d;
    blk.dmin = fit.dmin;
    pack_k_scales(fit.sc, fit.mn, blk.scales);
    // Chunk c of 64 weights: sub-block 2c in the low nibbles, 2c+1 in the high.
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l)
        blk.qs[32 * c + l] = static_cast<uint8_t>(fit.q[64 * c + l] | (fit.q[64 * c + 32 + l] << 4));
    std::memcpy(dst + b * sizeof blk, &blk, sizeof blk);
  }
}

void dequantize_q4_k(const void* in, float* y, int64_t nb) {
  const auto* src = static_cast<const uint8_t*>(in);
  for (int64_t b = 0; b < nb; ++b) {
    BlockQ4_K blk;
    std::memcpy(&blk, src + b * sizeof blk, sizeof blk);
    const float d = half_value(blk.d), dmin = half_value(blk.dmin);
    for (int c = 0; c < 4; ++c) {
      int sc0, m0, sc1, m1;
      unpack_k_scale(blk.scales, 2 * c, sc0, m0);
      unpack_k_scale(blk.scales, 2 * c + 1, sc1, m1);
      const float d0 = d * static_cast<float>(sc0), o0 = dmin * static_cast<float>(m0);
      const float d1 = d * static_cast<float>(sc1), o1 = dmin * static_cast<float>(m1);
      const uint8_t* qs = blk.qs + 32 * c;
      for (int l = 0; l < 32; ++l) {
        y[l] = d0 * static_cast<float>(qs[l] & 15) - o0;
        y[l + 32] = d1 * static_cast<float>(qs[l] >> 4) - o1;
      }
      y += 64;
    }
  }
}

}  // namespace josi::quant::detail
