#pragma once
// The NEON matmul kernels and activation quantizer, written over one
// primitive, dot_i8(acc, a, b), which adds the 16 byte products a·b into
// acc's four lanes: the ARMv8.2 SDOT where the including ISA file is
// compiled with +dotprod (matmul_neon_dotprod.cpp, matmul_neon_i8mm.cpp),
// widening multiplies otherwise (matmul_neon.cpp, ARMv8.0). Everything here
// has internal linkage, so each ISA file gets its own copy compiled with
// its own flags (see isa_kernels.hpp).
//
// Every weight type is decoded to signed bytes (Q5_1, Q4_K and Q5_K levels
// are 0..31, Q6_K's −32..31), so each integer dot product is exact, as in
// the scalar path; products fit 16 bits (|w| ≤ 128, |x| ≤ 127).
#include <arm_neon.h>

#include <cstddef>
#include <cstring>

#include "kernels/activation_rows.hpp"
#include "kernels/tiling.hpp"
#include "quant/blocks.hpp"

namespace josi::kernels::detail {
namespace {

using quant::detail::BlockQ4_0;
using quant::detail::BlockQ4_K;
using quant::detail::BlockQ5_0;
using quant::detail::BlockQ5_1;
using quant::detail::BlockQ5_K;
using quant::detail::BlockQ6_K;
using quant::detail::BlockQ8_0;

#if defined(__ARM_FEATURE_DOTPROD)
int32x4_t dot_i8(int32x4_t acc, int8x16_t a, int8x16_t b) { return vdotq_s32(acc, a, b); }
#else
// SMULL multiplies 8 byte pairs into 16-bit lanes, SADALP adds neighbours
// into acc's 32-bit lanes.
int32x4_t dot_i8(int32x4_t acc, int8x16_t a, int8x16_t b) {
  acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
  return vpadalq_s16(acc, vmull_high_s8(a, b));
}
#endif

float half_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
}

int8x16_t load_s8(const void* p) { return vld1q_s8(static_cast<const int8_t*>(p)); }
uint8x16_t load_u8(const void* p) { return vld1q_u8(static_cast<const uint8_t*>(p)); }

// ---------------------------------------------------------------------------
// The activation quantizer: the scalar path's arithmetic, 4 lanes at a time
// (vcvtnq rounds to nearest even, as nearbyint does).

int quantize_block(const float* x, int n, int8_t* q, float& d, int16_t* sums16) {
  float32x4_t amax = vdupq_n_f32(0);
  for (int i = 0; i < n; i += 4) amax = vmaxq_f32(amax, vabsq_f32(vld1q_f32(x + i)));
  const float m = vmaxvq_f32(amax);
  const float32x4_t id = vdupq_n_f32(m > 0 ? 127.f / m : 0.f);
  d = m / 127.f;
  int total = 0;
  for (int i = 0; i < n; i += 16) {
    int32x4_t v[4];
    for (int p = 0; p < 4; ++p) v[p] = vcvtnq_s32_f32(vmulq_f32(vld1q_f32(x + i + 4 * p), id));
    const int sum = vaddvq_s32(vaddq_s32(vaddq_s32(v[0], v[1]), vaddq_s32(v[2], v[3])));
    if (sums16) sums16[i / 16] = static_cast<int16_t>(sum);
    total += sum;
    const int16x8_t lo = vcombine_s16(vmovn_s32(v[0]), vmovn_s32(v[1]));
    const int16x8_t hi = vcombine_s16(vmovn_s32(v[2]), vmovn_s32(v[3]));
    vst1q_s8(q + i, vcombine_s8(vmovn_s16(lo), vmovn_s16(hi)));
  }
  return total;
}

// ---------------------------------------------------------------------------
// 32-blocks: decode gives the block's 32 levels as two 16-byte vectors.

struct Levels32 {
  int8x16_t lo, hi;  // weights 0..15, 16..31
};

// 16 nibble bytes -> 32 levels: low nibbles are weights 0..15, high 16..31.
Levels32 nibbles(const uint8_t* qs) {
  const uint8x16_t q = load_u8(qs);
  return {vreinterpretq_s8_u8(vandq_u8(q, vdupq_n_u8(15))), vreinterpretq_s8_u8(vshrq_n_u8(q, 4))};
}

// 16 at byte j where bit j of `bits` is set, for 16 bits.
uint8x16_t sixteen_where_set(uint16_t bits) {
  const uint8x16_t spread = vcombine_u8(vdup_n_u8(static_cast<uint8_t>(bits)), vdup_n_u8(static_cast<uint8_t>(bits >> 8)));
  const uint8x16_t bit = vreinterpretq_u8_u64(vdupq_n_u64(0x8040201008040201ull));
  return vandq_u8(vtstq_u8(spread, bit), vdupq_n_u8(16));
}

// Q5_0/Q5_1: the nibbles with their fifth bits (the qh word) added.
Levels32 five_bit_levels(const uint8_t* qh, const uint8_t* qs) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  const Levels32 n = nibbles(qs);
  return {vorrq_s8(n.lo, vreinterpretq_s8_u8(sixteen_where_set(static_cast<uint16_t>(bits)))),
          vorrq_s8(n.hi, vreinterpretq_s8_u8(sixteen_where_set(static_cast<uint16_t>(bits >> 16))))};
}

Levels32 minus(Levels32 v, int8_t offset) {
  return {vsubq_s8(v.lo, vdupq_n_s8(offset)), vsubq_s8(v.hi, vdupq_n_s8(offset))};
}

struct Q8_0Weights {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ8_0);
  static constexpr bool kMin = false;
  static Levels32 levels(const uint8_t* blk) { return {load_s8(blk + 2), load_s8(blk + 18)}; }
};
struct Q4_0Weights {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ4_0);
  static constexpr bool kMin = false;
  static Levels32 levels(const uint8_t* blk) { return minus(nibbles(blk + 2), 8); }
};
struct Q5_0Weights {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ5_0);
  static constexpr bool kMin = false;
  static Levels32 levels(const uint8_t* blk) { return minus(five_bit_levels(blk + 2, blk + 6), 16); }
};
struct Q5_1Weights {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ5_1);
  static constexpr bool kMin = true;  // m·(dx·Σx) per block
  static Levels32 levels(const uint8_t* blk) { return five_bit_levels(blk + 4, blk + 8); }
};

// Σ over blocks of d·dx·Σ q·x, plus for Q5_1 m·s per block.
template <class W>
struct Blocks32 {
  static constexpr int kGemvRows = 1, kGemmRows = 1, kGemmTokens = 4;

  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    const uint8_t* w[R];
    for (int i = 0; i < R; ++i) w[i] = weight_row(a, r + i);
    Q8Token x[T];
    for (int j = 0; j < T; ++j) x[j] = q8_token(a, t + j);
    float32x4_t acc[R][T];
    float min_sum[R][T] = {};
    for (auto& row : acc)
      for (auto& v : row) v = vdupq_n_f32(0);
    for (int64_t b = 0; b < a.k / 32; ++b) {
      for (int i = 0; i < R; ++i) {
        const uint8_t* blk = w[i] + b * W::kBlockBytes;
        const Levels32 q = W::levels(blk);
        const float dw = half_at(blk);
        for (int j = 0; j < T; ++j) {
          const int8_t* xq = x[j].q + 32 * b;
          const int32x4_t dot = dot_i8(dot_i8(vdupq_n_s32(0), q.lo, vld1q_s8(xq)), q.hi, vld1q_s8(xq + 16));
          acc[i][j] = vfmaq_n_f32(acc[i][j], vcvtq_f32_s32(dot), dw * x[j].d[b]);
          if constexpr (W::kMin) min_sum[i][j] += half_at(blk + 2) * x[j].s[b];
        }
      }
    }
    for (int j = 0; j < T; ++j)
      for (int i = 0; i < R; ++i) a.y[(t + j) * a.ldy + r + i] = vaddvq_f32(acc[i][j]) + min_sum[i][j];
  }
};

// ---------------------------------------------------------------------------
// K-quants.

// Sub-block j's 6-bit scale and min from the 12 packed bytes (ggml's Q4_K/Q5_K layout):
// j < 4 in the low six bits of bytes j and j+4; j ≥ 4 in the nibbles of
// byte j+4 with the top two bits of bytes j−4 and j.
void k_scale_min(const uint8_t* s, int j, int& scale, int& min) {
  if (j < 4) {
    scale = s[j] & 63;
    min = s[j + 4] & 63;
  } else {
    scale = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
    min = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// A Q4_K or Q5_K block, unpacked once for every token it meets: its
// sub-block scales and mins, and its levels 16 bytes at a time.
template <bool kFifthBit>
struct KAffineBlock {
  static constexpr int64_t kBytes = kFifthBit ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  static constexpr int64_t kQs = kFifthBit ? offsetof(BlockQ5_K, qs) : offsetof(BlockQ4_K, qs);

  const uint8_t* blk;
  int scale[8], min[8];
  float d, dmin;
  uint8x16_t qh[2];

  explicit KAffineBlock(const uint8_t* block) : blk(block), d(half_at(block)), dmin(half_at(block + 2)) {
    for (int s = 0; s < 8; ++s) k_scale_min(blk + 4, s, scale[s], min[s]);
    if constexpr (kFifthBit) {
      qh[0] = load_u8(blk + offsetof(BlockQ5_K, qh));
      qh[1] = load_u8(blk + offsetof(BlockQ5_K, qh) + 16);
    }
  }

  // Chunk c (32 bytes) in halves of 16: the low nibbles are sub-block 2c's
  // levels 16·half.., the high nibbles sub-block 2c + 1's, with Q5_K's fifth
  // bits (bit 2c resp. 2c + 1 of the qh bytes) added.
  void levels(int c, int half, int8x16_t& lo, int8x16_t& hi) const {
    const uint8x16_t qs = load_u8(blk + kQs + 32 * c + 16 * half);
    uint8x16_t l = vandq_u8(qs, vdupq_n_u8(15)), h = vshrq_n_u8(qs, 4);
    if constexpr (kFifthBit) {
      const uint8x16_t one = vdupq_n_u8(1);
      l = vorrq_u8(l, vshlq_n_u8(vandq_u8(vshlq_u8(qh[half], vdupq_n_s8(static_cast<int8_t>(-2 * c))), one), 4));
      h = vorrq_u8(h, vshlq_n_u8(vandq_u8(vshlq_u8(qh[half], vdupq_n_s8(static_cast<int8_t>(-2 * c - 1))), one), 4));
    }
    lo = vreinterpretq_s8_u8(l);
    hi = vreinterpretq_s8_u8(h);
  }

  // Σ_j m_j·(Σq of sub-block j), from a token's sums per 16.
  int mins_dot(const int16_t* bsums) const {
    int mins = 0;
    for (int s = 0; s < 8; ++s) mins += min[s] * (bsums[2 * s] + bsums[2 * s + 1]);
    return mins;
  }
};

// Q4_K and Q5_K: per sub-block j, sc_j·Σ q·x, summed; then
// d·dx·Σ − dmin·dx·Σ_j m_j·bsum_j.
template <bool kFifthBit>
struct KAffine {
  using Block = KAffineBlock<kFifthBit>;
  static constexpr int kGemvRows = 1, kGemmRows = 1, kGemmTokens = 4;

  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    const uint8_t* w[R];
    for (int i = 0; i < R; ++i) w[i] = weight_row(a, r + i);
    Q8Token x[T];
    for (int j = 0; j < T; ++j) x[j] = q8_token(a, t + j);
    float32x4_t acc[R][T];
    float min_sum[R][T] = {};
    for (auto& row : acc)
      for (auto& v : row) v = vdupq_n_f32(0);

    for (int64_t b = 0; b < a.k / 256; ++b) {
      for (int i = 0; i < R; ++i) {
        const Block blk(w[i] + b * Block::kBytes);
        int32x4_t sum[T];
        for (int j = 0; j < T; ++j) sum[j] = vdupq_n_s32(0);
        for (int c = 0; c < 4; ++c) {
          for (int half = 0; half < 2; ++half) {
            int8x16_t lo, hi;
            blk.levels(c, half, lo, hi);
            for (int j = 0; j < T; ++j) {
              const int8_t* xq = x[j].q + 256 * b + 64 * c + 16 * half;
              const int32x4_t dlo = dot_i8(vdupq_n_s32(0), lo, vld1q_s8(xq));
              const int32x4_t dhi = dot_i8(vdupq_n_s32(0), hi, vld1q_s8(xq + 32));
              sum[j] = vmlaq_n_s32(vmlaq_n_s32(sum[j], dlo, blk.scale[2 * c]), dhi, blk.scale[2 * c + 1]);
            }
          }
        }
        for (int j = 0; j < T; ++j) {
          const float dx = x[j].d[b];
          acc[i][j] = vfmaq_n_f32(acc[i][j], vcvtq_f32_s32(sum[j]), blk.d * dx);
          min_sum[i][j] += blk.dmin * dx * static_cast<float>(blk.mins_dot(x[j].bsums + 16 * b));
        }
      }
    }
    for (int j = 0; j < T; ++j)
      for (int i = 0; i < R; ++i) a.y[(t + j) * a.ldy + r + i] = vaddvq_f32(acc[i][j]) - min_sum[i][j];
  }
};

// A Q6_K block's levels, 16 lanes l at a time: in half h, part p, group g
// holds weights 128h + 32g + 16p + l, low nibble from ql (groups 0, 1: the
// low nibbles of the two 32-byte rows; 2, 3: the high ones), top bits 2g of
// qh byte 32h + 16p + l; each group of 16 weights has its own scale.
struct Q6KBlock {
  static constexpr int64_t kBytes = sizeof(BlockQ6_K);

  const uint8_t* blk;
  const int8_t* scales;
  float d;

  explicit Q6KBlock(const uint8_t* block)
      : blk(block),
        scales(reinterpret_cast<const int8_t*>(block + offsetof(BlockQ6_K, scales))),
        d(half_at(block + offsetof(BlockQ6_K, d))) {}

  static int first(int h, int part, int g) { return 128 * h + 32 * g + 16 * part; }

  void levels(int h, int part, int8x16_t q[4]) const {
    const uint8x16_t low4 = vdupq_n_u8(15), low2 = vdupq_n_u8(3);
    const uint8_t* ql = blk + offsetof(BlockQ6_K, ql) + 64 * h + 16 * part;
    const uint8x16_t ql0 = load_u8(ql), ql1 = load_u8(ql + 32);
    const uint8x16_t qh = load_u8(blk + offsetof(BlockQ6_K, qh) + 32 * h + 16 * part);
    const uint8x16_t low[4] = {vandq_u8(ql0, low4), vandq_u8(ql1, low4), vshrq_n_u8(ql0, 4), vshrq_n_u8(ql1, 4)};
    const uint8x16_t top[4] = {vshlq_n_u8(vandq_u8(qh, low2), 4), vshlq_n_u8(vandq_u8(vshrq_n_u8(qh, 2), low2), 4),
                               vshlq_n_u8(vandq_u8(vshrq_n_u8(qh, 4), low2), 4), vshlq_n_u8(vshrq_n_u8(qh, 6), 4)};
    for (int g = 0; g < 4; ++g) q[g] = vsubq_s8(vreinterpretq_s8_u8(vorrq_u8(low[g], top[g])), vdupq_n_s8(32));
  }
};

// Q6_K: d·dx·Σ_j scale_j·Σ (q − 32)·x over the 16 groups j of 16 weights.
struct Q6K {
  static constexpr int kGemvRows = 1, kGemmRows = 1, kGemmTokens = 4;

  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    const uint8_t* w[R];
    for (int i = 0; i < R; ++i) w[i] = weight_row(a, r + i);
    Q8Token x[T];
    for (int j = 0; j < T; ++j) x[j] = q8_token(a, t + j);
    float32x4_t acc[R][T];
    for (auto& row : acc)
      for (auto& v : row) v = vdupq_n_f32(0);

    for (int64_t b = 0; b < a.k / 256; ++b) {
      for (int i = 0; i < R; ++i) {
        const Q6KBlock blk(w[i] + b * Q6KBlock::kBytes);
        int32x4_t sum[T];
        for (int j = 0; j < T; ++j) sum[j] = vdupq_n_s32(0);
        for (int h = 0; h < 2; ++h) {
          for (int part = 0; part < 2; ++part) {
            int8x16_t q[4];
            blk.levels(h, part, q);
            for (int g = 0; g < 4; ++g) {
              const int first = Q6KBlock::first(h, part, g);
              for (int j = 0; j < T; ++j) {
                const int32x4_t dot = dot_i8(vdupq_n_s32(0), q[g], vld1q_s8(x[j].q + 256 * b + first));
                sum[j] = vmlaq_n_s32(sum[j], dot, blk.scales[first / 16]);
              }
            }
          }
        }
        for (int j = 0; j < T; ++j) acc[i][j] = vfmaq_n_f32(acc[i][j], vcvtq_f32_s32(sum[j]), blk.d * x[j].d[b]);
      }
    }
    for (int j = 0; j < T; ++j)
      for (int i = 0; i < R; ++i) a.y[(t + j) * a.ldy + r + i] = vaddvq_f32(acc[i][j]);
  }
};

// ---------------------------------------------------------------------------
// Float weights against float activations, 4 at a time, the tail through a
// zero-padded buffer.

struct F32Weights {
  static float32x4_t load(const uint8_t* row, int64_t i) { return vld1q_f32(reinterpret_cast<const float*>(row) + i); }
  static constexpr size_t kBytes = 4;
};
struct F16Weights {
  static float32x4_t load(const uint8_t* row, int64_t i) {
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(reinterpret_cast<const uint16_t*>(row) + i)));
  }
  static constexpr size_t kBytes = 2;
};
struct BF16Weights {
  static float32x4_t load(const uint8_t* row, int64_t i) {
    return vreinterpretq_f32_u32(vshll_n_u16(vld1_u16(reinterpret_cast<const uint16_t*>(row) + i), 16));
  }
  static constexpr size_t kBytes = 2;
};

template <class W>
struct FloatRows {
  static constexpr int kGemvRows = 4, kGemmRows = 2, kGemmTokens = 4;

  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    const uint8_t* w[R];
    for (int i = 0; i < R; ++i) w[i] = weight_row(a, r + i);
    const float* x[T];
    for (int j = 0; j < T; ++j) x[j] = f32_token(a, t + j);
    float32x4_t acc[R][T];
    for (auto& row : acc)
      for (auto& v : row) v = vdupq_n_f32(0);
    const auto step = [&](const uint8_t* const* wp, const float* const* xp, int64_t i0) {
      float32x4_t xv[T];
      for (int j = 0; j < T; ++j) xv[j] = vld1q_f32(xp[j] + i0);
      for (int i = 0; i < R; ++i) {
        const float32x4_t wv = W::load(wp[i], i0);
        for (int j = 0; j < T; ++j) acc[i][j] = vfmaq_f32(acc[i][j], wv, xv[j]);
      }
    };
    const int64_t whole = a.k / 4 * 4;
    for (int64_t i0 = 0; i0 < whole; i0 += 4) step(w, x, i0);
    if (whole < a.k) {
      const size_t left = static_cast<size_t>(a.k - whole);
      alignas(16) uint8_t wbuf[R][16] = {};
      alignas(16) float xbuf[T][4] = {};
      const uint8_t* wp[R];
      const float* xp[T];
      for (int i = 0; i < R; ++i) {
        std::memcpy(wbuf[i], w[i] + static_cast<size_t>(whole) * W::kBytes, left * W::kBytes);
        wp[i] = wbuf[i];
      }
      for (int j = 0; j < T; ++j) {
        std::memcpy(xbuf[j], x[j] + whole, left * sizeof(float));
        xp[j] = xbuf[j];
      }
      step(wp, xp, 0);
    }
    for (int j = 0; j < T; ++j)
      for (int i = 0; i < R; ++i) a.y[(t + j) * a.ldy + r + i] = vaddvq_f32(acc[i][j]);
  }
};

// The kernel table of the including ISA file.
const MatmulKernels kNeonKernels{quantize_row_q8_32<quantize_block>,
                                 quantize_row_q8_256<quantize_block>,
                                 gemm_tiled<FloatRows<F32Weights>>,
                                 gemm_tiled<FloatRows<F16Weights>>,
                                 gemm_tiled<FloatRows<BF16Weights>>,
                                 gemm_tiled<Blocks32<Q8_0Weights>>,
                                 gemm_tiled<Blocks32<Q4_0Weights>>,
                                 gemm_tiled<Blocks32<Q5_0Weights>>,
                                 gemm_tiled<Blocks32<Q5_1Weights>>,
                                 gemm_tiled<KAffine<false>>,
                                 gemm_tiled<KAffine<true>>,
                                 gemm_tiled<Q6K>,
                                 nullptr, nullptr, nullptr};

}  // namespace
}  // namespace josi::kernels::detail
