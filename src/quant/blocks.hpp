#pragma once
// Packed ggml block layouts (ggml's quantized blocks)
// and the per-type kernels block_quant.cpp dispatches to. Private to quant/.
//
// The structs only fix offsets and sizes; kernels copy a block in or out with
// memcpy because rows may start at any byte (a Q8_0 row is 34·k bytes), so a
// block pointer into the caller's buffer could be misaligned.
#include <bit>
#include <cstdint>

namespace josi::quant::detail {

static_assert(std::endian::native == std::endian::little, "ggml blocks are little-endian");

constexpr int kQK = 32;    // weights per Q8_0/Q4_0/Q5_0/Q5_1 block
constexpr int kQKK = 256;  // weights per K-quant super-block

struct BlockQ8_0 {
  uint16_t d;  // fp16
  int8_t qs[kQK];
};
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];  // weight j: low nibble of qs[j]; weight j+16: high nibble
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];  // u32 little-endian: bit j = 5th bit of weight j (bytes avoid padding)
  uint8_t qs[kQK / 2];
};
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];  // 8 six-bit scales and 8 six-bit mins
  uint8_t qs[kQKK / 2];
};
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[kQKK / 8];
  uint8_t qs[kQKK / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQKK / 2];
  uint8_t qh[kQKK / 4];
  int8_t scales[kQKK / 16];
  uint16_t d;
};

static_assert(sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_0) == 18);
static_assert(sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24);
static_assert(sizeof(BlockQ4_K) == 144);
static_assert(sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);

// Q4_K/Q5_K 12-byte scale packing: sub-block j < 4 keeps its 6-bit scale in
// scales[j] and min in scales[j+4]; j >= 4 splits them into the low nibbles
// (scale) / high nibbles (min) of scales[j+4] plus the top two bits of
// scales[j-4] (scale) / scales[j] (min).
inline void unpack_k_scale(const uint8_t* scales, int j, int& sc, int& m) {
  if (j < 4) {
    sc = scales[j] & 63;
    m = scales[j + 4] & 63;
  } else {
    sc = (scales[j + 4] & 15) | ((scales[j - 4] >> 6) << 4);
    m = (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4);
  }
}
inline void pack_k_scales(const uint8_t* sc, const uint8_t* m, uint8_t* scales) {
  for (int j = 0; j < 4; ++j) {
    scales[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    scales[j + 4] = static_cast<uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
    scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
  }
}

// Kernels over `nb` whole blocks. `importance` is null or one value per weight.
void quantize_q8_0(const float* x, void* out, int64_t nb, const float* importance);
void quantize_q4_0(const float* x, void* out, int64_t nb, const float* importance);
void quantize_q5_0(const float* x, void* out, int64_t nb, const float* importance);
void quantize_q5_1(const float* x, void* out, int64_t nb, const float* importance);
void quantize_q4_k(const float* x, void* out, int64_t nb, const float* importance);
void quantize_q5_k(const float* x, void* out, int64_t nb, const float* importance);
void quantize_q6_k(const float* x, void* out, int64_t nb, const float* importance);

void dequantize_q8_0(const void* in, float* y, int64_t nb);
void dequantize_q4_0(const void* in, float* y, int64_t nb);
void dequantize_q5_0(const void* in, float* y, int64_t nb);
void dequantize_q5_1(const void* in, float* y, int64_t nb);
void dequantize_q4_k(const void* in, float* y, int64_t nb);
void dequantize_q5_k(const void* in, float* y, int64_t nb);
void dequantize_q6_k(const void* in, float* y, int64_t nb);

}  // namespace josi::quant::detail
