// The reference path: plain C++, one row·token dot at a time. Each block's
// integer dot product is exact; block results are added in double, so this
// path is as close to the exact product of the quantized operands as float
// scales allow, and the fast paths are tested against it.
#include <cmath>
#include <cstring>
#include <vector>

#include "formats/dtype.hpp"
#include "kernels/isa_kernels.hpp"
#include "kernels/row_groups.hpp"
#include "quant/blocks.hpp"

namespace josi::kernels::detail {

namespace {

using namespace josi::quant::detail;
using formats::GgmlType;

float half(uint16_t h) { return formats::f16_to_f32(h); }

template <class Block>
Block block_at(const uint8_t* row, int64_t b) {
  Block blk;
  std::memcpy(&blk, row + b * static_cast<int64_t>(sizeof blk), sizeof blk);
  return blk;
}

// Blocks of `block` floats -> int8 q and one d per block.
void quantize_blocks(const float* x, int64_t k, int block, int8_t* q, float* d) {
  for (int64_t b = 0; b < k / block; ++b, x += block, q += block) {
    float amax = 0;
    for (int i = 0; i < block; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    const float id = amax > 0 ? 127.f / amax : 0.f;
    d[b] = amax / 127.f;
    for (int i = 0; i < block; ++i) q[i] = static_cast<int8_t>(std::nearbyint(x[i] * id));
  }
}

void quantize_q8_32(const float* x, int64_t k, uint8_t* out, const ActLayout& layout) {
  auto* q = reinterpret_cast<int8_t*>(out);
  auto* d = reinterpret_cast<float*>(out + layout.d);
  auto* s = reinterpret_cast<float*>(out + layout.sums);
  auto* q_sums = reinterpret_cast<int16_t*>(out + layout.q_sums);
  quantize_blocks(x, k, 32, q, d);
  for (int64_t b = 0; b < k / 32; ++b) {
    int sum = 0;
    for (int i = 0; i < 32; ++i) sum += q[32 * b + i];
    s[b] = d[b] * static_cast<float>(sum);
    q_sums[b] = static_cast<int16_t>(sum);
  }
}

void quantize_q8_256(const float* x, int64_t k, uint8_t* out, const ActLayout& layout) {
  auto* q = reinterpret_cast<int8_t*>(out);
  quantize_blocks(x, k, 256, q, reinterpret_cast<float*>(out + layout.d));
  auto* bsums = reinterpret_cast<int16_t*>(out + layout.sums);
  for (int64_t g = 0; g < k / 16; ++g) {
    int sum = 0;
    for (int i = 0; i < 16; ++i) sum += q[16 * g + i];
    bsums[g] = static_cast<int16_t>(sum);
  }
}

// One token's quantized activations.
struct Act {
  const int8_t* q;
  const float* d;
  const float* s;        // 32-blocks
  const int16_t* bsums;  // 256-blocks
};

Act act_of(const GemmArgs& a, int64_t t) {
  const uint8_t* p = a.x + t * static_cast<int64_t>(a.x_stride);
  return {reinterpret_cast<const int8_t*>(p), reinterpret_cast<const float*>(p + a.act.d),
          reinterpret_cast<const float*>(p + a.act.sums), reinterpret_cast<const int16_t*>(p + a.act.sums)};
}

template <class RowDot>
void for_each_output(const GemmArgs& a, int64_t r0, int64_t r1, RowDot dot) {
  for (int64_t t = 0; t < a.n_tokens; ++t)
    for (int64_t r = r0; r < r1; ++r) a.y[t * a.ldy + r] = dot(a.w + r * static_cast<int64_t>(a.row_bytes), t);
}

template <class Weight>
void gemm_float(const GemmArgs& a, int64_t r0, int64_t r1, Weight weight) {
  for_each_output(a, r0, r1, [&](const uint8_t* row, int64_t t) {
    const float* x = reinterpret_cast<const float*>(a.x + t * static_cast<int64_t>(a.x_stride));
    double acc = 0;
    for (int64_t i = 0; i < a.k; ++i) acc += static_cast<double>(weight(row, i)) * x[i];
    return static_cast<float>(acc);
  });
}

void gemm_f32(const GemmArgs& a, int64_t r0, int64_t r1) {
  gemm_float(a, r0, r1, [](const uint8_t* row, int64_t i) {
    float v;
    std::memcpy(&v, row + 4 * i, 4);
    return v;
  });
}

void gemm_f16(const GemmArgs& a, int64_t r0, int64_t r1) {
  gemm_float(a, r0, r1, [](const uint8_t* row, int64_t i) {
    uint16_t h;
    std::memcpy(&h, row + 2 * i, 2);
    return formats::f16_to_f32(h);
  });
}

void gemm_bf16(const GemmArgs& a, int64_t r0, int64_t r1) {
  gemm_float(a, r0, r1, [](const uint8_t* row, int64_t i) {
    uint16_t h;
    std::memcpy(&h, row + 2 * i, 2);
    return formats::bf16_to_f32(h);
  });
}

// Q8_0, Q4_0 and Q5_0: sum over blocks of d·dx·Σ q·x with signed q.
template <class Block, class Weight>
void gemm_signed_32(const GemmArgs& a, int64_t r0, int64_t r1, Weight weight) {
  const int64_t nb = a.k / 32;
  for_each_output(a, r0, r1, [&](const uint8_t* row, int64_t t) {
    const Act x = act_of(a, t);
    double acc = 0;
    for (int64_t b = 0; b < nb; ++b) {
      const auto blk = block_at<Block>(row, b);
      int sumi = 0;
      for (int i = 0; i < 32; ++i) sumi += weight(blk, i) * x.q[32 * b + i];
      acc += half(blk.d) * x.d[b] * static_cast<float>(sumi);
    }
    return static_cast<float>(acc);
  });
}

// The 5th bit of weight i of a Q5_0/Q5_1 block.
template <class Block>
int high_bit(const Block& blk, int i) {
  uint32_t qh;
  std::memcpy(&qh, blk.qh, 4);
  return static_cast<int>((qh >> i) & 1) << 4;
}

template <class Block>
int nibble(const Block& blk, int i) {
  return i < 16 ? blk.qs[i] & 15 : blk.qs[i - 16] >> 4;
}

void gemm_q8_0(const GemmArgs& a, int64_t r0, int64_t r1) {
  gemm_signed_32<BlockQ8_0>(a, r0, r1, [](const BlockQ8_0& blk, int i) { return int{blk.qs[i]}; });
}

void gemm_q4_0(const GemmArgs& a, int64_t r0, int64_t r1) {
  gemm_signed_32<BlockQ4_0>(a, r0, r1, [](const BlockQ4_0& blk, int i) { return nibble(blk, i) - 8; });
}

void gemm_q5_0(const GemmArgs& a, int64_t r0, int64_t r1) {
  gemm_signed_32<BlockQ5_0>(a, r0, r1,
                            [](const BlockQ5_0& blk, int i) { return (nibble(blk, i) | high_bit(blk, i)) - 16; });
}

// Q5_1: d·dx·Σ q·x + m·(dx·Σx).
void gemm_q5_1(const GemmArgs& a, int64_t r0, int64_t r1) {
  const int64_t nb = a.k / 32;
  for_each_output(a, r0, r1, [&](const uint8_t* row, int64_t t) {
    const Act x = act_of(a, t);
    double acc = 0;
    for (int64_t b = 0; b < nb; ++b) {
      const auto blk = block_at<BlockQ5_1>(row, b);
      int sumi = 0;
      for (int i = 0; i < 32; ++i) sumi += (nibble(blk, i) | high_bit(blk, i)) * x.q[32 * b + i];
      acc += half(blk.d) * x.d[b] * static_cast<float>(sumi) + half(blk.m) * x.s[b];
    }
    return static_cast<float>(acc);
  });
}

// Q4_K and Q5_K: d·dx·Σ_j sc_j·Σ q·x − dmin·dx·Σ_j m_j·Σx over the
// sub-blocks j; `level(blk, i)` is weight i's q.
template <class Block, class Level>
void gemm_k_affine(const GemmArgs& a, int64_t r0, int64_t r1, Level level) {
  const int64_t nb = a.k / 256;
  for_each_output(a, r0, r1, [&](const uint8_t* row, int64_t t) {
    const Act x = act_of(a, t);
    double acc = 0;
    for (int64_t b = 0; b < nb; ++b) {
      const auto blk = block_at<Block>(row, b);
      const int8_t* q = x.q + 256 * b;
      const int16_t* bsums = x.bsums + 16 * b;
      int sumi = 0, summ = 0;
      for (int j = 0; j < 8; ++j) {
        int sc, m;
        unpack_k_scale(blk.scales, j, sc, m);
        int dot = 0;
        for (int i = 32 * j; i < 32 * j + 32; ++i) dot += level(blk, i) * q[i];
        sumi += sc * dot;
        summ += m * (bsums[2 * j] + bsums[2 * j + 1]);
      }
      acc += half(blk.d) * x.d[b] * static_cast<float>(sumi) - half(blk.dmin) * x.d[b] * static_cast<float>(summ);
    }
    return static_cast<float>(acc);
  });
}

// Weight i of a Q4_K/Q5_K super-block: chunk c = i / 64 holds it in
// qs[32c + i % 32], low nibble for the chunk's first 32 weights.
template <class Block>
int k_nibble(const Block& blk, int i) {
  const uint8_t byte = blk.qs[32 * (i / 64) + i % 32];
  return i % 64 < 32 ? byte & 15 : byte >> 4;
}

void gemm_q4_k(const GemmArgs& a, int64_t r0, int64_t r1) {
  gemm_k_affine<BlockQ4_K>(a, r0, r1, [](const BlockQ4_K& blk, int i) { return k_nibble(blk, i); });
}

void gemm_q5_k(const GemmArgs& a, int64_t r0, int64_t r1) {
  gemm_k_affine<BlockQ5_K>(a, r0, r1, [](const BlockQ5_K& blk, int i) {
    const int bit = 2 * (i / 64) + (i % 64 < 32 ? 0 : 1);
    return k_nibble(blk, i) | (((blk.qh[i % 32] >> bit) & 1) << 4);
  });
}

// Q4_K, Q6_K and Q8_0 in groups of 16 rows: each group's rows back in the row
// layout, then the row kernel, so both layouts give the same floats here.
template <GgmlType Type, GemmFn RowKernel>
void gemm_groups(const GemmArgs& a, int64_t r0, int64_t r1) {
  std::vector<uint8_t> rows(static_cast<size_t>(kGroupRows) * a.row_bytes);
  for (int64_t g = r0; g < r1; g += kGroupRows) {
    for (int64_t r = 0; r < kGroupRows; ++r)
      unpack_group_row(Type, a.w, a.k, g + r, rows.data() + static_cast<size_t>(r) * a.row_bytes);
    GemmArgs group = a;
    group.w = rows.data();
    group.y = a.y + g;
    RowKernel(group, 0, kGroupRows);
    if (a.term) add_low_rank(*a.term, g, g + kGroupRows, a.n_tokens, a.y, a.ldy);
  }
}

// Weight i (0..255) of a Q6_K super-block, minus 32.
int q6_level(const BlockQ6_K& blk, int i) {
  const int h = i / 128, g = (i % 128) / 32, l = i % 32;
  const uint8_t* ql = blk.ql + 64 * h;
  const uint8_t qh = blk.qh[32 * h + l];
  const int low = g == 0 ? ql[l] & 15 : g == 1 ? ql[l + 32] & 15 : g == 2 ? ql[l] >> 4 : ql[l + 32] >> 4;
  return (low | (((qh >> (2 * g)) & 3) << 4)) - 32;
}

// Q6_K: d·dx·Σ_j scale_j·Σ (q − 32)·x over the 16 groups j of 16 weights.
void gemm_q6_k(const GemmArgs& a, int64_t r0, int64_t r1) {
  const int64_t nb = a.k / 256;
  for_each_output(a, r0, r1, [&](const uint8_t* row, int64_t t) {
    const Act x = act_of(a, t);
    double acc = 0;
    for (int64_t b = 0; b < nb; ++b) {
      const auto blk = block_at<BlockQ6_K>(row, b);
      const int8_t* q = x.q + 256 * b;
      int sumi = 0;
      for (int j = 0; j < 16; ++j) {
        int dot = 0;
        for (int i = 16 * j; i < 16 * j + 16; ++i) dot += q6_level(blk, i) * q[i];
        sumi += blk.scales[j] * dot;
      }
      acc += half(blk.d) * x.d[b] * static_cast<float>(sumi);
    }
    return static_cast<float>(acc);
  });
}

}  // namespace

const MatmulKernels* matmul_kernels_scalar() {
  static const MatmulKernels kernels{quantize_q8_32, quantize_q8_256, gemm_f32,  gemm_f16,  gemm_bf16, gemm_q8_0,
                                     gemm_q4_0,      gemm_q5_0,       gemm_q5_1, gemm_q4_k, gemm_q5_k, gemm_q6_k,
                                     gemm_groups<GgmlType::Q4_K, gemm_q4_k>, gemm_groups<GgmlType::Q6_K, gemm_q6_k>,
                                     gemm_groups<GgmlType::Q8_0, gemm_q8_0>};
  return &kernels;
}

}  // namespace josi::kernels::detail
