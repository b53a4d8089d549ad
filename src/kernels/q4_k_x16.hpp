#pragma once
// Q4_K weights rearranged in groups of 16 rows, so that a 512-bit register
// holds 4 weight bytes of each of the 16 rows and one integer dot-product
// instruction advances all 16 rows at once (lanes = rows). The per-row
// scales then apply lane-wise, once per sub-block, instead of being spread
// across the lanes of one row's products for every 64 weights, which kept
// the row-layout kernel busy with arithmetic rather than reading memory.
//
// A group holds, for each 256-weight super-block b, one GroupBlock; its
// bytes are the rows' Q4_K bytes moved, with the 6-bit scales and mins
// unpacked to bytes (2368 bytes against 16 × 144 = 2304 in the file).
// Private to kernels/ and its tests; the ISA files use only the layout.
#include <cstddef>
#include <cstdint>

namespace josi::kernels::detail {

constexpr int64_t kQ4KGroupRows = 16;

struct Q4KGroupBlock {
  uint16_t d[16];               // row r's d (F16)
  uint16_t dmin[16];            // row r's dmin (F16)
  uint8_t scales[8][16];        // sub-block s of row r: scales[s][r]
  uint8_t mins[4][16][2];       // mins of sub-blocks 2p, 2p+1 of row r: mins[p][r][0..1]
  uint8_t qs[4][8][16][4];      // chunk c, step g, row r: the row's qs[32c + 4g .. 32c + 4g + 3]
};
static_assert(sizeof(Q4KGroupBlock) == 2368);

// Bytes of a rows × k Q4_K matrix in groups (rows a multiple of 16, k of 256).
inline uint64_t q4_k_x16_bytes(int64_t rows, int64_t k) {
  return static_cast<uint64_t>(rows / kQ4KGroupRows) * static_cast<uint64_t>(k / 256) * sizeof(Q4KGroupBlock);
}

// The row-layout Q4_K matrix `w` (rows × k) -> groups at `out`
// (q4_k_x16_bytes(rows, k) bytes).
void pack_q4_k_x16(const uint8_t* w, int64_t rows, int64_t k, uint8_t* out);
// Row `row` of a grouped matrix back in Q4_K blocks (k / 256 × 144 bytes):
// the bytes it was packed from.
void unpack_q4_k_x16_row(const uint8_t* packed, int64_t k, int64_t row, uint8_t* out);

}  // namespace josi::kernels::detail
