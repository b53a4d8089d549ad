#include "kernels/vector_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "formats/dtype.hpp"
#include "kernels/cpu_features.hpp"
#include "kernels/isa_kernels.hpp"

namespace josi::kernels {

namespace detail {

namespace {

// The reference path; sums in double like the scalar matmul.
float scalar_dot_f32(const float* a, const float* b, int64_t n) {
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(acc);
}

float scalar_dot_f32_f16(const float* a, const uint16_t* b, int64_t n) {
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += static_cast<double>(a[i]) * formats::f16_to_f32(b[i]);
  return static_cast<float>(acc);
}

void scalar_axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * formats::f16_to_f32(x[i]);
}

void scalar_f32_to_f16(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = formats::f32_to_f16(x[i]);
}

void scalar_dot_f32_f16_rows(const float* a, const uint16_t* rows, int64_t stride, int64_t n_rows, int64_t n,
                             float* out) {
  for (int64_t j = 0; j < n_rows; ++j) out[j] = scalar_dot_f32_f16(a, rows + j * stride, n);
}

void scalar_axpy_f16_rows(const float* w, const uint16_t* rows, int64_t stride, int64_t n_rows, int64_t n, float* y) {
  for (int64_t j = 0; j < n_rows; ++j) scalar_axpy_f16(w[j], rows + j * stride, y, n);
}

// Q8_0 block b of a cache row: its scale and its levels.
float q8_0_scale(const uint8_t* row, int64_t b) {
  uint16_t d;
  std::memcpy(&d, row + b * kQ8_0BlockBytes, 2);
  return formats::f16_to_f32(d);
}
const int8_t* q8_0_levels(const uint8_t* row, int64_t b) {
  return reinterpret_cast<const int8_t*>(row + b * kQ8_0BlockBytes + 2);
}

void scalar_dot_f32_q8_0_rows(const float* a, const uint8_t* rows, int64_t stride, int64_t n_rows, int64_t n,
                              float* out) {
  for (int64_t j = 0; j < n_rows; ++j) {
    const uint8_t* row = rows + j * stride;
    double acc = 0;
    for (int64_t b = 0; b < n / kQ8_0Block; ++b) {
      const int8_t* q = q8_0_levels(row, b);
      double block = 0;
      for (int64_t i = 0; i < kQ8_0Block; ++i) block += static_cast<double>(a[b * kQ8_0Block + i]) * q[i];
      acc += q8_0_scale(row, b) * block;
    }
    out[j] = static_cast<float>(acc);
  }
}

// y += (w_j · d) · q: the coefficient rounded once, as the fast paths do.
void scalar_axpy_q8_0_rows(const float* w, const uint8_t* rows, int64_t stride, int64_t n_rows, int64_t n, float* y) {
  for (int64_t j = 0; j < n_rows; ++j) {
    const uint8_t* row = rows + j * stride;
    for (int64_t b = 0; b < n / kQ8_0Block; ++b) {
      const float c = w[j] * q8_0_scale(row, b);
      const int8_t* q = q8_0_levels(row, b);
      for (int64_t i = 0; i < kQ8_0Block; ++i) y[b * kQ8_0Block + i] += c * static_cast<float>(q[i]);
    }
  }
}

void scalar_add_panels_f16(const float* u, int64_t rank, const uint16_t* panels, int64_t n_panels, float* y) {
  for (int64_t p = 0; p < n_panels; ++p, panels += rank * kLowRankPanel, y += kLowRankPanel)
    for (int64_t i = 0; i < kLowRankPanel; ++i)
      for (int64_t j = 0; j < rank; ++j) y[i] += u[j] * formats::f16_to_f32(panels[j * kLowRankPanel + i]);
}

void scalar_gemm_f32_tile(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t rows,
                          int64_t k, int64_t n, bool accumulate) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j) {
      float acc = accumulate ? c[r * ldc + j] : 0.0f;
      for (int64_t i = 0; i < k; ++i) acc += a[r * lda + i] * b[i * ldb + j];
      c[r * ldc + j] = acc;
    }
}

}  // namespace

const VectorKernels* vector_kernels_scalar() {
  static const VectorKernels kernels{scalar_dot_f32,          scalar_dot_f32_f16,       scalar_axpy_f16,
                                     scalar_f32_to_f16,       scalar_dot_f32_f16_rows,  scalar_axpy_f16_rows,
                                     scalar_dot_f32_q8_0_rows, scalar_axpy_q8_0_rows, scalar_add_panels_f16,
                                     scalar_gemm_f32_tile};
  return &kernels;
}

}  // namespace detail

namespace {

const detail::VectorKernels& active_kernels() {
  switch (active_isa()) {
    case Isa::avx512_vnni:
      return *detail::vector_kernels_avx512();
    case Isa::avx2:
      return *detail::vector_kernels_avx2();
    case Isa::neon_i8mm:
    case Isa::neon_dotprod:
    case Isa::neon:
      return *detail::vector_kernels_neon();
    case Isa::scalar:
      break;
  }
  return *detail::vector_kernels_scalar();
}

}  // namespace

float dot_f32(const float* a, const float* b, int64_t n) { return active_kernels().dot_f32(a, b, n); }
float dot_f32_f16(const float* a, const uint16_t* b_f16, int64_t n) {
  return active_kernels().dot_f32_f16(a, b_f16, n);
}
void axpy_f16(float a, const uint16_t* x_f16, float* y, int64_t n) { active_kernels().axpy_f16(a, x_f16, y, n); }
void f32_to_f16(const float* x, uint16_t* y_f16, int64_t n) { active_kernels().f32_to_f16(x, y_f16, n); }
void dot_f32_f16_rows(const float* a, const uint16_t* rows_f16, int64_t stride, int64_t rows, int64_t n, float* out) {
  active_kernels().dot_f32_f16_rows(a, rows_f16, stride, rows, n, out);
}
void axpy_f16_rows(const float* w, const uint16_t* rows_f16, int64_t stride, int64_t rows, int64_t n, float* y) {
  active_kernels().axpy_f16_rows(w, rows_f16, stride, rows, n, y);
}

void f32_to_q8_0(const float* x, uint8_t* y, int64_t n) {
  for (int64_t b = 0; b < n / kQ8_0Block; ++b, x += kQ8_0Block, y += kQ8_0BlockBytes) {
    float amax = 0;
    for (int64_t i = 0; i < kQ8_0Block; ++i) amax = std::fmax(amax, std::fabs(x[i]));
    const float id = amax > 0 ? 127.f / amax : 0.f;
    const uint16_t d = formats::f32_to_f16(amax / 127.f);
    std::memcpy(y, &d, 2);
    for (int64_t i = 0; i < kQ8_0Block; ++i) y[2 + i] = static_cast<uint8_t>(static_cast<int8_t>(std::nearbyint(x[i] * id)));
  }
}
void dot_f32_q8_0_rows(const float* a, const uint8_t* rows_q8_0, int64_t stride, int64_t rows, int64_t n, float* out) {
  active_kernels().dot_f32_q8_0_rows(a, rows_q8_0, stride, rows, n, out);
}
void axpy_q8_0_rows(const float* w, const uint8_t* rows_q8_0, int64_t stride, int64_t rows, int64_t n, float* y) {
  active_kernels().axpy_q8_0_rows(w, rows_q8_0, stride, rows, n, y);
}

void gemm_f32_tile(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t rows,
                   int64_t k, int64_t n, bool accumulate) {
  active_kernels().gemm_f32_tile(a, lda, b, ldb, c, ldc, rows, k, n, accumulate);
}

void add_panels_f16(const float* u, int64_t rank, const uint16_t* panels_f16, int64_t n_rows, float* y) {
  const auto& kernels = active_kernels();
  const int64_t whole = n_rows / kLowRankPanel, tail = n_rows % kLowRankPanel;
  kernels.add_panels_f16(u, rank, panels_f16, whole, y);
  if (tail == 0) return;
  float last[kLowRankPanel] = {};  // the padded panel's rows past n_rows land here and are dropped
  float* y_last = y + whole * kLowRankPanel;
  std::copy(y_last, y_last + tail, last);
  kernels.add_panels_f16(u, rank, panels_f16 + whole * rank * kLowRankPanel, 1, last);
  std::copy(last, last + tail, y_last);
}

}  // namespace josi::kernels
