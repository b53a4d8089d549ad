// vector_ops.hpp, NEON path (every arm64 CPU; the dot-product path uses it
// too, these are float ops): 4 floats per step, the last n % 4 through a
// zero-padded buffer. Half floats convert with FCVTL/FCVTN, which round to
// nearest even like the reference.
#include "kernels/isa_kernels.hpp"

#if defined(__aarch64__)

#include <arm_neon.h>

#include <cstring>

namespace josi::kernels::detail {

namespace {

float32x4_t load_tail(const float* p, int64_t left) {
  float buf[4] = {};
  std::memcpy(buf, p, static_cast<size_t>(left) * sizeof(float));
  return vld1q_f32(buf);
}
float32x4_t load_f16(const uint16_t* p) { return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p))); }
float32x4_t load_f16_tail(const uint16_t* p, int64_t left) {
  uint16_t buf[4] = {};
  std::memcpy(buf, p, static_cast<size_t>(left) * sizeof(uint16_t));
  return load_f16(buf);
}

float dot_f32(const float* a, const float* b, int64_t n) {
  float32x4_t acc0 = vdupq_n_f32(0), acc1 = vdupq_n_f32(0);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    acc0 = vfmaq_f32(acc0, vld1q_f32(a + i), vld1q_f32(b + i));
    acc1 = vfmaq_f32(acc1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
  }
  for (; i + 4 <= n; i += 4) acc0 = vfmaq_f32(acc0, vld1q_f32(a + i), vld1q_f32(b + i));
  if (i < n) acc1 = vfmaq_f32(acc1, load_tail(a + i, n - i), load_tail(b + i, n - i));
  return vaddvq_f32(vaddq_f32(acc0, acc1));
}

float dot_f32_f16(const float* a, const uint16_t* b, int64_t n) {
  float32x4_t acc0 = vdupq_n_f32(0), acc1 = vdupq_n_f32(0);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    acc0 = vfmaq_f32(acc0, vld1q_f32(a + i), load_f16(b + i));
    acc1 = vfmaq_f32(acc1, vld1q_f32(a + i + 4), load_f16(b + i + 4));
  }
  for (; i + 4 <= n; i += 4) acc0 = vfmaq_f32(acc0, vld1q_f32(a + i), load_f16(b + i));
  if (i < n) acc1 = vfmaq_f32(acc1, load_tail(a + i, n - i), load_f16_tail(b + i, n - i));
  return vaddvq_f32(vaddq_f32(acc0, acc1));
}

void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), load_f16(x + i), a));
  if (i < n) {
    float buf[4];
    vst1q_f32(buf, vfmaq_n_f32(load_tail(y + i, n - i), load_f16_tail(x + i, n - i), a));
    std::memcpy(y + i, buf, static_cast<size_t>(n - i) * sizeof(float));
  }
}

void f32_to_f16(const float* x, uint16_t* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1_u16(y + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(x + i))));
  if (i < n) {
    uint16_t buf[4];
    vst1_u16(buf, vreinterpret_u16_f16(vcvt_f16_f32(load_tail(x + i, n - i))));
    std::memcpy(y + i, buf, static_cast<size_t>(n - i) * sizeof(uint16_t));
  }
}

void dot_f32_f16_rows(const float* a, const uint16_t* rows, int64_t stride, int64_t n_rows, int64_t n, float* out) {
  for (int64_t j = 0; j < n_rows; ++j) out[j] = dot_f32_f16(a, rows + j * stride, n);
}

void axpy_f16_rows(const float* w, const uint16_t* rows, int64_t stride, int64_t n_rows, int64_t n, float* y) {
  for (int64_t j = 0; j < n_rows; ++j) axpy_f16(w[j], rows + j * stride, y, n);
}

// Q8_0 cache rows (vector_ops.hpp): a block's 32 levels as eight vectors
// of floats, its scale.
void q8_0_levels(const uint8_t* block, float32x4_t (&out)[8]) {
  for (int h = 0; h < 2; ++h) {
    const int8x16_t q = vld1q_s8(reinterpret_cast<const int8_t*>(block + 2 + 16 * h));
    const int16x8_t lo = vmovl_s8(vget_low_s8(q)), hi = vmovl_s8(vget_high_s8(q));
    out[4 * h + 0] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(lo)));
    out[4 * h + 1] = vcvtq_f32_s32(vmovl_s16(vget_high_s16(lo)));
    out[4 * h + 2] = vcvtq_f32_s32(vmovl_s16(vget_low_s16(hi)));
    out[4 * h + 3] = vcvtq_f32_s32(vmovl_s16(vget_high_s16(hi)));
  }
}
float q8_0_scale(const uint8_t* block) {
  uint16_t d;
  std::memcpy(&d, block, 2);
  return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(d))), 0);
}

void dot_f32_q8_0_rows(const float* a, const uint8_t* rows, int64_t stride, int64_t n_rows, int64_t n, float* out) {
  for (int64_t j = 0; j < n_rows; ++j) {
    float32x4_t acc = vdupq_n_f32(0);
    for (int64_t b = 0; b < n / 32; ++b) {
      const uint8_t* block = rows + j * stride + 34 * b;
      float32x4_t q[8];
      q8_0_levels(block, q);
      float32x4_t p = vmulq_f32(vld1q_f32(a + 32 * b), q[0]);
      for (int v = 1; v < 8; ++v) p = vfmaq_f32(p, vld1q_f32(a + 32 * b + 4 * v), q[v]);
      acc = vfmaq_n_f32(acc, p, q8_0_scale(block));
    }
    out[j] = vaddvq_f32(acc);
  }
}

// One block of y (eight vectors) in registers across all rows.
void axpy_q8_0_rows(const float* w, const uint8_t* rows, int64_t stride, int64_t n_rows, int64_t n, float* y) {
  for (int64_t b = 0; b < n / 32; ++b) {
    float32x4_t acc[8];
    for (int v = 0; v < 8; ++v) acc[v] = vld1q_f32(y + 32 * b + 4 * v);
    for (int64_t j = 0; j < n_rows; ++j) {
      const uint8_t* block = rows + j * stride + 34 * b;
      float32x4_t q[8];
      q8_0_levels(block, q);
      const float c = w[j] * q8_0_scale(block);
      for (int v = 0; v < 8; ++v) acc[v] = vfmaq_n_f32(acc[v], q[v], c);
    }
    for (int v = 0; v < 8; ++v) vst1q_f32(y + 32 * b + 4 * v, acc[v]);
  }
}

// A panel's 16 rows are four vectors: four independent chains of FMAs.
void add_panels_f16(const float* u, int64_t rank, const uint16_t* panels, int64_t n_panels, float* y) {
  for (int64_t p = 0; p < n_panels; ++p, panels += rank * 16, y += 16) {
    float32x4_t acc[4];
    for (int v = 0; v < 4; ++v) acc[v] = vld1q_f32(y + 4 * v);
    for (int64_t j = 0; j < rank; ++j)
      for (int v = 0; v < 4; ++v) acc[v] = vfmaq_n_f32(acc[v], load_f16(panels + j * 16 + 4 * v), u[j]);
    for (int v = 0; v < 4; ++v) vst1q_f32(y + 4 * v, acc[v]);
  }
}

// R rows × 4 vectors (16 columns) of c in registers; b's four vectors
// loaded once per i for all R rows.
template <int R>
void gemm_block(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t k, bool accumulate) {
  float32x4_t acc[R][4];
  for (int r = 0; r < R; ++r)
    for (int w = 0; w < 4; ++w) acc[r][w] = accumulate ? vld1q_f32(c + r * ldc + 4 * w) : vdupq_n_f32(0);
  for (int64_t i = 0; i < k; ++i) {
    float32x4_t bv[4];
    for (int w = 0; w < 4; ++w) bv[w] = vld1q_f32(b + i * ldb + 4 * w);
    for (int r = 0; r < R; ++r) {
      const float32x4_t av = vdupq_n_f32(a[r * lda + i]);
      for (int w = 0; w < 4; ++w) acc[r][w] = vfmaq_f32(acc[r][w], av, bv[w]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int w = 0; w < 4; ++w) vst1q_f32(c + r * ldc + 4 * w, acc[r][w]);
}

void gemm_f32_tile(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t rows, int64_t k,
                   int64_t n, bool accumulate) {
  for (int64_t j = 0; j < n; j += 16) {
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4) gemm_block<4>(a + r * lda, lda, b + j, ldb, c + r * ldc + j, ldc, k, accumulate);
    for (; r < rows; ++r) gemm_block<1>(a + r * lda, lda, b + j, ldb, c + r * ldc + j, ldc, k, accumulate);
  }
}

}  // namespace

const VectorKernels* vector_kernels_neon() {
  static const VectorKernels kernels{dot_f32,           dot_f32_f16,    axpy_f16,      f32_to_f16,
                                     dot_f32_f16_rows,  axpy_f16_rows,  dot_f32_q8_0_rows,
                                     axpy_q8_0_rows,    add_panels_f16, gemm_f32_tile};
  return &kernels;
}

}  // namespace josi::kernels::detail

#else

namespace josi::kernels::detail {
const VectorKernels* vector_kernels_neon() { return nullptr; }
}  // namespace josi::kernels::detail

#endif
