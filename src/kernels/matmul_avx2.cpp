// AVX2/FMA/F16C path, compiled with its own -m flags (CMakeLists.txt).
//
// Quantized weights meet the 8-bit activations through vpmaddubsw (u8 × s8
// -> s16 pairs) and vpmaddwd (s16 × s16 -> s32 pairs, here with the
// sub-block scales or ones). vpmaddubsw saturates at ±32767, which no pair
// reaches: Q6_K's q+32 ≤ 63, Q5_K ≤ 31, Q4_K ≤ 15 against |x| ≤ 127, and
// |w| ≤ 128 for the signed 32-blocks gives 2·128·127 = 32512.
#include "kernels/isa_kernels.hpp"

#if defined(__x86_64__)

#include "kernels/intrinsics.hpp"

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

float half_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return _cvtsh_ss(h);
}

__m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
__m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

int hsum_epi32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// ---------------------------------------------------------------------------
// Activation quantizers: the scalar path's arithmetic, 8 lanes at a time.

// One block of n (a multiple of 32) floats -> int8 q, d; returns Σq and
// fills per-16 sums when `sums16` is not null.
int quantize_block(const float* x, int n, int8_t* q, float& d, int16_t* sums16) {
  const __m256 abs_mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 amax = _mm256_setzero_ps();
  for (int i = 0; i < n; i += 8) amax = _mm256_max_ps(amax, _mm256_and_ps(abs_mask, _mm256_loadu_ps(x + i)));
  const float m = hmax(amax);
  const __m256 id = _mm256_set1_ps(m > 0 ? 127.f / m : 0.f);
  d = m / 127.f;
  __m256i total = _mm256_setzero_si256();
  for (int i = 0; i < n; i += 32) {
    __m256i v[4];
    for (int p = 0; p < 4; ++p) v[p] = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(x + i + 8 * p), id));
    if (sums16) {
      sums16[i / 16] = static_cast<int16_t>(hsum_epi32(_mm256_add_epi32(v[0], v[1])));
      sums16[i / 16 + 1] = static_cast<int16_t>(hsum_epi32(_mm256_add_epi32(v[2], v[3])));
    }
    total = _mm256_add_epi32(total, _mm256_add_epi32(_mm256_add_epi32(v[0], v[1]), _mm256_add_epi32(v[2], v[3])));
    // The packs work per 128-bit half; the permute restores the order.
    const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(v[0], v[1]), _mm256_packs_epi32(v[2], v[3]));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i),
                        _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
  }
  return hsum_epi32(total);
}

// ---------------------------------------------------------------------------
// K-quants.

// The 12 packed Q4_K/Q5_K scale bytes -> bytes 0..7 = the 6-bit scales,
// 8..15 = the mins. The Q4_K packing as 32-bit words w0..w2: scales
// 0..3 = w0 & 63 (per byte), mins 0..3 = w1 & 63, scales 4..7 = (w2 & 15) |
// top two bits of w0's bytes << 4, mins 4..7 = (w2 >> 4) | top two bits of
// w1's bytes << 4. The 16-byte load reads 4 bytes of the block past the scales.
__m128i k_scales_mins(const uint8_t* packed) {
  const __m128i w = load128(packed);
  const __m128i low =
      _mm_and_si128(_mm_srlv_epi32(_mm_shuffle_epi32(w, _MM_SHUFFLE(2, 1, 2, 0)), _mm_setr_epi32(0, 0, 0, 4)),
                    _mm_setr_epi32(0x3f3f3f3f, 0x0f0f0f0f, 0x3f3f3f3f, 0x0f0f0f0f));
  const __m128i top = _mm_and_si128(_mm_srli_epi32(_mm_shuffle_epi32(w, _MM_SHUFFLE(1, 1, 0, 0)), 2),
                                    _mm_setr_epi32(0, 0x30303030, 0, 0x30303030));
  return _mm_or_si128(low, top);
}

// Byte j of `bytes` in every s16 lane.
__m256i broadcast_byte(__m128i bytes, int j) {
  return _mm256_cvtepu8_epi16(_mm_shuffle_epi8(bytes, _mm_set1_epi8(static_cast<char>(j))));
}

// Q4_K and Q5_K: per sub-block j, vpmaddwd(vpmaddubsw(q, x), sc_j), summed;
// then d·dx·Σ − dmin·dx·Σ_j m_j·bsum_j.
template <bool kFifthBit>
struct KAffine {
  static constexpr int kGemvRows = 1, kGemmRows = 1, kGemmTokens = 4;
  static constexpr int64_t kBlockBytes = kFifthBit ? sizeof(BlockQ5_K) : sizeof(BlockQ4_K);
  static constexpr int64_t kQs = kFifthBit ? offsetof(BlockQ5_K, qs) : offsetof(BlockQ4_K, qs);

  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    const uint8_t* w[R];
    for (int i = 0; i < R; ++i) w[i] = weight_row(a, r + i);
    Q8Token x[T];
    for (int j = 0; j < T; ++j) x[j] = q8_token(a, t + j);
    __m256 acc[R][T];
    for (auto& row : acc)
      for (auto& v : row) v = _mm256_setzero_ps();
    // bsum j (16 weights) belongs to sub-block j/2, whose min is byte 8 + j/2.
    const __m128i min_index = _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15);
    const __m256i low4 = _mm256_set1_epi8(15);

    for (int64_t b = 0; b < a.k / 256; ++b) {
      for (int i = 0; i < R; ++i) {
        const uint8_t* blk = w[i] + b * kBlockBytes;
        const __m128i scales = k_scales_mins(blk + 4);
        [[maybe_unused]] __m256i qh;
        if constexpr (kFifthBit) qh = load256(blk + offsetof(BlockQ5_K, qh));
        __m256i sum[T];
        for (int j = 0; j < T; ++j) sum[j] = _mm256_setzero_si256();
        for (int c = 0; c < 4; ++c) {
          const __m256i qs = load256(blk + kQs + 32 * c);
          __m256i lo = _mm256_and_si256(qs, low4), hi = _mm256_and_si256(_mm256_srli_epi16(qs, 4), low4);
          if constexpr (kFifthBit) {
            const __m256i one = _mm256_set1_epi8(1);
            lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), one), 4));
            hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2 * c + 1), one), 4));
          }
          const __m256i sc_lo = broadcast_byte(scales, 2 * c), sc_hi = broadcast_byte(scales, 2 * c + 1);
          for (int j = 0; j < T; ++j) {
            const int8_t* xq = x[j].q + 256 * b + 64 * c;
            const __m256i plo = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, load256(xq)), sc_lo);
            const __m256i phi = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, load256(xq + 32)), sc_hi);
            sum[j] = _mm256_add_epi32(sum[j], _mm256_add_epi32(plo, phi));
          }
        }
        const __m256i mins = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(scales, min_index));
        const float d = half_at(blk), dmin = half_at(blk + 2);
        for (int j = 0; j < T; ++j) {
          const float dx = x[j].d[b];
          const __m256i m = _mm256_madd_epi16(mins, load256(x[j].bsums + 16 * b));
          acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[j]), _mm256_set1_ps(d * dx), acc[i][j]);
          acc[i][j] = _mm256_fnmadd_ps(_mm256_cvtepi32_ps(m), _mm256_set1_ps(dmin * dx), acc[i][j]);
        }
      }
    }
    for (int j = 0; j < T; ++j)
      for (int i = 0; i < R; ++i) a.y[(t + j) * a.ldy + r + i] = hsum(acc[i][j]);
  }
};

// Q6_K: 32 weights per vector, their two scales in the two 128-bit halves;
// minus 32·Σ_j scale_j·bsum_j, times d·dx.
struct Q6K {
  static constexpr int kGemvRows = 1, kGemmRows = 1, kGemmTokens = 4;
  static constexpr int64_t kBlockBytes = sizeof(BlockQ6_K);

  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    const uint8_t* w[R];
    for (int i = 0; i < R; ++i) w[i] = weight_row(a, r + i);
    Q8Token x[T];
    for (int j = 0; j < T; ++j) x[j] = q8_token(a, t + j);
    __m256 acc[R][T];
    for (auto& row : acc)
      for (auto& v : row) v = _mm256_setzero_ps();
    const __m256i low4 = _mm256_set1_epi8(15), low2 = _mm256_set1_epi8(3);

    for (int64_t b = 0; b < a.k / 256; ++b) {
      for (int i = 0; i < R; ++i) {
        const uint8_t* blk = w[i] + b * kBlockBytes;
        const __m128i scale_bytes = load128(blk + offsetof(BlockQ6_K, scales));
        __m256i sum[T];
        for (int j = 0; j < T; ++j) sum[j] = _mm256_setzero_si256();
        for (int h = 0; h < 2; ++h) {
          const __m256i ql0 = load256(blk + offsetof(BlockQ6_K, ql) + 64 * h);
          const __m256i ql1 = load256(blk + offsetof(BlockQ6_K, ql) + 64 * h + 32);
          const __m256i qh = load256(blk + offsetof(BlockQ6_K, qh) + 32 * h);
          // Group g: weights 32g + l of the half, top bits at 2g of qh byte l.
          const __m256i top[4] = {
              _mm256_slli_epi16(_mm256_and_si256(qh, low2), 4),
              _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(qh, 2), low2), 4),
              _mm256_and_si256(qh, _mm256_set1_epi8(0x30)),
              _mm256_and_si256(_mm256_srli_epi16(qh, 2), _mm256_set1_epi8(0x30)),
          };
          const __m256i low[4] = {_mm256_and_si256(ql0, low4), _mm256_and_si256(ql1, low4),
                                  _mm256_and_si256(_mm256_srli_epi16(ql0, 4), low4),
                                  _mm256_and_si256(_mm256_srli_epi16(ql1, 4), low4)};
          for (int g = 0; g < 4; ++g) {
            const __m256i q = _mm256_or_si256(low[g], top[g]);
            const int s = 8 * h + 2 * g;  // scales s (first 16 weights) and s + 1
            const __m128i pick =
                _mm_setr_epi8(s, s, s, s, s, s, s, s, s + 1, s + 1, s + 1, s + 1, s + 1, s + 1, s + 1, s + 1);
            const __m256i sc = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scale_bytes, pick));
            for (int j = 0; j < T; ++j) {
              const __m256i xq = load256(x[j].q + 256 * b + 128 * h + 32 * g);
              sum[j] = _mm256_add_epi32(sum[j], _mm256_madd_epi16(_mm256_maddubs_epi16(q, xq), sc));
            }
          }
        }
        const __m256i scales = _mm256_cvtepi8_epi16(scale_bytes);
        const float d = half_at(blk + offsetof(BlockQ6_K, d));
        for (int j = 0; j < T; ++j) {
          const __m256i bias = _mm256_slli_epi32(_mm256_madd_epi16(scales, load256(x[j].bsums + 16 * b)), 5);
          const __m256 s = _mm256_cvtepi32_ps(_mm256_sub_epi32(sum[j], bias));
          acc[i][j] = _mm256_fmadd_ps(s, _mm256_set1_ps(d * x[j].d[b]), acc[i][j]);
        }
      }
    }
    for (int j = 0; j < T; ++j)
      for (int i = 0; i < R; ++i) a.y[(t + j) * a.ldy + r + i] = hsum(acc[i][j]);
  }
};

// ---------------------------------------------------------------------------
// 32-blocks, one per vector: decode gives the block's 32 levels as bytes.

// 16 nibble bytes -> 32 levels: low nibbles are weights 0..15, high 16..31.
__m256i nibbles(const uint8_t* qs) {
  const __m128i q = load128(qs);
  return _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), _mm256_set1_epi8(15));
}

// Q5_0/Q5_1: 16 at the bytes whose bit is set in the qh word.
__m256i fifth_bits(const uint8_t* qh) {
  uint32_t bits;
  std::memcpy(&bits, qh, 4);
  // Byte j gets qh byte j/8, then keeps its bit j%8.
  const __m256i spread =
      _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(bits)),
                          _mm256_setr_epi64x(0, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  return _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit), _mm256_set1_epi8(16));
}

struct Q8_0Weights {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ8_0);
  static constexpr bool kSigned = true;
  static __m256i levels(const uint8_t* blk) { return load256(blk + 2); }
};
struct Q4_0Weights {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ4_0);
  static constexpr bool kSigned = true;
  static __m256i levels(const uint8_t* blk) { return _mm256_sub_epi8(nibbles(blk + 2), _mm256_set1_epi8(8)); }
};
struct Q5_0Weights {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ5_0);
  static constexpr bool kSigned = true;
  static __m256i levels(const uint8_t* blk) {
    return _mm256_sub_epi8(_mm256_or_si256(nibbles(blk + 6), fifth_bits(blk + 2)), _mm256_set1_epi8(16));
  }
};
struct Q5_1Weights {
  static constexpr int64_t kBlockBytes = sizeof(BlockQ5_1);
  static constexpr bool kSigned = false;
  static __m256i levels(const uint8_t* blk) { return _mm256_or_si256(nibbles(blk + 8), fifth_bits(blk + 4)); }
};

// Σ over blocks of d·dx·Σ q·x (signed levels: |w| against x with w's sign),
// plus for Q5_1 m·s per block.
template <class W>
struct Blocks32 {
  static constexpr int kGemvRows = 1, kGemmRows = 1, kGemmTokens = 4;

  template <int R, int T>
  static void tile(const GemmArgs& a, int64_t r, int64_t t) {
    const uint8_t* w[R];
    for (int i = 0; i < R; ++i) w[i] = weight_row(a, r + i);
    Q8Token x[T];
    for (int j = 0; j < T; ++j) x[j] = q8_token(a, t + j);
    __m256 acc[R][T];
    float min_sum[R][T] = {};
    for (auto& row : acc)
      for (auto& v : row) v = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t b = 0; b < a.k / 32; ++b) {
      for (int i = 0; i < R; ++i) {
        const uint8_t* blk = w[i] + b * W::kBlockBytes;
        const __m256i q = W::levels(blk);
        const float dw = half_at(blk);
        const __m256i magnitude = W::kSigned ? _mm256_sign_epi8(q, q) : q;
        for (int j = 0; j < T; ++j) {
          __m256i xq = load256(x[j].q + 32 * b);
          if constexpr (W::kSigned) xq = _mm256_sign_epi8(xq, q);
          const __m256i dot = _mm256_madd_epi16(_mm256_maddubs_epi16(magnitude, xq), ones);
          acc[i][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(dw * x[j].d[b]), acc[i][j]);
          if constexpr (!W::kSigned) min_sum[i][j] += half_at(blk + 2) * x[j].s[b];
        }
      }
    }
    for (int j = 0; j < T; ++j)
      for (int i = 0; i < R; ++i) a.y[(t + j) * a.ldy + r + i] = hsum(acc[i][j]) + min_sum[i][j];
  }
};

// ---------------------------------------------------------------------------
// Float weights against float activations, 8 at a time, the tail through a
// zero-padded buffer.

struct F32Weights {
  static __m256 load(const uint8_t* row, int64_t i) { return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + i); }
  static constexpr size_t kBytes = 4;
};
struct F16Weights {
  static __m256 load(const uint8_t* row, int64_t i) { return _mm256_cvtph_ps(load128(row + 2 * i)); }
  static constexpr size_t kBytes = 2;
};
struct BF16Weights {
  static __m256 load(const uint8_t* row, int64_t i) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(load128(row + 2 * i)), 16));
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
    __m256 acc[R][T];
    for (auto& row : acc)
      for (auto& v : row) v = _mm256_setzero_ps();
    const auto step = [&](const uint8_t* const* wp, const float* const* xp, int64_t i0) {
      __m256 xv[T];
      for (int j = 0; j < T; ++j) xv[j] = _mm256_loadu_ps(xp[j] + i0);
      for (int i = 0; i < R; ++i) {
        const __m256 wv = W::load(wp[i], i0);
        for (int j = 0; j < T; ++j) acc[i][j] = _mm256_fmadd_ps(wv, xv[j], acc[i][j]);
      }
    };
    const int64_t whole = a.k / 8 * 8;
    for (int64_t i0 = 0; i0 < whole; i0 += 8) step(w, x, i0);
    if (whole < a.k) {
      const size_t left = static_cast<size_t>(a.k - whole);
      alignas(32) uint8_t wbuf[R][32] = {};
      alignas(32) float xbuf[T][8] = {};
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
      for (int i = 0; i < R; ++i) a.y[(t + j) * a.ldy + r + i] = hsum(acc[i][j]);
  }
};

}  // namespace

const MatmulKernels* matmul_kernels_avx2() {
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
                                     nullptr, nullptr, nullptr};
  return &kernels;
}

}  // namespace josi::kernels::detail

#else

namespace josi::kernels::detail {
const MatmulKernels* matmul_kernels_avx2() { return nullptr; }
}  // namespace josi::kernels::detail

#endif
