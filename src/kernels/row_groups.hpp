#pragma once
// K-quant weights rearranged in groups of 16 rows, so that a 512-bit
// register holds 4 weight bytes of each of the 16 rows and one integer
// dot-product instruction advances all 16 rows at once (lanes = rows). The
// per-row scales then apply lane-wise, once per sub-block, instead of being
// spread across the lanes of one row's products for every 64 weights, which
// kept the row-layout kernels busy with arithmetic rather than reading memory.
//
// A group holds, for each 256-weight super-block, one Q4KGroupBlock or
// Q6KGroupBlock: the 16 rows' bytes of that super-block moved (Q4_K's 6-bit
// scales and mins unpacked to bytes: 2368 bytes against 16 × 144 = 2304 in
// the file; Q6_K's 3360 are the file's 16 × 210); for Q8_0, one
// Q8_0GroupBlock per 64 weights (two of the file's blocks), the file's
// 16 × 68 bytes, a whole number of 64-byte lines.
// Private to kernels/ and its tests; the ISA files use only the structs.
#include <cstddef>
#include <cstdint>

#include "formats/ggml_type.hpp"

namespace josi::kernels::detail {

constexpr int64_t kGroupRows = 16;

struct Q4KGroupBlock {
  uint16_t d[16];           // row r's d (F16)
  uint16_t dmin[16];        // row r's dmin (F16)
  uint8_t scales[8][16];    // sub-block s of row r: scales[s][r]
  uint8_t mins[4][16][2];   // mins of sub-blocks 2p, 2p+1 of row r: mins[p][r][0..1]
  uint8_t qs[4][8][16][4];  // chunk c, step g, row r: the row's qs[32c + 4g .. 32c + 4g + 3]
};
static_assert(sizeof(Q4KGroupBlock) == 2368);

// Q6_K levels u = q + 32 (0..63) of weights 16j + i: the low 4 bits in
// ql[j][i / 8][r][i % 4] (low nibble for i % 8 < 4, high nibble otherwise),
// the top 2 bits in qh[j][r][i % 4] at bit 2·(i / 4).
struct Q6KGroupBlock {
  uint16_t d[16];         // row r's d (F16)
  int8_t scales[16][16];  // 16-weight group j of row r: scales[j][r]
  uint8_t ql[16][2][16][4];
  uint8_t qh[16][16][4];
};
static_assert(sizeof(Q6KGroupBlock) == 3360);

// Q8_0 levels as unsigned bytes u = q + 128 (VPDPBUSD's unsigned operand):
// a dot product gives Σ q·x + 128·Σx, and the kernel takes 128·Σx back out
// with the activations' per-block sums. The levels first, so that with the
// matrix 64-byte aligned every vector load is one cache line.
struct Q8_0GroupBlock {
  uint8_t qs[2][8][16][4];  // block h, step g, row r: the row's qs[4g .. 4g + 3] + 128
  uint16_t d[2][16];        // block h of row r: d (F16)
};
static_assert(sizeof(Q8_0GroupBlock) == 1088);

// Weights a group block covers: 256 for the K-quants, 64 for Q8_0.
int64_t group_block_weights(formats::GgmlType type);

// Q4_K, Q6_K and Q8_0 matrices of whole groups (rows a multiple of 16, k of
// the group block).
bool fits_row_groups(formats::GgmlType type, int64_t rows, int64_t k);
// Bytes of a rows × k matrix in groups.
uint64_t row_groups_bytes(formats::GgmlType type, int64_t rows, int64_t k);
// The row-layout matrix `w` (rows × k) -> groups at `out`.
void pack_row_groups(formats::GgmlType type, const uint8_t* w, int64_t rows, int64_t k, uint8_t* out);
// Row `row` of a grouped matrix back in the type's blocks: the bytes it was
// packed from.
void unpack_group_row(formats::GgmlType type, const uint8_t* packed, int64_t k, int64_t row, uint8_t* out);

}  // namespace josi::kernels::detail
