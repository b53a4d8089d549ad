// The ARMv8.6 int8 matrix-multiply path (+i8mm, SMMLA) for the block
// types: each SMMLA multiplies two weight rows by two tokens over 8 bytes,
// four exact dot products in one instruction, twice the multiply-adds of an
// SDOT. One token (generation) is paired with itself: half the lanes are
// wasted, which leaves as many useful multiply-adds per instruction as SDOT,
// and keeps every output's arithmetic the same whatever the batch (the
// engine's logits for a token do not depend on what was evaluated with it,
// which exact speculation relies on). Float weights keep neon_gemm.hpp's
// kernels. Compiled with its own -march flag (CMakeLists.txt).
#include "kernels/isa_kernels.hpp"

#if defined(__aarch64__)

#include "kernels/neon_gemm.hpp"

namespace josi::kernels::detail {
namespace {

// Two rows' 16 bytes as SMMLA's operands: each holds 8 bytes of one row
// followed by the same 8 bytes of the other.
struct RowPair {
  int8x16_t first, second;  // bytes 0..7 of both rows, bytes 8..15 of both
  RowPair(int8x16_t a, int8x16_t b)
      : first(vreinterpretq_s8_s64(vzip1q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b)))),
        second(vreinterpretq_s8_s64(vzip2q_s64(vreinterpretq_s64_s8(a), vreinterpretq_s64_s8(b)))) {}
};

// acc += the four 16-byte dot products of weight rows (w0, w1) and tokens
// (x0, x1), in the lanes (w0·x0, w0·x1, w1·x0, w1·x1).
int32x4_t mmla16(int32x4_t acc, const RowPair& w, const int8_t* x0, const int8_t* x1) {
  const RowPair x(vld1q_s8(x0), vld1q_s8(x1));
  return vmmlaq_s32(vmmlaq_s32(acc, w.first, x.first), w.second, x.second);
}

// A per-row value in the lanes of its row: (a, a, b, b).
int32x4_t per_row(int a, int b) { return vcombine_s32(vdup_n_s32(a), vdup_n_s32(b)); }

// A tile's rows and tokens in pairs, an odd count's last paired with itself
// (the duplicate's lanes are never stored). Each lane's sum depends only on
// its row and token, never on its partner.
template <int R, int T>
struct PairTile {
  static constexpr int P = (R + 1) / 2, Q = (T + 1) / 2;
  const uint8_t* w[2 * P];
  Q8Token x[2 * Q];
  float32x4_t acc[P][Q];  // row pair p, token pair q, lanes as mmla16's
  float min_sum[R][T] = {};

  PairTile(const GemmArgs& a, int64_t r, int64_t t) {
    for (int i = 0; i < 2 * P; ++i) w[i] = weight_row(a, r + (i < R ? i : R - 1));
    for (int j = 0; j < 2 * Q; ++j) x[j] = q8_token(a, t + (j < T ? j : T - 1));
    for (auto& row : acc)
      for (auto& v : row) v = vdupq_n_f32(0);
  }

  // acc[p][q] += dot · (dw0, dw1) ⊗ (token pair q's scales of block b).
  void add(int p, int q, int32x4_t dot, float dw0, float dw1, int64_t b) {
    const float32x2_t dx = {x[2 * q].d[b], x[2 * q + 1].d[b]};
    const float32x4_t scale = vmulq_f32(vcombine_f32(vdup_n_f32(dw0), vdup_n_f32(dw1)), vcombine_f32(dx, dx));
    acc[p][q] = vfmaq_f32(acc[p][q], vcvtq_f32_s32(dot), scale);
  }

  void store(const GemmArgs& a, int64_t r, int64_t t) const {
    for (int p = 0; p < P; ++p)
      for (int q = 0; q < Q; ++q) {
        float lanes[4];
        vst1q_f32(lanes, acc[p][q]);
        for (int lane = 0; lane < 4; ++lane) {
          const int i = 2 * p + lane / 2, j = 2 * q + lane % 2;
          if (i < R && j < T) a.y[(t + j) * a.ldy + r + i] = lanes[lane] + min_sum[i][j];
        }
      }
  }
};

template <class W>
struct Blocks32Mmla {
  static constexpr int kGemvRows = 2, kGemmRows = 2, kGemmTokens = 4;

  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    PairTile<R, T> tile(a, r, t);
    for (int64_t b = 0; b < a.k / 32; ++b) {
      for (int p = 0; p < tile.P; ++p) {
        const uint8_t* blk0 = tile.w[2 * p] + b * W::kBlockBytes;
        const uint8_t* blk1 = tile.w[2 * p + 1] + b * W::kBlockBytes;
        const Levels32 q0 = W::levels(blk0), q1 = W::levels(blk1);
        const RowPair lo(q0.lo, q1.lo), hi(q0.hi, q1.hi);
        for (int q = 0; q < tile.Q; ++q) {
          const int8_t* x0 = tile.x[2 * q].q + 32 * b;
          const int8_t* x1 = tile.x[2 * q + 1].q + 32 * b;
          const int32x4_t dot = mmla16(mmla16(vdupq_n_s32(0), lo, x0, x1), hi, x0 + 16, x1 + 16);
          tile.add(p, q, dot, half_at(blk0), half_at(blk1), b);
        }
      }
      if constexpr (W::kMin)
        for (int i = 0; i < R; ++i)
          for (int j = 0; j < T; ++j) tile.min_sum[i][j] += half_at(tile.w[i] + b * W::kBlockBytes + 2) * tile.x[j].s[b];
    }
    tile.store(a, r, t);
  }
};

template <bool kFifthBit>
struct KAffineMmla {
  using Block = KAffineBlock<kFifthBit>;
  static constexpr int kGemvRows = 2, kGemmRows = 2, kGemmTokens = 4;

  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    PairTile<R, T> tile(a, r, t);
    constexpr int Q = PairTile<R, T>::Q;
    for (int64_t b = 0; b < a.k / 256; ++b) {
      for (int p = 0; p < tile.P; ++p) {
        const Block blk[2] = {Block(tile.w[2 * p] + b * Block::kBytes), Block(tile.w[2 * p + 1] + b * Block::kBytes)};
        int32x4_t sum[Q];
        for (auto& s : sum) s = vdupq_n_s32(0);
        for (int c = 0; c < 4; ++c) {
          int32x4_t dlo[Q], dhi[Q];
          for (int q = 0; q < Q; ++q) dlo[q] = dhi[q] = vdupq_n_s32(0);
          for (int half = 0; half < 2; ++half) {
            int8x16_t lo0, hi0, lo1, hi1;
            blk[0].levels(c, half, lo0, hi0);
            blk[1].levels(c, half, lo1, hi1);
            const RowPair lo(lo0, lo1), hi(hi0, hi1);
            for (int q = 0; q < Q; ++q) {
              const int8_t* x0 = tile.x[2 * q].q + 256 * b + 64 * c + 16 * half;
              const int8_t* x1 = tile.x[2 * q + 1].q + 256 * b + 64 * c + 16 * half;
              dlo[q] = mmla16(dlo[q], lo, x0, x1);
              dhi[q] = mmla16(dhi[q], hi, x0 + 32, x1 + 32);
            }
          }
          const int32x4_t scale_lo = per_row(blk[0].scale[2 * c], blk[1].scale[2 * c]);
          const int32x4_t scale_hi = per_row(blk[0].scale[2 * c + 1], blk[1].scale[2 * c + 1]);
          for (int q = 0; q < Q; ++q) sum[q] = vmlaq_s32(vmlaq_s32(sum[q], dlo[q], scale_lo), dhi[q], scale_hi);
        }
        for (int q = 0; q < Q; ++q) tile.add(p, q, sum[q], blk[0].d, blk[1].d, b);
        for (int e = 0; e < 2 && 2 * p + e < R; ++e)
          for (int j = 0; j < T; ++j) {
            const float dx = tile.x[j].d[b];
            tile.min_sum[2 * p + e][j] -= blk[e].dmin * dx * static_cast<float>(blk[e].mins_dot(tile.x[j].bsums + 16 * b));
          }
      }
    }
    tile.store(a, r, t);
  }
};

struct Q6KMmla {
  static constexpr int kGemvRows = 2, kGemmRows = 2, kGemmTokens = 4;

  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    PairTile<R, T> tile(a, r, t);
    constexpr int Q = PairTile<R, T>::Q;
    for (int64_t b = 0; b < a.k / 256; ++b) {
      for (int p = 0; p < tile.P; ++p) {
        const Q6KBlock blk0(tile.w[2 * p] + b * Q6KBlock::kBytes), blk1(tile.w[2 * p + 1] + b * Q6KBlock::kBytes);
        int32x4_t sum[Q];
        for (auto& s : sum) s = vdupq_n_s32(0);
        for (int h = 0; h < 2; ++h) {
          for (int part = 0; part < 2; ++part) {
            int8x16_t q0[4], q1[4];
            blk0.levels(h, part, q0);
            blk1.levels(h, part, q1);
            for (int g = 0; g < 4; ++g) {
              const int first = Q6KBlock::first(h, part, g);
              const RowPair w(q0[g], q1[g]);
              const int32x4_t scale = per_row(blk0.scales[first / 16], blk1.scales[first / 16]);
              for (int q = 0; q < Q; ++q) {
                const int32x4_t dot = mmla16(vdupq_n_s32(0), w, tile.x[2 * q].q + 256 * b + first,
                                             tile.x[2 * q + 1].q + 256 * b + first);
                sum[q] = vmlaq_s32(sum[q], dot, scale);
              }
            }
          }
        }
        for (int q = 0; q < Q; ++q) tile.add(p, q, sum[q], blk0.d, blk1.d, b);
      }
    }
    tile.store(a, r, t);
  }
};

// neon_gemm.hpp's table with the block types' products through SMMLA.
MatmulKernels i8mm_kernels() {
  MatmulKernels k = kNeonKernels;
  k.q8_0 = gemm_tiled<Blocks32Mmla<Q8_0Weights>>;
  k.q4_0 = gemm_tiled<Blocks32Mmla<Q4_0Weights>>;
  k.q5_0 = gemm_tiled<Blocks32Mmla<Q5_0Weights>>;
  k.q5_1 = gemm_tiled<Blocks32Mmla<Q5_1Weights>>;
  k.q4_k = gemm_tiled<KAffineMmla<false>>;
  k.q5_k = gemm_tiled<KAffineMmla<true>>;
  k.q6_k = gemm_tiled<Q6KMmla>;
  return k;
}

}  // namespace

const MatmulKernels* matmul_kernels_neon_i8mm() {
  static const MatmulKernels kernels = i8mm_kernels();
  return &kernels;
}

}  // namespace josi::kernels::detail

#else

namespace josi::kernels::detail {
const MatmulKernels* matmul_kernels_neon_i8mm() { return nullptr; }
}  // namespace josi::kernels::detail

#endif
