// Q5_1: 32 weights, fp16 d and m, 5-bit q laid out as Q5_0; x = d·q + m.
#include <cstring>

#include "quant/blocks.hpp"
#include "quant/scale_search.hpp"

namespace josi::quant::detail {

namespace {
// As the K-quant sub-blocks: 7 candidates spreading [min, max] over 30..32
// levels, 2 refits.
constexpr AffineSearch kSearch{-1.f, 1.f, 7, 2};
constexpr float kNmax = 31;
}  // namespace

void quantize_q5_1(const float* x, void* out, int64_t nb, const float* importance) {
  auto* dst = static_cast<uint8_t*>(out);
  for (int64_t b = 0; b < nb; ++b) {
    BlockQ5_1 blk{};
    float y[kQK], w[kQK], q[kQK];
    const float scale = prepare_block(x + b * kQK, importance ? importance + b * kQK : nullptr, kQK, y, w);
    if (scale != 0) {
      const Affine a = fit_affine<kQK>(y, w, 31, false, kSearch);
      // Round d and m to fp16 and requantize for them; then refit both for
      // those levels once more, keeping the refit only if it helps.
      blk.d = half_bits(a.scale * scale);
      blk.m = half_bits(a.offset * scale);
      float err = affine_error<kQK>(y, w, half_value(blk.d) / scale, half_value(blk.m) / scale, kNmax, q);
      float sw = 0, swq = 0, swqq = 0, swy = 0, swyq = 0;
      for (int i = 0; i < kQK; ++i) {
        sw += w[i];
        swq += w[i] * q[i];
        swqq += w[i] * q[i] * q[i];
        swy += w[i] * y[i];
        swyq += w[i] * y[i] * q[i];
      }
      const float det = sw * swqq - swq * swq;
      if (det > 0) {
        const uint16_t d2 = half_bits((sw * swyq - swy * swq) / det * scale);
        const uint16_t m2 = half_bits((swqq * swy - swq * swyq) / det * scale);
        float q2[kQK];
        const float e2 = affine_error<kQK>(y, w, half_value(d2) / scale, half_value(m2) / scale, kNmax, q2);
        if (half_value(d2) > 0 && e2 < err) {
          blk.d = d2;
          blk.m = m2;
          err = e2;
          std::memcpy(q, q2, sizeof q);
        }
      }
    } else {
      std::memset(q, 0, sizeof q);
    }
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = static_cast<int>(q[j]), hi = static_cast<int>(q[j + 16]);
      blk.qs[j] = static_cast<uint8_t>((lo & 15) | ((hi & 15) << 4));
      qh |= static_cast<uint32_t>(lo >> 4) << j;
      qh |= static_cast<uint32_t>(hi >> 4) << (j + 16);
    }
    std::memcpy(blk.qh, &qh, 4);
    std::memcpy(dst + b * sizeof blk, &blk, sizeof blk);
  }
}

void dequantize_q5_1(const void* in, float* y, int64_t nb) {
  const auto* src = static_cast<const uint8_t*>(in);
  for (int64_t b = 0; b < nb; ++b, y += kQK) {
    BlockQ5_1 blk;
    std::memcpy(&blk, src + b * sizeof blk, sizeof blk);
    uint32_t qh;
    std::memcpy(&qh, blk.qh, 4);
    const float d = half_value(blk.d), m = half_value(blk.m);
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = (blk.qs[j] & 15) | static_cast<int>(((qh >> j) & 1) << 4);
      const int hi = (blk.qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1) << 4);
      y[j] = static_cast<float>(lo) * d + m;
      y[j + 16] = static_cast<float>(hi) * d + m;
    }
  }
}

}  // namespace josi::quant::detail
