// vector_ops.hpp, AVX2/FMA/F16C path: 8 floats per step; the last n % 8
// go through a zero-padded buffer.
#include "kernels/isa_kernels.hpp"

#if defined(__x86_64__)

#include "kernels/intrinsics.hpp"

#include <cstring>

namespace josi::kernels::detail {

namespace {

// Up to 8 floats / halves from p, the rest zero.
__m256 load_tail(const float* p, int64_t left) {
  float buf[8] = {};
  std::memcpy(buf, p, static_cast<size_t>(left) * sizeof(float));
  return _mm256_loadu_ps(buf);
}
__m256 load_f16(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
__m256 load_f16_tail(const uint16_t* p, int64_t left) {
  uint16_t buf[8] = {};
  std::memcpy(buf, p, static_cast<size_t>(left) * sizeof(uint16_t));
  return load_f16(buf);
}

float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

float dot_f32(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  if (i < n) acc1 = _mm256_fmadd_ps(load_tail(a + i, n - i), load_tail(b + i, n - i), acc1);
  return hsum(_mm256_add_ps(acc0, acc1));
}

float dot_f32_f16(const float* a, const uint16_t* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load_f16(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), load_f16(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), load_f16(b + i), acc0);
  if (i < n) acc1 = _mm256_fmadd_ps(load_tail(a + i, n - i), load_f16_tail(b + i, n - i), acc1);
  return hsum(_mm256_add_ps(acc0, acc1));
}

void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
  const __m256 av = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(av, load_f16(x + i), _mm256_loadu_ps(y + i)));
  if (i < n) {
    float buf[8];
    _mm256_storeu_ps(buf, _mm256_fmadd_ps(av, load_f16_tail(x + i, n - i), load_tail(y + i, n - i)));
    std::memcpy(y + i, buf, static_cast<size_t>(n - i) * sizeof(float));
  }
}

void f32_to_f16(const float* x, uint16_t* y, int64_t n) {
  constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i), _mm256_cvtps_ph(_mm256_loadu_ps(x + i), kRound));
  if (i < n) {
    uint16_t buf[8];
    _mm_storeu_si128(reinterpret_cast<__m128i*>(buf), _mm256_cvtps_ph(load_tail(x + i, n - i), kRound));
    std::memcpy(y + i, buf, static_cast<size_t>(n - i) * sizeof(uint16_t));
  }
}

void dot_f32_f16_rows(const float* a, const uint16_t* rows, int64_t stride, int64_t n_rows, int64_t n, float* out) {
  for (int64_t j = 0; j < n_rows; ++j) out[j] = dot_f32_f16(a, rows + j * stride, n);
}

void axpy_f16_rows(const float* w, const uint16_t* rows, int64_t stride, int64_t n_rows, int64_t n, float* y) {
  for (int64_t j = 0; j < n_rows; ++j) axpy_f16(w[j], rows + j * stride, y, n);
}

// Q8_0 cache rows (vector_ops.hpp): 8 levels of a block as floats, its scale.
__m256 q8_0_levels(const uint8_t* block, int part) {
  return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(block + 2 + 8 * part))));
}
float q8_0_scale(const uint8_t* block) {
  uint16_t d;
  std::memcpy(&d, block, 2);
  return _cvtsh_ss(d);
}

void dot_f32_q8_0_rows(const float* a, const uint8_t* rows, int64_t stride, int64_t n_rows, int64_t n, float* out) {
  for (int64_t j = 0; j < n_rows; ++j) {
    __m256 acc = _mm256_setzero_ps();
    for (int64_t b = 0; b < n / 32; ++b) {
      const uint8_t* block = rows + j * stride + 34 * b;
      __m256 p = _mm256_mul_ps(_mm256_loadu_ps(a + 32 * b), q8_0_levels(block, 0));
      for (int part = 1; part < 4; ++part) p = _mm256_fmadd_ps(_mm256_loadu_ps(a + 32 * b + 8 * part), q8_0_levels(block, part), p);
      acc = _mm256_fmadd_ps(p, _mm256_set1_ps(q8_0_scale(block)), acc);
    }
    out[j] = hsum(acc);
  }
}

// One block of y (four vectors) in registers across all rows.
void axpy_q8_0_rows(const float* w, const uint8_t* rows, int64_t stride, int64_t n_rows, int64_t n, float* y) {
  for (int64_t b = 0; b < n / 32; ++b) {
    __m256 acc[4];
    for (int part = 0; part < 4; ++part) acc[part] = _mm256_loadu_ps(y + 32 * b + 8 * part);
    for (int64_t j = 0; j < n_rows; ++j) {
      const uint8_t* block = rows + j * stride + 34 * b;
      const __m256 c = _mm256_set1_ps(w[j] * q8_0_scale(block));
      for (int part = 0; part < 4; ++part) acc[part] = _mm256_fmadd_ps(c, q8_0_levels(block, part), acc[part]);
    }
    for (int part = 0; part < 4; ++part) _mm256_storeu_ps(y + 32 * b + 8 * part, acc[part]);
  }
}

// A panel's 16 rows are two vectors; two panels at a time keep four
// independent chains of FMAs in flight.
template <int P>
void add_panel_group(const float* u, int64_t rank, const uint16_t* panels, float* y) {
  __m256 acc[2 * P];
  for (int v = 0; v < 2 * P; ++v) acc[v] = _mm256_loadu_ps(y + 8 * v);
  for (int64_t j = 0; j < rank; ++j) {
    const __m256 uj = _mm256_set1_ps(u[j]);
    for (int p = 0; p < P; ++p)
      for (int h = 0; h < 2; ++h)
        acc[2 * p + h] = _mm256_fmadd_ps(uj, load_f16(panels + (p * rank + j) * 16 + 8 * h), acc[2 * p + h]);
  }
  for (int v = 0; v < 2 * P; ++v) _mm256_storeu_ps(y + 8 * v, acc[v]);
}

void add_panels_f16(const float* u, int64_t rank, const uint16_t* panels, int64_t n_panels, float* y) {
  int64_t p = 0;
  for (; p + 2 <= n_panels; p += 2) add_panel_group<2>(u, rank, panels + p * rank * 16, y + p * 16);
  for (; p < n_panels; ++p) add_panel_group<1>(u, rank, panels + p * rank * 16, y + p * 16);
}

// R rows × 2 vectors (16 columns) of c in registers; b's two vectors loaded
// once per i for all R rows.
template <int R>
void gemm_block(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t k, bool accumulate) {
  __m256 acc[R][2];
  for (int r = 0; r < R; ++r)
    for (int w = 0; w < 2; ++w) acc[r][w] = accumulate ? _mm256_loadu_ps(c + r * ldc + 8 * w) : _mm256_setzero_ps();
  for (int64_t i = 0; i < k; ++i) {
    const __m256 b0 = _mm256_loadu_ps(b + i * ldb), b1 = _mm256_loadu_ps(b + i * ldb + 8);
    for (int r = 0; r < R; ++r) {
      const __m256 av = _mm256_broadcast_ss(a + r * lda + i);
      acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int w = 0; w < 2; ++w) _mm256_storeu_ps(c + r * ldc + 8 * w, acc[r][w]);
}

void gemm_f32_tile(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t rows, int64_t k,
                   int64_t n, bool accumulate) {
  for (int64_t j = 0; j < n; j += 16) {
    int64_t r = 0;
    for (; r + 6 <= rows; r += 6) gemm_block<6>(a + r * lda, lda, b + j, ldb, c + r * ldc + j, ldc, k, accumulate);
    for (; r < rows; ++r) gemm_block<1>(a + r * lda, lda, b + j, ldb, c + r * ldc + j, ldc, k, accumulate);
  }
}

}  // namespace

const VectorKernels* vector_kernels_avx2() {
  static const VectorKernels kernels{dot_f32,           dot_f32_f16,    axpy_f16,      f32_to_f16,
                                     dot_f32_f16_rows,  axpy_f16_rows,  dot_f32_q8_0_rows,
                                     axpy_q8_0_rows,    add_panels_f16, gemm_f32_tile};
  return &kernels;
}

}  // namespace josi::kernels::detail

#else

namespace josi::kernels::detail {
const VectorKernels* vector_kernels_avx2() { return nullptr; }
}  // namespace josi::kernels::detail

#endif
