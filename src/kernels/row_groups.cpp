#include "kernels/row_groups.hpp"

#include <cstring>

#include "quant/blocks.hpp"

namespace josi::kernels::detail {

using formats::GgmlType;
using quant::detail::BlockQ4_K;
using quant::detail::BlockQ6_K;
using quant::detail::BlockQ8_0;

// The two Q8_0 blocks one group block holds, as the file has them.
struct Q8_0Pair {
  BlockQ8_0 block[2];
};
static_assert(sizeof(Q8_0Pair) == 68);

namespace {

// Row r's block b of a row-layout matrix of nb blocks per row.
template <class Block>
Block row_block(const uint8_t* w, int64_t nb, int64_t r, int64_t b) {
  Block blk;
  std::memcpy(&blk, w + (r * nb + b) * static_cast<int64_t>(sizeof blk), sizeof blk);
  return blk;
}

void to_group(const BlockQ4_K& blk, int r, Q4KGroupBlock& group) {
  group.d[r] = blk.d;
  group.dmin[r] = blk.dmin;
  for (int s = 0; s < 8; ++s) {
    int sc, m;
    quant::detail::unpack_k_scale(blk.scales, s, sc, m);
    group.scales[s][r] = static_cast<uint8_t>(sc);
    group.mins[s / 2][r][s % 2] = static_cast<uint8_t>(m);
  }
  for (int c = 0; c < 4; ++c)
    for (int g = 0; g < 8; ++g) std::memcpy(group.qs[c][g][r], blk.qs + 32 * c + 4 * g, 4);
}

BlockQ4_K from_group(const Q4KGroupBlock& group, int r) {
  BlockQ4_K blk;
  blk.d = group.d[r];
  blk.dmin = group.dmin[r];
  uint8_t sc[8], m[8];
  for (int s = 0; s < 8; ++s) {
    sc[s] = group.scales[s][r];
    m[s] = group.mins[s / 2][r][s % 2];
  }
  quant::detail::pack_k_scales(sc, m, blk.scales);
  for (int c = 0; c < 4; ++c)
    for (int g = 0; g < 8; ++g) std::memcpy(blk.qs + 32 * c + 4 * g, group.qs[c][g][r], 4);
  return blk;
}

// Where weight i (0..255) of a Q6_K block keeps its bits: the low 4 in
// ql[*low] (shifted by low_shift), the top 2 in qh[*high] at high_shift.
struct Q6Bits {
  int low, low_shift, high, high_shift;
};
Q6Bits q6_bits(int i) {
  const int h = i / 128, g = (i % 128) / 32, l = i % 32;
  return {64 * h + l + 32 * (g % 2), 4 * (g / 2), 32 * h + l, 2 * g};
}

void to_group(const BlockQ6_K& blk, int r, Q6KGroupBlock& group) {
  group.d[r] = blk.d;
  for (int j = 0; j < 16; ++j) group.scales[j][r] = blk.scales[j];
  for (int j = 0; j < 16; ++j) std::memset(group.qh[j][r], 0, 4);
  for (int i = 0; i < 256; ++i) {
    const Q6Bits at = q6_bits(i);
    const int low = (blk.ql[at.low] >> at.low_shift) & 15, high = (blk.qh[at.high] >> at.high_shift) & 3;
    const int j = i / 16, w = i % 16;
    uint8_t& ql = group.ql[j][w / 8][r][w % 4];
    ql = static_cast<uint8_t>(w % 8 < 4 ? (ql & 0xf0) | low : (ql & 0x0f) | low << 4);
    group.qh[j][r][w % 4] = static_cast<uint8_t>(group.qh[j][r][w % 4] | high << (2 * (w / 4)));
  }
}

BlockQ6_K from_group(const Q6KGroupBlock& group, int r) {
  BlockQ6_K blk{};
  blk.d = group.d[r];
  for (int j = 0; j < 16; ++j) blk.scales[j] = group.scales[j][r];
  for (int i = 0; i < 256; ++i) {
    const int j = i / 16, w = i % 16;
    const int low = (group.ql[j][w / 8][r][w % 4] >> (w % 8 < 4 ? 0 : 4)) & 15;
    const int high = (group.qh[j][r][w % 4] >> (2 * (w / 4))) & 3;
    const Q6Bits at = q6_bits(i);
    blk.ql[at.low] = static_cast<uint8_t>(blk.ql[at.low] | low << at.low_shift);
    blk.qh[at.high] = static_cast<uint8_t>(blk.qh[at.high] | high << at.high_shift);
  }
  return blk;
}

void to_group(const Q8_0Pair& pair, int r, Q8_0GroupBlock& group) {
  for (int h = 0; h < 2; ++h) {
    group.d[h][r] = pair.block[h].d;
    for (int i = 0; i < 32; ++i) group.qs[h][i / 4][r][i % 4] = static_cast<uint8_t>(pair.block[h].qs[i] + 128);
  }
}

Q8_0Pair from_group(const Q8_0GroupBlock& group, int r) {
  Q8_0Pair pair;
  for (int h = 0; h < 2; ++h) {
    pair.block[h].d = group.d[h][r];
    for (int i = 0; i < 32; ++i) pair.block[h].qs[i] = static_cast<int8_t>(group.qs[h][i / 4][r][i % 4] - 128);
  }
  return pair;
}

template <class Block, class Group>
void pack(const uint8_t* w, int64_t rows, int64_t nb, uint8_t* out) {
  auto* group = reinterpret_cast<Group*>(out);
  for (int64_t g = 0; g < rows / kGroupRows; ++g)
    for (int64_t b = 0; b < nb; ++b, ++group)
      for (int r = 0; r < kGroupRows; ++r) to_group(row_block<Block>(w, nb, g * kGroupRows + r, b), r, *group);
}

template <class Block, class Group>
void unpack(const uint8_t* packed, int64_t nb, int64_t row, uint8_t* out) {
  const auto* group = reinterpret_cast<const Group*>(packed) + row / kGroupRows * nb;
  for (int64_t b = 0; b < nb; ++b) {
    const Block blk = from_group(group[b], static_cast<int>(row % kGroupRows));
    std::memcpy(out + b * static_cast<int64_t>(sizeof blk), &blk, sizeof blk);
  }
}

}  // namespace

int64_t group_block_weights(GgmlType type) { return type == GgmlType::Q8_0 ? 64 : 256; }

bool fits_row_groups(GgmlType type, int64_t rows, int64_t k) {
  return (type == GgmlType::Q4_K || type == GgmlType::Q6_K || type == GgmlType::Q8_0) && rows > 0 &&
         rows % kGroupRows == 0 && k > 0 && k % group_block_weights(type) == 0;
}

uint64_t row_groups_bytes(GgmlType type, int64_t rows, int64_t k) {
  const size_t block = type == GgmlType::Q4_K   ? sizeof(Q4KGroupBlock)
                       : type == GgmlType::Q6_K ? sizeof(Q6KGroupBlock)
                                                : sizeof(Q8_0GroupBlock);
  return static_cast<uint64_t>(rows / kGroupRows) * static_cast<uint64_t>(k / group_block_weights(type)) * block;
}

void pack_row_groups(GgmlType type, const uint8_t* w, int64_t rows, int64_t k, uint8_t* out) {
  const int64_t nb = k / group_block_weights(type);
  if (type == GgmlType::Q4_K)
    pack<BlockQ4_K, Q4KGroupBlock>(w, rows, nb, out);
  else if (type == GgmlType::Q6_K)
    pack<BlockQ6_K, Q6KGroupBlock>(w, rows, nb, out);
  else
    pack<Q8_0Pair, Q8_0GroupBlock>(w, rows, nb, out);
}

void unpack_group_row(GgmlType type, const uint8_t* packed, int64_t k, int64_t row, uint8_t* out) {
  const int64_t nb = k / group_block_weights(type);
  if (type == GgmlType::Q4_K)
    unpack<BlockQ4_K, Q4KGroupBlock>(packed, nb, row, out);
  else if (type == GgmlType::Q6_K)
    unpack<BlockQ6_K, Q6KGroupBlock>(packed, nb, row, out);
  else
    unpack<Q8_0Pair, Q8_0GroupBlock>(packed, nb, row, out);
}

}  // namespace josi::kernels::detail
