// Q5_K: Q4_K plus a fifth bit per weight in qh; q in 0..31.
#include <cstring>

#include "quant/blocks.hpp"
#include "quant/scale_search.hpp"

namespace josi::quant::detail {

void quantize_q5_k(const float* x, void* out, int64_t nb, const float* importance) {
  auto* dst = static_cast<uint8_t*>(out);
  KAffineBlock fit;
  for (int64_t b = 0; b < nb; ++b) {
    fit_k_affine(x + b * kQKK, importance ? importance + b * kQKK : nullptr, 31, fit);
    BlockQ5_K blk{};
    blk.d = fit.d;
    blk.dmin = fit.dmin;
    pack_k_scales(fit.sc, fit.mn, blk.scales);
    // Chunk c: low nibbles and qh bit 2c for its first 32 weights, high
    // nibbles and bit 2c+1 for the next 32.
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const int lo = fit.q[64 * c + l], hi = fit.q[64 * c + 32 + l];
        blk.qs[32 * c + l] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
        blk.qh[l] = static_cast<uint8_t>(blk.qh[l] | ((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
      }
    }
    std::memcpy(dst + b * sizeof blk, &blk, sizeof blk);
  }
}

void dequantize_q5_k(const void* in, float* y, int64_t nb) {
  const auto* src = static_cast<const uint8_t*>(in);
  for (int64_t b = 0; b < nb; ++b) {
    BlockQ5_K blk;
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
        const int lo = (qs[l] & 15) | (((blk.qh[l] >> (2 * c)) & 1) << 4);
        const int hi = (qs[l] >> 4) | (((blk.qh[l] >> (2 * c + 1)) & 1) << 4);
        y[l] = d0 * static_cast<float>(lo) - o0;
        y[l + 32] = d1 * static_cast<float>(hi) - o1;
      }
      y += 64;
    }
  }
}

}  // namespace josi::quant::detail
