// vector_ops.hpp, AVX-512 path: 16 floats per step, the tail masked.
#include "kernels/isa_kernels.hpp"

#if defined(__x86_64__)

#include "kernels/intrinsics.hpp"
#include "kernels/low_rank_avx512.hpp"

#include <cstring>

namespace josi::kernels::detail {

namespace {

__mmask16 tail_mask(int64_t left) { return left >= 16 ? 0xffff : static_cast<__mmask16>((1u << left) - 1); }

__m512 load_f16(const uint16_t* p, __mmask16 m) { return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, p)); }

float dot_f32(const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

float dot_f32_f16(const float* a, const uint16_t* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), load_f16(b + i, 0xffff), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), load_f16(b + i + 16, 0xffff), acc1);
  }
  for (; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), load_f16(b + i, m), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

void axpy_f16(float a, const uint16_t* x, float* y, int64_t n) {
  const __m512 av = _mm512_set1_ps(a);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(av, load_f16(x + i, m), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

void f32_to_f16(const float* x, uint16_t* y, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m256i h = _mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    _mm256_mask_storeu_epi16(y + i, m, h);
  }
}

// Four rows at a time share each load of `a`.
void dot_f32_f16_rows(const float* a, const uint16_t* rows, int64_t stride, int64_t n_rows, int64_t n, float* out) {
  int64_t j = 0;
  for (; j + 4 <= n_rows; j += 4) {
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int64_t i = 0; i < n; i += 16) {
      const __mmask16 m = tail_mask(n - i);
      const __m512 av = _mm512_maskz_loadu_ps(m, a + i);
      for (int r = 0; r < 4; ++r) acc[r] = _mm512_fmadd_ps(av, load_f16(rows + (j + r) * stride + i, m), acc[r]);
    }
    for (int r = 0; r < 4; ++r) out[j + r] = _mm512_reduce_add_ps(acc[r]);
  }
  for (; j < n_rows; ++j) out[j] = dot_f32_f16(a, rows + j * stride, n);
}

// y in registers, V vectors (up to 128 floats) at a time, across all rows.
template <int V>
void axpy_rows_block(const float* w, const uint16_t* rows, int64_t stride, int64_t n_rows, int64_t len, float* y) {
  __mmask16 m[V];
  __m512 acc[V];
  for (int v = 0; v < V; ++v) {
    m[v] = tail_mask(len - 16 * v);
    acc[v] = _mm512_maskz_loadu_ps(m[v], y + 16 * v);
  }
  for (int64_t j = 0; j < n_rows; ++j) {
    const __m512 wj = _mm512_set1_ps(w[j]);
    for (int v = 0; v < V; ++v) acc[v] = _mm512_fmadd_ps(wj, load_f16(rows + j * stride + 16 * v, m[v]), acc[v]);
  }
  for (int v = 0; v < V; ++v) _mm512_mask_storeu_ps(y + 16 * v, m[v], acc[v]);
}

void axpy_f16_rows(const float* w, const uint16_t* rows, int64_t stride, int64_t n_rows, int64_t n, float* y) {
  using Block = void (*)(const float*, const uint16_t*, int64_t, int64_t, int64_t, float*);
  static constexpr Block kBlocks[] = {axpy_rows_block<1>, axpy_rows_block<2>, axpy_rows_block<3>, axpy_rows_block<4>,
                                      axpy_rows_block<5>, axpy_rows_block<6>, axpy_rows_block<7>, axpy_rows_block<8>};
  for (int64_t i = 0; i < n; i += 128) {
    const int64_t len = n - i < 128 ? n - i : 128;
    kBlocks[(len + 15) / 16 - 1](w, rows + i, stride, n_rows, len, y + i);
  }
}

// Q8_0 cache rows (vector_ops.hpp): 16 levels of a block as floats, its scale.
__m512 q8_0_levels(const uint8_t* block, int half) {
  return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 2 + 16 * half))));
}
float q8_0_scale(const uint8_t* block) {
  uint16_t d;
  std::memcpy(&d, block, 2);
  return _cvtsh_ss(d);
}

// Per block, Σ a·q in a vector, then times d into the row's sum; R rows
// share each load of `a`.
template <int R>
void dot_q8_0_rows_tile(const float* a, const uint8_t* rows, int64_t stride, int64_t n, float* out) {
  __m512 acc[R];
  for (auto& v : acc) v = _mm512_setzero_ps();
  for (int64_t b = 0; b < n / 32; ++b) {
    const __m512 a0 = _mm512_loadu_ps(a + 32 * b), a1 = _mm512_loadu_ps(a + 32 * b + 16);
    for (int r = 0; r < R; ++r) {
      const uint8_t* block = rows + r * stride + 34 * b;
      const __m512 p = _mm512_fmadd_ps(a1, q8_0_levels(block, 1), _mm512_mul_ps(a0, q8_0_levels(block, 0)));
      acc[r] = _mm512_fmadd_ps(p, _mm512_set1_ps(q8_0_scale(block)), acc[r]);
    }
  }
  for (int r = 0; r < R; ++r) out[r] = _mm512_reduce_add_ps(acc[r]);
}

void dot_f32_q8_0_rows(const float* a, const uint8_t* rows, int64_t stride, int64_t n_rows, int64_t n, float* out) {
  int64_t j = 0;
  for (; j + 4 <= n_rows; j += 4) dot_q8_0_rows_tile<4>(a, rows + j * stride, stride, n, out + j);
  for (; j < n_rows; ++j) dot_q8_0_rows_tile<1>(a, rows + j * stride, stride, n, out + j);
}

// y in registers, B blocks (up to 128 floats) at a time, across all rows.
template <int B>
void axpy_q8_0_block(const float* w, const uint8_t* rows, int64_t stride, int64_t n_rows, float* y) {
  __m512 acc[2 * B];
  for (int v = 0; v < 2 * B; ++v) acc[v] = _mm512_loadu_ps(y + 16 * v);
  for (int64_t j = 0; j < n_rows; ++j) {
    for (int b = 0; b < B; ++b) {
      const uint8_t* block = rows + j * stride + 34 * b;
      const __m512 c = _mm512_set1_ps(w[j] * q8_0_scale(block));
      for (int h = 0; h < 2; ++h) acc[2 * b + h] = _mm512_fmadd_ps(c, q8_0_levels(block, h), acc[2 * b + h]);
    }
  }
  for (int v = 0; v < 2 * B; ++v) _mm512_storeu_ps(y + 16 * v, acc[v]);
}

void axpy_q8_0_rows(const float* w, const uint8_t* rows, int64_t stride, int64_t n_rows, int64_t n, float* y) {
  using Block = void (*)(const float*, const uint8_t*, int64_t, int64_t, float*);
  static constexpr Block kBlocks[] = {axpy_q8_0_block<1>, axpy_q8_0_block<2>, axpy_q8_0_block<3>, axpy_q8_0_block<4>};
  for (int64_t b = 0; b < n / 32; b += 4) {
    const int64_t blocks = n / 32 - b < 4 ? n / 32 - b : 4;
    kBlocks[blocks - 1](w, rows + 34 * b, stride, n_rows, y + 32 * b);
  }
}

// The panels one after the other, a sequential read.
void add_panels_f16(const float* u, int64_t rank, const uint16_t* panels, int64_t n_panels, float* y) {
  for (int64_t p = 0; p < n_panels; ++p, panels += rank * 16, y += 16) {
    const auto column = [panels](int64_t j) { return load_f16(panels + j * 16, 0xffff); };
    _mm512_storeu_ps(y, add_panel_avx512(u, rank, column, _mm512_loadu_ps(y)));
  }
}

// R rows × W vectors of c in registers; b's W vectors loaded once per i for all R rows.
template <int R, int W>
void gemm_block(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t k, bool accumulate) {
  __m512 acc[R][W];
  for (int r = 0; r < R; ++r)
    for (int w = 0; w < W; ++w) acc[r][w] = accumulate ? _mm512_loadu_ps(c + r * ldc + 16 * w) : _mm512_setzero_ps();
  for (int64_t i = 0; i < k; ++i) {
    __m512 bv[W];
    for (int w = 0; w < W; ++w) bv[w] = _mm512_loadu_ps(b + i * ldb + 16 * w);
    for (int r = 0; r < R; ++r) {
      const __m512 av = _mm512_set1_ps(a[r * lda + i]);
      for (int w = 0; w < W; ++w) acc[r][w] = _mm512_fmadd_ps(av, bv[w], acc[r][w]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int w = 0; w < W; ++w) _mm512_storeu_ps(c + r * ldc + 16 * w, acc[r][w]);
}

template <int W>
void gemm_columns(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t rows, int64_t k,
                  bool accumulate) {
  int64_t r = 0;
  for (; r + 4 <= rows; r += 4) gemm_block<4, W>(a + r * lda, lda, b, ldb, c + r * ldc, ldc, k, accumulate);
  for (; r < rows; ++r) gemm_block<1, W>(a + r * lda, lda, b, ldb, c + r * ldc, ldc, k, accumulate);
}

// 64 columns at a time (4 rows × 4 vectors of accumulators), then the rest.
void gemm_f32_tile(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t rows, int64_t k,
                   int64_t n, bool accumulate) {
  int64_t j = 0;
  for (; j + 64 <= n; j += 64) gemm_columns<4>(a, lda, b + j, ldb, c + j, ldc, rows, k, accumulate);
  switch ((n - j) / 16) {
    case 3: gemm_columns<3>(a, lda, b + j, ldb, c + j, ldc, rows, k, accumulate); break;
    case 2: gemm_columns<2>(a, lda, b + j, ldb, c + j, ldc, rows, k, accumulate); break;
    case 1: gemm_columns<1>(a, lda, b + j, ldb, c + j, ldc, rows, k, accumulate); break;
    default: break;
  }
}

}  // namespace

const VectorKernels* vector_kernels_avx512() {
  static const VectorKernels kernels{dot_f32,           dot_f32_f16,    axpy_f16,      f32_to_f16,
                                     dot_f32_f16_rows,  axpy_f16_rows,  dot_f32_q8_0_rows,
                                     axpy_q8_0_rows,    add_panels_f16, gemm_f32_tile};
  return &kernels;
}

}  // namespace josi::kernels::detail

#else

namespace josi::kernels::detail {
const VectorKernels* vector_kernels_avx512() { return nullptr; }
}  // namespace josi::kernels::detail

#endif
