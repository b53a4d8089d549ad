#pragma once
// How the fast paths walk a row range: tiles of R weight rows × T tokens,
// each tile one call of Kernel::tile<R, T>(args, row, token) that keeps its
// R·T accumulators in registers and decodes each weight block once for the
// T tokens. Included only by the ISA files, each of which gets its own
// internal copy (everything here has internal linkage; see isa_kernels.hpp).
//
// Every output's float sum runs over the blocks in the same order whatever
// the tile, so the results do not depend on the tiling or the thread split.
#include <cstdint>

#include "kernels/isa_kernels.hpp"

namespace josi::kernels::detail {
namespace {

// Rows of a group share the L2 cache while every token tile passes over them.
constexpr int64_t kGroupBytes = 256 * 1024;

// How far ahead of the weights being read a tile asks for them: the
// hardware prefetcher alone leaves each core ~20% short of its streaming
// bandwidth while the tile computes (measured on the 16-row groups).
constexpr int64_t kPrefetchBytes = 4096;

template <class Kernel, int R, int T>
void row_tiles(const GemmArgs& a, int64_t r0, int64_t r1, int64_t t) {
  int64_t r = r0;
  for (; r + R <= r1; r += R) {
    if constexpr (T == 1) {  // one token: a stream through the rows
      const uint8_t* ahead = a.w + r * static_cast<int64_t>(a.row_bytes) + kPrefetchBytes;
      for (int64_t line = 0; line < R * static_cast<int64_t>(a.row_bytes); line += 64) __builtin_prefetch(ahead + line);
    }
    Kernel::template tile<R, T>(a, r, t);
  }
  for (; r < r1; ++r) Kernel::template tile<1, T>(a, r, t);
}

// Rows × tokens tiles over a row range, R rows at a time; the rows of a
// group share the L2 cache while each token tile passes over them.
template <class Kernel, int R>
void gemm_groups(const GemmArgs& a, int64_t r0, int64_t r1) {
  constexpr int T = Kernel::kGemmTokens;
  int64_t group = kGroupBytes / static_cast<int64_t>(a.row_bytes) / R * R;
  if (group < R) group = R;
  for (int64_t g = r0; g < r1; g += group) {
    const int64_t g1 = g + group < r1 ? g + group : r1;
    int64_t t = 0;
    for (; t + T <= a.n_tokens; t += T) row_tiles<Kernel, R, T>(a, g, g1, t);
    switch (a.n_tokens - t) {
      case 3:
        if constexpr (T > 3) row_tiles<Kernel, R, 3>(a, g, g1, t);
        break;
      case 2:
        if constexpr (T > 2) row_tiles<Kernel, R, 2>(a, g, g1, t);
        break;
      case 1:
        row_tiles<Kernel, R, 1>(a, g, g1, t);
        break;
      default:
        break;
    }
  }
}

// Up to this many tokens (a token with its drafts) the weights are read as
// for one token, a row at a time: memory, not arithmetic, bounds them.
constexpr int64_t kSmallBatchTokens = 8;

// Kernel::kGemvRows rows at a time for one token (1 for the quantized types:
// a single stream through memory reads 26-28 GB/s where four interleaved
// rows read 16), and no more than that for a small batch (a 2-token batch
// took 2.2x a token's time with 2-row tiles, 1.2x with 1-row tiles);
// Kernel::kGemmRows × Kernel::kGemmTokens tiles otherwise.
template <class Kernel>
void gemm_tiled(const GemmArgs& a, int64_t r0, int64_t r1) {
  if (a.n_tokens == 1) {
    row_tiles<Kernel, Kernel::kGemvRows, 1>(a, r0, r1, 0);
    return;
  }
  if (a.n_tokens <= kSmallBatchTokens) {
    gemm_groups<Kernel, (Kernel::kGemvRows < Kernel::kGemmRows ? Kernel::kGemvRows : Kernel::kGemmRows)>(a, r0, r1);
    return;
  }
  gemm_groups<Kernel, Kernel::kGemmRows>(a, r0, r1);
}

// One token's quantized activations (isa_kernels.hpp's layout).
struct Q8Token {
  const int8_t* q;
  const float* d;
  const float* s;         // 32-blocks
  const int16_t* bsums;   // 256-blocks
  const int16_t* q_sums;  // 32-blocks
};

inline Q8Token q8_token(const GemmArgs& a, int64_t t) {
  const uint8_t* p = a.x + t * static_cast<int64_t>(a.x_stride);
  return {reinterpret_cast<const int8_t*>(p), reinterpret_cast<const float*>(p + a.act.d),
          reinterpret_cast<const float*>(p + a.act.sums), reinterpret_cast<const int16_t*>(p + a.act.sums),
          reinterpret_cast<const int16_t*>(p + a.act.q_sums)};
}

inline const float* f32_token(const GemmArgs& a, int64_t t) {
  return reinterpret_cast<const float*>(a.x + t * static_cast<int64_t>(a.x_stride));
}

inline const uint8_t* weight_row(const GemmArgs& a, int64_t r) { return a.w + r * static_cast<int64_t>(a.row_bytes); }

}  // namespace
}  // namespace josi::kernels::detail
