// Q6_K: super-blocks of 256 = sixteen sub-blocks of 16 with int8 scales and
// one fp16 d; x = d·scale·(q − 32), q in 0..63.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "quant/blocks.hpp"
#include "quant/scale_search.hpp"

namespace josi::quant::detail {

namespace {

// The largest |x| of a 16-weight sub-block maps to level -32 .. -28, whole
// levels only: with x²-weighting, putting the largest weight exactly on a
// level beat fractional candidates (1.69% vs 1.74% relative RMS, Gaussian).
constexpr SymSearch kSearch{32.f, 28.f, 5, 1};
constexpr float kQmin = -32, kQmax = 31;

struct Q6State {
  const float* y;
  const float* w;
  float s[16];   // continuous sub-block scales (y units, signed)
  int8_t sc[16];
  float q[256];  // levels -32..31
};

// For a fixed super-block d (y units), picks each sub-block's int8 scale
// among floor/ceil of s/d, requantizing for each; returns the total error.
float choose_scales(Q6State& st, float dy) {
  float total = 0;
  for (int j = 0; j < 16; ++j) {
    const float f = std::clamp(st.s[j] / dy, -128.f, 127.f);
    const int c0 = static_cast<int>(std::floor(f)), c1 = std::min(c0 + 1, 127);
    float best = -1;
    for (int c = c0; c <= c1; ++c) {
      float tmp[16];
      const float e = sym_error<16>(st.y + 16 * j, st.w + 16 * j, dy * static_cast<float>(c), kQmin, kQmax, tmp);
      if (best < 0 || e < best) {
        best = e;
        st.sc[j] = static_cast<int8_t>(c);
        std::memcpy(st.q + 16 * j, tmp, sizeof tmp);
      }
    }
    total += best;
  }
  return total;
}

struct Q6Fit {
  uint16_t d = 0;
  int8_t sc[16] = {};
  int8_t q[256] = {};  // levels -32..31
};

void keep(const Q6State& st, uint16_t dh, Q6Fit& out) {
  out.d = dh;
  std::memcpy(out.sc, st.sc, sizeof out.sc);
  for (int i = 0; i < 256; ++i) out.q[i] = static_cast<int8_t>(st.q[i]);
}

void fit_q6_k(const float* x, const float* importance, Q6Fit& out) {
  float y[256], w[256];
  const float scale = prepare_block(x, importance, 256, y, w);
  Q6State st;
  st.y = y;
  st.w = w;
  float smax = 0;
  if (scale != 0) {
    for (int j = 0; j < 16; ++j) {
      st.s[j] = fit_symmetric<16>(y + 16 * j, w + 16 * j, -32, 31, kSearch);
      if (std::fabs(st.s[j]) > std::fabs(smax)) smax = st.s[j];
    }
  }
  // The largest sub-block scale maps to -128, the extra negative level.
  const uint16_t dh = half_bits(-smax / 128 * scale);
  if (half_value(dh) == 0) {  // zero block, or too small for an fp16 d
    out = Q6Fit{};
    return;
  }
  const float err = choose_scales(st, half_value(dh) / scale);
  keep(st, dh, out);
  // One refit of d for the chosen integer scales and levels (x ≈ d·A with
  // A = sc·q is linear in d), scales re-picked for it, kept if better. The
  // gain is small (0.01%) but so is the cost.
  double say = 0, saa = 0;
  for (int j = 0; j < 16; ++j) {
    const float c = static_cast<float>(st.sc[j]);
    float ay = 0, aa = 0;
    for (int i = 16 * j; i < 16 * j + 16; ++i) {
      const float a = c * st.q[i];
      ay += w[i] * a * y[i];
      aa += w[i] * a * a;
    }
    say += ay;
    saa += aa;
  }
  if (!(saa > 0)) return;
  const uint16_t ndh = half_bits(static_cast<float>(say / saa * scale));
  if (ndh != dh && half_value(ndh) != 0 && choose_scales(st, half_value(ndh) / scale) < err) keep(st, ndh, out);
}

}  // namespace

void quantize_q6_k(const float* x, void* out, int64_t nb, const float* importance) {
  auto* dst = static_cast<uint8_t*>(out);
  Q6Fit fit;
  for (int64_t b = 0; b < nb; ++b) {
    fit_q6_k(x + b * kQKK, importance ? importance + b * kQKK : nullptr, fit);
    BlockQ6_K blk{};
    blk.d = fit.d;
    std::memcpy(blk.scales, fit.sc, sizeof blk.scales);
    // Half h, l in 0..31: weights l, l+32, l+64, l+96 share ql[l], ql[l+32]
    // (low nibbles: first two; high nibbles: last two) and qh[l] (2 bits each).
    for (int h = 0; h < 2; ++h) {
      const int8_t* q = fit.q + 128 * h;
      uint8_t* ql = blk.ql + 64 * h;
      uint8_t* qh = blk.qh + 32 * h;
      for (int l = 0; l < 32; ++l) {
        const int q0 = q[l] + 32, q1 = q[l + 32] + 32, q2 = q[l + 64] + 32, q3 = q[l + 96] + 32;
        ql[l] = static_cast<uint8_t>((q0 & 15) | ((q2 & 15) << 4));
        ql[l + 32] = static_cast<uint8_t>((q1 & 15) | ((q3 & 15) << 4));
        qh[l] = static_cast<uint8_t>((q0 >> 4) | ((q1 >> 4) << 2) | ((q2 >> 4) << 4) | ((q3 >> 4) << 6));
      }
    }
    std::memcpy(dst + b * sizeof blk, &blk, sizeof blk);
  }
}

void dequantize_q6_k(const void* in, float* y, int64_t nb) {
  const auto* src = static_cast<const uint8_t*>(in);
  for (int64_t b = 0; b < nb; ++b) {
    BlockQ6_K blk;
    std::memcpy(&blk, src + b * sizeof blk, sizeof blk);
    const float d = half_value(blk.d);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* ql = blk.ql + 64 * h;
      const uint8_t* qh = blk.qh + 32 * h;
      const int8_t* sc = blk.scales + 8 * h;
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q0 = ((ql[l] & 15) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q1 = ((ql[l + 32] & 15) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q2 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q3 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * static_cast<float>(sc[is + 0]) * static_cast<float>(q0);
        y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q1);
        y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q2);
        y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q3);
      }
      y += 128;
    }
  }
}

}  // namespace josi::quant::detail
