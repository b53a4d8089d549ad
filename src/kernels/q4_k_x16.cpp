#include "kernels/q4_k_x16.hpp"

#include <cstring>

#include "quant/blocks.hpp"

namespace josi::kernels::detail {

using quant::detail::BlockQ4_K;

void pack_q4_k_x16(const uint8_t* w, int64_t rows, int64_t k, uint8_t* out) {
  const int64_t nb = k / 256;
  const auto row_bytes = static_cast<size_t>(nb) * sizeof(BlockQ4_K);
  auto* group = reinterpret_cast<Q4KGroupBlock*>(out);
  for (int64_t g = 0; g < rows / kQ4KGroupRows; ++g) {
    for (int64_t b = 0; b < nb; ++b, ++group) {
      for (int r = 0; r < kQ4KGroupRows; ++r) {
        BlockQ4_K blk;
        std::memcpy(&blk, w + static_cast<size_t>(g * kQ4KGroupRows + r) * row_bytes + static_cast<size_t>(b) * sizeof blk,
                    sizeof blk);
        group->d[r] = blk.d;
        group->dmin[r] = blk.dmin;
        for (int s = 0; s < 8; ++s) {
          int sc, m;
          quant::detail::unpack_k_scale(blk.scales, s, sc, m);
          group->scales[s][r] = static_cast<uint8_t>(sc);
          group->mins[s / 2][r][s % 2] = static_cast<uint8_t>(m);
        }
        for (int c = 0; c < 4; ++c)
          for (int step = 0; step < 8; ++step) std::memcpy(group->qs[c][step][r], blk.qs + 32 * c + 4 * step, 4);
      }
    }
  }
}

void unpack_q4_k_x16_row(const uint8_t* packed, int64_t k, int64_t row, uint8_t* out) {
  const int64_t nb = k / 256;
  const auto* group = reinterpret_cast<const Q4KGroupBlock*>(packed) + (row / kQ4KGroupRows) * nb;
  const auto r = static_cast<size_t>(row % kQ4KGroupRows);
  for (int64_t b = 0; b < nb; ++b, ++group) {
    BlockQ4_K blk;
    blk.d = group->d[r];
    blk.dmin = group->dmin[r];
    uint8_t sc[8], m[8];
    for (int s = 0; s < 8; ++s) {
      sc[s] = group->scales[s][r];
      m[s] = group->mins[s / 2][r][s % 2];
    }
    quant::detail::pack_k_scales(sc, m, blk.scales);
    for (int c = 0; c < 4; ++c)
      for (int step = 0; step < 8; ++step) std::memcpy(blk.qs + 32 * c + 4 * step, group->qs[c][step][r], 4);
    std::memcpy(out + static_cast<size_t>(b) * sizeof blk, &blk, sizeof blk);
  }
}

}  // namespace josi::kernels::detail
