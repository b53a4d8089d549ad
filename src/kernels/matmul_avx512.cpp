// AVX-512 (F/BW/VL/VNNI) path, compiled with its own -m flags (CMakeLists.txt).
//
// Quantized weights meet the 8-bit activations in integer dot products:
// vpmaddubsw (u8 weights × s8 activations -> s16 pairs) then vpdpwssd with
// the sub-block scales (s16 × s16 -> s32, accumulated) for the K-quants, and
// vpdpbusd for the 32-blocks (|w| against x carrying w's sign). No step can
// overflow: a vpmaddubsw pair is at most 2·63·127 = 16002 (Q6_K's q+32 is
// 0..63; Q4_K/Q5_K are 0..15/0..31), a super-block's s32 lane at most
// 4·2·16002·128 ≈ 16.4M.
#include "kernels/isa_kernels.hpp"

#if defined(__x86_64__)

#include "kernels/intrinsics.hpp"
#include "kernels/low_rank_avx512.hpp"

#include <cstddef>
#include <cstring>

#include "kernels/activation_rows.hpp"
#include "kernels/row_groups.hpp"
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

float half_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

// ---------------------------------------------------------------------------
// Activation quantizers: the scalar path's arithmetic, 16 lanes at a time,
// so the bytes are identical.

// One block of n (a multiple of 16) floats -> int8 q, d; returns Σq and
// fills per-16 sums when `sums16` is not null.
int quantize_block(const float* x, int n, int8_t* q, float& d, int16_t* sums16) {
  __m512 amax = _mm512_setzero_ps();
  for (int i = 0; i < n; i += 16) amax = _mm512_max_ps(amax, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
  const float m = _mm512_reduce_max_ps(amax);
  const __m512 id = _mm512_set1_ps(m > 0 ? 127.f / m : 0.f);
  d = m / 127.f;
  __m512i total = _mm512_setzero_si512();
  for (int i = 0; i < n; i += 16) {
    const __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(x + i), id));  // round to nearest even
    _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i), _mm512_cvtepi32_epi8(v));
    if (sums16) sums16[i / 16] = static_cast<int16_t>(_mm512_reduce_add_epi32(v));
    total = _mm512_add_epi32(total, v);
  }
  return _mm512_reduce_add_epi32(total);
}

// ---------------------------------------------------------------------------
// K-quants.

// Q4_K/Q5_K: chunk c (64 weights) of 32 bytes qs -> 64 u8 levels in weight
// order: low nibbles (sub-block 2c) then high nibbles (2c+1).
__m512i k_nibbles(const uint8_t* qs) {
  const __m512i v = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs)));
  const __m512i shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(4), 1);
  return _mm512_and_si512(_mm512_srlv_epi16(v, shift), _mm512_set1_epi8(15));
}

// The 12 packed scale bytes -> s16 lanes 0..7 = the 6-bit scales, 8..15 =
// the mins. The Q4_K packing as 32-bit words w0..w2: scales 0..3 =
// w0 & 63 (per byte), mins 0..3 = w1 & 63, scales 4..7 = (w2 & 15) | top two
// bits of w0's bytes << 4, mins 4..7 = (w2 >> 4) | top two bits of w1's bytes
// << 4. The 16-byte load reads 4 bytes of the block past the scales.
__m256i k_scales_mins(const uint8_t* packed) {
  const __m128i w = _mm_loadu_si128(reinterpret_cast<const __m128i*>(packed));
  const __m128i low =
      _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(w, _MM_SHUFFLE(2, 1, 2, 0)), _mm_setr_epi32(0, 0, 0, 4)),
                    _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
  const __m128i top = _mm_and_si128(_mm_srli_epi32(_mm_shuffle_epi32(w, _MM_SHUFFLE(1, 1, 0, 0)), 2),
                                    _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
  return _mm256_cvtepu8_epi16(_mm_or_si128(low, top));
}

// s16 lanes i of `idx` pick lane idx[i] of a 16-lane table.
__m512i spread(__m256i table, __m512i idx) { return _mm512_permutexvar_epi16(idx, _mm512_castsi256_si512(table)); }

// Index vectors: lanes 0..15 -> first, 16..31 -> second.
__m512i halves_index(short first, short second) {
  return _mm512_inserti64x4(_mm512_set1_epi16(first), _mm256_set1_epi16(second), 1);
}

// Q4_K and Q5_K: Σ_c vpdpwssd(vpmaddubsw(q, x), scales) per super-block,
// then d·dx·Σ − dmin·dx·Σ_j m_j·bsum_j.
template <bool kFifthBit>
struct KAffine {
  static constexpr int kGemvRows = 1, kGemmRows = 2, kGemmTokens = 4;
  static constexpr int64_t kBlockBytes = kFifthBit ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  static constexpr int64_t kQs = kFifthBit ? offsetof(BlockQ5_K, qs) : offsetof(BlockQ4_K, qs);

  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    const uint8_t* w[R];
    for (int i = 0; i < R; ++i) w[i] = weight_row(a, r + i);
    Q8Token x[T];
    for (int j = 0; j < T; ++j) x[j] = q8_token(a, t + j);
    __m512 acc[R][T];
    for (auto& row : acc)
      for (auto& v : row) v = _mm512_setzero_ps();
    __m512i chunk_index[4];
    for (int c = 0; c < 4; ++c) chunk_index[c] = halves_index(static_cast<short>(2 * c), static_cast<short>(2 * c + 1));
    // bsum j (16 weights) belongs to sub-block j/2, whose min is lane 8 + j/2.
    const __m256i min_index = _mm256_setr_epi16(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);

    for (int64_t b = 0; b < a.k / 256; ++b) {
      __m512i sum[R][T];
      __m256i scales[R];
      [[maybe_unused]] __m512i qh[R];
      for (int i = 0; i < R; ++i) {
        const uint8_t* blk = w[i] + b * kBlockBytes;
        scales[i] = k_scales_mins(blk + 4);
        if constexpr (kFifthBit)
          qh[i] = _mm512_broadcast_i64x4(
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + offsetof(BlockQ5_K, qh))));
        for (int j = 0; j < T; ++j) sum[i][j] = _mm512_setzero_si512();
      }
      // Q5_K: bit 2c of qh byte l for the chunk's low nibbles, 2c+1 for the high.
      [[maybe_unused]] __m512i qh_bits = halves_index(0x0101, 0x0202);
      for (int c = 0; c < 4; ++c) {
        __m512i xq[T];
        for (int j = 0; j < T; ++j) xq[j] = _mm512_loadu_si512(x[j].q + 256 * b + 64 * c);
        for (int i = 0; i < R; ++i) {
          __m512i q = k_nibbles(w[i] + b * kBlockBytes + kQs + 32 * c);
          if constexpr (kFifthBit) {
            const __mmask64 high = _mm512_test_epi8_mask(qh[i], qh_bits);
            q = _mm512_mask_add_epi8(q, high, q, _mm512_set1_epi8(16));
          }
          const __m512i sc = spread(scales[i], chunk_index[c]);
          for (int j = 0; j < T; ++j) sum[i][j] = _mm512_dpwssd_epi32(sum[i][j], _mm512_maddubs_epi16(q, xq[j]), sc);
        }
        if constexpr (kFifthBit) qh_bits = _mm512_slli_epi16(qh_bits, 2);
      }
      __m256i bsums[T];
      for (int j = 0; j < T; ++j) bsums[j] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[j].bsums + 16 * b));
      for (int i = 0; i < R; ++i) {
        const uint8_t* blk = w[i] + b * kBlockBytes;
        const float d = half_at(blk), dmin = half_at(blk + 2);
        const __m256i mins = _mm256_permutexvar_epi16(min_index, scales[i]);
        for (int j = 0; j < T; ++j) {
          const float dx = x[j].d[b];
          const __m512 m = _mm512_cvtepi32_ps(_mm512_zextsi256_si512(_mm256_madd_epi16(mins, bsums[j])));
          acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum[i][j]), _mm512_set1_ps(d * dx), acc[i][j]);
          acc[i][j] = _mm512_fnmadd_ps(m, _mm512_set1_ps(dmin * dx), acc[i][j]);
        }
      }
    }
    for (int j = 0; j < T; ++j)
      for (int i = 0; i < R; ++i) a.y[(t + j) * a.ldy + r + i] = _mm512_reduce_add_ps(acc[i][j]);
  }
};

// Q6_K: q + 32 in 0..63 as u8 against x, vpdpwssd with the int8 scales (one
// per 16 weights), minus 32·Σ_j scale_j·bsum_j, times d·dx.
struct Q6K {
  static constexpr int kGemvRows = 1, kGemmRows = 2, kGemmTokens = 4;
  static constexpr int64_t kBlockBytes = sizeof(BlockQ6_K);

  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    const uint8_t* w[R];
    for (int i = 0; i < R; ++i) w[i] = weight_row(a, r + i);
    Q8Token x[T];
    for (int j = 0; j < T; ++j) x[j] = q8_token(a, t + j);
    __m512 acc[R][T];
    for (auto& row : acc)
      for (auto& v : row) v = _mm512_setzero_ps();
    // 64-weight chunk g = 2h + (high nibbles) uses scales 4g .. 4g+3, 8 s16 lanes each.
    __m512i chunk_index[4];
    for (int g = 0; g < 4; ++g) {
      alignas(64) int16_t idx[32];
      for (int l = 0; l < 32; ++l) idx[l] = static_cast<int16_t>(4 * g + l / 8);
      chunk_index[g] = _mm512_load_si512(idx);
    }
    const __m512i qh_shift = _mm512_inserti64x4(_mm512_setzero_si512(), _mm256_set1_epi16(2), 1);
    const __m512i low4 = _mm512_set1_epi8(15), bits45 = _mm512_set1_epi8(0x30);

    for (int64_t b = 0; b < a.k / 256; ++b) {
      __m512i sum[R][T];
      __m256i scales[R];
      for (int i = 0; i < R; ++i) {
        scales[i] = _mm256_cvtepi8_epi16(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[i] + b * kBlockBytes + offsetof(BlockQ6_K, scales))));
        for (int j = 0; j < T; ++j) sum[i][j] = _mm512_setzero_si512();
      }
      for (int h = 0; h < 2; ++h) {
        __m512i xlo[T], xhi[T];
        for (int j = 0; j < T; ++j) {
          xlo[j] = _mm512_loadu_si512(x[j].q + 256 * b + 128 * h);
          xhi[j] = _mm512_loadu_si512(x[j].q + 256 * b + 128 * h + 64);
        }
        for (int i = 0; i < R; ++i) {
          const uint8_t* blk = w[i] + b * kBlockBytes;
          // ql bytes 0..31 / 32..63: low nibbles are weights l / l+32, high
          // nibbles l+64 / l+96; qh byte l holds their top bits at 0, 2, 4, 6.
          const __m512i ql = _mm512_loadu_si512(blk + offsetof(BlockQ6_K, ql) + 64 * h);
          const __m512i qh = _mm512_srlv_epi16(
              _mm512_broadcast_i64x4(
                  _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + offsetof(BlockQ6_K, qh) + 32 * h))),
              qh_shift);
          // a | (b & c), the top bits moved to bits 4..5.
          const __m512i lo =
              _mm512_ternarylogic_epi32(_mm512_and_si512(ql, low4), _mm512_slli_epi16(qh, 4), bits45, 0xf8);
          const __m512i hi =
              _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(ql, 4), low4), qh, bits45, 0xf8);
          const __m512i sc_lo = spread(scales[i], chunk_index[2 * h]),
                        sc_hi = spread(scales[i], chunk_index[2 * h + 1]);
          for (int j = 0; j < T; ++j) {
            sum[i][j] = _mm512_dpwssd_epi32(sum[i][j], _mm512_maddubs_epi16(lo, xlo[j]), sc_lo);
            sum[i][j] = _mm512_dpwssd_epi32(sum[i][j], _mm512_maddubs_epi16(hi, xhi[j]), sc_hi);
          }
        }
      }
      for (int j = 0; j < T; ++j) {
        const __m256i bsums = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x[j].bsums + 16 * b));
        const float dx = x[j].d[b];
        for (int i = 0; i < R; ++i) {
          const __m256i bias = _mm256_slli_epi32(_mm256_madd_epi16(scales[i], bsums), 5);
          const __m512i s = _mm512_sub_epi32(sum[i][j], _mm512_zextsi256_si512(bias));
          const float d = half_at(w[i] + b * kBlockBytes + offsetof(BlockQ6_K, d));
          acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_set1_ps(d * dx), acc[i][j]);
        }
      }
    }
    for (int j = 0; j < T; ++j)
      for (int i = 0; i < R; ++i) a.y[(t + j) * a.ldy + r + i] = _mm512_reduce_add_ps(acc[i][j]);
  }
};

// Q4_K in 16-row groups (row_groups.hpp), one row per 32-bit lane: for each
// 4 weight bytes of the 16 rows, vpdpbusd of the low nibbles with the
// token's 4 activations of the chunk's first sub-block, and of the high
// nibbles with those of its second; each sub-block's 16 sums times the rows'
// scales (vpmulld), the mins' term two sub-blocks per vpdpwssd. T tokens
// share each weight load; a token's arithmetic is the same whatever T.
struct Q4KGroups {
  using Block = Q4KGroupBlock;
  static constexpr int64_t kWeights = 256;
  template <int T>
  static void block(const Block& blk, const Q8Token (&x)[T], int64_t b, __m512 (&acc)[T]) {
    const __m512i low4 = _mm512_set1_epi8(15);
    __m512i sumi[T];
    for (auto& v : sumi) v = _mm512_setzero_si512();
    for (int c = 0; c < 4; ++c) {
      __m512i lo_sum[T], hi_sum[T];
      for (int j = 0; j < T; ++j) lo_sum[j] = hi_sum[j] = _mm512_setzero_si512();
      for (int step = 0; step < 8; ++step) {
        const __m512i v = _mm512_loadu_si512(blk.qs[c][step]);
        const __m512i lo = _mm512_and_si512(v, low4), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), low4);
        for (int j = 0; j < T; ++j) {
          const int8_t* xq = x[j].q + 256 * b + 64 * c + 4 * step;
          int32_t xl, xh;
          std::memcpy(&xl, xq, 4);
          std::memcpy(&xh, xq + 32, 4);
          lo_sum[j] = _mm512_dpbusd_epi32(lo_sum[j], lo, _mm512_set1_epi32(xl));
          hi_sum[j] = _mm512_dpbusd_epi32(hi_sum[j], hi, _mm512_set1_epi32(xh));
        }
      }
      const auto scales = [&](int s) {
        return _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.scales[s])));
      };
      const __m512i sc_lo = scales(2 * c), sc_hi = scales(2 * c + 1);
      for (int j = 0; j < T; ++j)
        sumi[j] = _mm512_add_epi32(sumi[j], _mm512_add_epi32(_mm512_mullo_epi32(lo_sum[j], sc_lo),
                                                             _mm512_mullo_epi32(hi_sum[j], sc_hi)));
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.d)));
    const __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.dmin)));
    __m512i mins[4];
    for (int p = 0; p < 4; ++p)
      mins[p] = _mm512_cvtepu8_epi16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.mins[p])));
    for (int j = 0; j < T; ++j) {
      // Σx of sub-blocks 2p and 2p+1 as the two s16 halves of one lane.
      const int16_t* bs = x[j].bsums + 16 * b;
      __m512i summ = _mm512_setzero_si512();
      for (int p = 0; p < 4; ++p) {
        const auto first = static_cast<uint16_t>(bs[4 * p] + bs[4 * p + 1]);
        const auto second = static_cast<uint16_t>(bs[4 * p + 2] + bs[4 * p + 3]);
        const auto pair = static_cast<int32_t>(first | uint32_t{second} << 16);
        summ = _mm512_dpwssd_epi32(summ, mins[p], _mm512_set1_epi32(pair));
      }
      const __m512 dx = _mm512_set1_ps(x[j].d[b]);
      acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[j]), _mm512_mul_ps(d, dx), acc[j]);
      acc[j] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(summ), _mm512_mul_ps(dmin, dx), acc[j]);
    }
  }
};

// Q6_K in 16-row groups (row_groups.hpp), one row per 32-bit lane: each
// 16-weight group's levels q + 32 as four vectors of 4 bytes per row,
// vpdpbusd against the token's activations from −32·Σx of the group, times
// the rows' scales (vpmulld).
struct Q6KGroups {
  using Block = Q6KGroupBlock;
  static constexpr int64_t kWeights = 256;
  template <int T>
  static void block(const Block& blk, const Q8Token (&x)[T], int64_t b, __m512 (&acc)[T]) {
    const __m512i low4 = _mm512_set1_epi8(15), bits45 = _mm512_set1_epi8(0x30);
    __m512i sumi[T];
    for (auto& v : sumi) v = _mm512_setzero_si512();
    for (int g = 0; g < 16; ++g) {
      const __m512i ql0 = _mm512_loadu_si512(blk.ql[g][0]), ql1 = _mm512_loadu_si512(blk.ql[g][1]);
      const __m512i qh = _mm512_loadu_si512(blk.qh[g]);
      // a | (b & c): the low 4 bits, and the top 2 moved to bits 4..5.
      __m512i u[4];
      u[0] = _mm512_ternarylogic_epi32(_mm512_and_si512(ql0, low4), _mm512_slli_epi16(qh, 4), bits45, 0xf8);
      u[1] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(ql0, 4), low4), _mm512_slli_epi16(qh, 2),
                                       bits45, 0xf8);
      u[2] = _mm512_ternarylogic_epi32(_mm512_and_si512(ql1, low4), qh, bits45, 0xf8);
      u[3] = _mm512_ternarylogic_epi32(_mm512_and_si512(_mm512_srli_epi16(ql1, 4), low4), _mm512_srli_epi16(qh, 2),
                                       bits45, 0xf8);
      const __m512i sc = _mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk.scales[g])));
      for (int j = 0; j < T; ++j) {
        const int8_t* xq = x[j].q + 256 * b + 16 * g;
        __m512i dot = _mm512_set1_epi32(-32 * x[j].bsums[16 * b + g]);
        for (int m = 0; m < 4; ++m) {
          int32_t x4;
          std::memcpy(&x4, xq + 4 * m, 4);
          dot = _mm512_dpbusd_epi32(dot, u[m], _mm512_set1_epi32(x4));
        }
        sumi[j] = _mm512_add_epi32(sumi[j], _mm512_mullo_epi32(dot, sc));
      }
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.d)));
    for (int j = 0; j < T; ++j)
      acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sumi[j]), _mm512_mul_ps(d, _mm512_set1_ps(x[j].d[b])), acc[j]);
  }
};

// Q8_0 in 16-row groups (row_groups.hpp), one row per 32-bit lane: for
// each of the group block's two 32-blocks, eight vpdpbusd of the rows'
// levels q + 128 against the token's activations 4 at a time, from
// −128·Σx, times the rows' d and the token's dx.
struct Q8_0Groups {
  using Block = Q8_0GroupBlock;
  static constexpr int64_t kWeights = 64;
  template <int T>
  static void block(const Block& blk, const Q8Token (&x)[T], int64_t b, __m512 (&acc)[T]) {
    for (int h = 0; h < 2; ++h) {
      const int64_t xb = 2 * b + h;  // the activations' 32-block
      __m512i dot[T];
      for (int j = 0; j < T; ++j) dot[j] = _mm512_set1_epi32(-128 * x[j].q_sums[xb]);
      for (int step = 0; step < 8; ++step) {
        const __m512i w = _mm512_loadu_si512(blk.qs[h][step]);
        for (int j = 0; j < T; ++j) {
          int32_t x4;
          std::memcpy(&x4, x[j].q + 32 * xb + 4 * step, 4);
          dot[j] = _mm512_dpbusd_epi32(dot[j], w, _mm512_set1_epi32(x4));
        }
      }
      const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk.d[h])));
      for (int j = 0; j < T; ++j)
        acc[j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot[j]), _mm512_mul_ps(d, _mm512_set1_ps(x[j].d[xb])), acc[j]);
    }
  }
};

// acc[j] += B·u of tokens t..t+T-1 on the group's 16 rows: one panel of B.
static_assert(kGroupRows == kLowRankPanel);
template <int T>
void add_low_rank_panel(const LowRankTerm& term, int64_t group_row, int64_t t, __m512 (&acc)[T]) {
  const size_t at = static_cast<size_t>(group_row / kGroupRows * term.rank * kGroupRows);
  for (int j = 0; j < T; ++j) {
    const float* u = term.u + (t + j) * term.ldu;
    // The panels are F16, or F32 for an adapter with F32 factors.
    if (term.type == formats::GgmlType::F16) {
      const uint16_t* panel = static_cast<const uint16_t*>(term.bt) + at;
      const auto column = [panel](int64_t c) {
        return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(panel + c * kGroupRows)));
      };
      acc[j] = add_panel_avx512(u, term.rank, column, acc[j]);
    } else {
      const float* panel = static_cast<const float*>(term.bt) + at;
      const auto column = [panel](int64_t c) { return _mm512_loadu_ps(panel + c * kGroupRows); };
      acc[j] = add_panel_avx512(u, term.rank, column, acc[j]);
    }
  }
}

// One group of 16 rows × T tokens, a float accumulator per token with a
// row per lane, Kernel::block adding each super-block.
template <class Kernel, int T>
void group_tile(const GemmArgs& a, int64_t group_row, int64_t t) {
  const int64_t nb = a.k / Kernel::kWeights;
  const auto* blocks = reinterpret_cast<const typename Kernel::Block*>(a.w) + group_row / kGroupRows * nb;
  Q8Token x[T];
  for (int j = 0; j < T; ++j) x[j] = q8_token(a, t + j);
  __m512 acc[T];
  for (auto& v : acc) v = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const char* ahead = reinterpret_cast<const char*>(blocks + b) + kPrefetchBytes;  // tiling.hpp
    for (size_t line = 0; line < sizeof(typename Kernel::Block); line += 64) _mm_prefetch(ahead + line, _MM_HINT_T0);
    Kernel::template block<T>(blocks[b], x, b, acc);
  }
  if (a.term) add_low_rank_panel(*a.term, group_row, t, acc);
  for (int j = 0; j < T; ++j) _mm512_storeu_ps(a.y + (t + j) * a.ldy + group_row, acc[j]);
}

// Groups of 16 rows × tiles of up to 4 tokens.
template <class Kernel>
void gemm_row_groups(const GemmArgs& a, int64_t r0, int64_t r1) {
  for (int64_t g = r0; g < r1; g += kGroupRows) {
    int64_t t = 0;
    for (; t + 4 <= a.n_tokens; t += 4) group_tile<Kernel, 4>(a, g, t);
    switch (a.n_tokens - t) {
      case 3: group_tile<Kernel, 3>(a, g, t); break;
      case 2: group_tile<Kernel, 2>(a, g, t); break;
      case 1: group_tile<Kernel, 1>(a, g, t); break;
      default: break;
    }
  }
}

// ---------------------------------------------------------------------------
// 32-blocks, two per 512-bit vector. Decode gives the pair's 64 levels as
// bytes (block b in the low half) and the pair's d in lanes 0..7 / 8..15.

// The second block of the last pair may be missing (odd block count): its
// bytes are masked to zero and its d is 0.
__m512 pair_scales(float d0, float d1) { return _mm512_mask_blend_ps(0xff00, _mm512_set1_ps(d0), _mm512_set1_ps(d1)); }

// A pair's 16-byte nibble arrays -> 64 levels: low nibbles of block b are
// its weights 0..15, high nibbles 16..31.
__m512i pair_nibbles(const uint8_t* qs0, const uint8_t* qs1) {
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs0));
  const __m128i b = qs1 ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs1)) : _mm_setzero_si128();
  const __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set_m128i(a, a)), _mm256_set_m128i(b, b), 1);
  const __m256i shift_half = _mm256_set_m128i(_mm_set1_epi16(4), _mm_setzero_si128());  // the odd quarters
  const __m512i shift = _mm512_inserti64x4(_mm512_castsi256_si512(shift_half), shift_half, 1);
  return _mm512_and_si512(_mm512_srlv_epi16(v, shift), _mm512_set1_epi8(15));
}

// Q5_0/Q5_1: the pair's qh words as a 64-bit mask of 5th bits.
__mmask64 pair_high_bits(const uint8_t* qh0, const uint8_t* qh1) {
  uint32_t h0, h1 = 0;
  std::memcpy(&h0, qh0, 4);
  if (qh1) std::memcpy(&h1, qh1, 4);
  return _cvtu64_mask64(static_cast<uint64_t>(h1) << 32 | h0);
}

struct Q8_0Weights {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ8_0);
  static constexpr bool kSigned = true;
  static __m512i levels(const uint8_t* b0, const uint8_t* b1) {
    const __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b0 + 2));
    const __m256i hi = b1 ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b1 + 2)) : _mm256_setzero_si256();
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
  }
};

struct Q4_0Weights {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ4_0);
  static constexpr bool kSigned = true;
  static __m512i levels(const uint8_t* b0, const uint8_t* b1) {
    const __m512i q = pair_nibbles(b0 + 2, b1 ? b1 + 2 : nullptr);
    return _mm512_sub_epi8(q, _mm512_set1_epi8(8));
  }
};

struct Q5_0Weights {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ5_0);
  static constexpr bool kSigned = true;
  static __m512i levels(const uint8_t* b0, const uint8_t* b1) {
    const __m512i q = pair_nibbles(b0 + 6, b1 ? b1 + 6 : nullptr);
    const __m512i q5 = _mm512_mask_add_epi8(q, pair_high_bits(b0 + 2, b1 ? b1 + 2 : nullptr), q, _mm512_set1_epi8(16));
    return _mm512_sub_epi8(q5, _mm512_set1_epi8(16));
  }
};

struct Q5_1Weights {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ5_1);
  static constexpr bool kSigned = false;
  static __m512i levels(const uint8_t* b0, const uint8_t* b1) {
    const __m512i q = pair_nibbles(b0 + 8, b1 ? b1 + 8 : nullptr);
    return _mm512_mask_add_epi8(q, pair_high_bits(b0 + 4, b1 ? b1 + 4 : nullptr), q, _mm512_set1_epi8(16));
  }
};

// Σ over pairs of d·dx·(vpdpbusd of the levels against x), plus for Q5_1
// (unsigned levels) m·s per block, added in lane 0 / 8 of the pair.
template <class W>
struct Blocks32 {
  static constexpr int kGemvRows = 1, kGemmRows = 2, kGemmTokens = 4;

  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    const uint8_t* w[R];
    for (int i = 0; i < R; ++i) w[i] = weight_row(a, r + i);
    Q8Token x[T];
    for (int j = 0; j < T; ++j) x[j] = q8_token(a, t + j);
    __m512 acc[R][T];
    for (auto& row : acc)
      for (auto& v : row) v = _mm512_setzero_ps();
    const int64_t nb = a.k / 32;
    for (int64_t b = 0; b < nb; b += 2) {
      const bool pair = b + 1 < nb;
      const __mmask64 bytes = pair ? ~__mmask64{0} : 0xffffffffu;
      __m512i xq[T];
      __m512 dx[T], sx[T];
      for (int j = 0; j < T; ++j) {
        xq[j] = _mm512_maskz_loadu_epi8(bytes, x[j].q + 32 * b);
        dx[j] = pair_scales(x[j].d[b], pair ? x[j].d[b + 1] : 0.f);
        if constexpr (!W::kSigned)
          sx[j] = _mm512_maskz_mov_ps(0x0101, pair_scales(x[j].s[b], pair ? x[j].s[b + 1] : 0.f));
      }
      for (int i = 0; i < R; ++i) {
        const uint8_t* b0 = w[i] + b * W::kBlockBytes;
        const uint8_t* b1 = pair ? b0 + W::kBlockBytes : nullptr;
        const __m512i q = W::levels(b0, b1);
        const __m512 dw = pair_scales(half_at(b0), pair ? half_at(b1) : 0.f);
        if constexpr (W::kSigned) {
          const __m512i magnitude = _mm512_abs_epi8(q);
          const __mmask64 negative = _mm512_movepi8_mask(q);
          for (int j = 0; j < T; ++j) {
            const __m512i signed_x = _mm512_mask_sub_epi8(xq[j], negative, _mm512_setzero_si512(), xq[j]);
            const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), magnitude, signed_x);
            acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw, dx[j]), acc[i][j]);
          }
        } else {
          const __m512 mw = pair_scales(half_at(b0 + 2), pair ? half_at(b1 + 2) : 0.f);
          for (int j = 0; j < T; ++j) {
            const __m512i dot = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, xq[j]);
            acc[i][j] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dot), _mm512_mul_ps(dw, dx[j]), acc[i][j]);
            acc[i][j] = _mm512_fmadd_ps(mw, sx[j], acc[i][j]);
          }
        }
      }
    }
    for (int j = 0; j < T; ++j)
      for (int i = 0; i < R; ++i) a.y[(t + j) * a.ldy + r + i] = _mm512_reduce_add_ps(acc[i][j]);
  }
};

// ---------------------------------------------------------------------------
// Float weights against float activations, 16 at a time, the tail masked.

struct F32Weights {
  static __m512 load(const uint8_t* row, int64_t i, __mmask16 m) {
    return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + i);
  }
};
struct F16Weights {
  static __m512 load(const uint8_t* row, int64_t i, __mmask16 m) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + i));
  }
};
struct BF16Weights {
  static __m512 load(const uint8_t* row, int64_t i, __mmask16 m) {
    const __m256i h = _mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + i);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
};

// Two sums per output, over alternate vectors of 16, so that one row and one
// token (gemv) still has two FMA chains in flight.
template <class W>
struct FloatRows {
  static constexpr int kGemvRows = 1, kGemmRows = 2, kGemmTokens = 4;

  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    const uint8_t* w[R];
    for (int i = 0; i < R; ++i) w[i] = weight_row(a, r + i);
    const float* x[T];
    for (int j = 0; j < T; ++j) x[j] = f32_token(a, t + j);
    __m512 acc[2][R][T];
    for (auto& half : acc)
      for (auto& row : half)
        for (auto& v : row) v = _mm512_setzero_ps();
    const auto step = [&](__m512(&sum)[R][T], int64_t i0, __mmask16 m) {
      __m512 xv[T];
      for (int j = 0; j < T; ++j) xv[j] = _mm512_maskz_loadu_ps(m, x[j] + i0);
      for (int i = 0; i < R; ++i) {
        const __m512 wv = W::load(w[i], i0, m);
        for (int j = 0; j < T; ++j) sum[i][j] = _mm512_fmadd_ps(wv, xv[j], sum[i][j]);
      }
    };
    int64_t i0 = 0;
    for (; i0 + 32 <= a.k; i0 += 32) {
      step(acc[0], i0, 0xffff);
      step(acc[1], i0 + 16, 0xffff);
    }
    for (int h = 0; i0 < a.k; i0 += 16, ++h)
      step(acc[h], i0, a.k - i0 >= 16 ? 0xffff : static_cast<__mmask16>((1u << (a.k - i0)) - 1));
    for (int j = 0; j < T; ++j)
      for (int i = 0; i < R; ++i)
        a.y[(t + j) * a.ldy + r + i] = _mm512_reduce_add_ps(_mm512_add_ps(acc[0][i][j], acc[1][i][j]));
  }
};

}  // namespace

const MatmulKernels* matmul_kernels_avx512() {
  static const MatmulKernels kernels{quantize_row_q8_32<quantize_block>,
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
                                     gemm_row_groups<Q4KGroups>,
                                     gemm_row_groups<Q6KGroups>,
                                     gemm_row_groups<Q8_0Groups>};
  return &kernels;
}

}  // namespace josi::kernels::detail

#else

namespace josi::kernels::detail {
const MatmulKernels* matmul_kernels_avx512() { return nullptr; }
}  // namespace josi::kernels::detail

#endif
