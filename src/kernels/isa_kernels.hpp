#pragma once
// The per-ISA pieces matmul.cpp and vector_ops.cpp dispatch to: activation
// quantizers, one row-range kernel per weight type, and the vector ops.
// Private to kernels/ (and its tests).
//
// Every instruction-set path computes the same integers from the same 8-bit
// activations as the scalar path; only the order of the float additions
// differs. Quantized activations are byte-identical across paths.
//
// The ISA files are compiled with their own -m flags, so they must not call
// inline functions or templates from shared headers: the linker keeps one
// copy of such a function and could pick the AVX-512 one for every caller.
// They only use struct layouts, intrinsics and their own internal helpers.
#include <cstddef>
#include <cstdint>

#include "kernels/cpu_features.hpp"
#include "kernels/low_rank.hpp"

namespace josi::kernels::detail {

// Quantized activations, one token after another (`x_stride` bytes each,
// a multiple of 64), each a structure of arrays so fast paths load whole
// vectors:
//   Q8 in 32-blocks (Q8_0, Q4_0, Q5_0, Q5_1 weights):
//     int8 q[k]; float d[k/32] at ActLayout::d; float s[k/32] at
//     ActLayout::sums, s = d·Σq (Q5_1's min term); int16 Σq[k/32] at
//     ActLayout::q_sums (Q8_0 groups' offset term)
//   Q8 in 256-blocks (K-quant weights):
//     int8 q[k]; float d[k/256] at ActLayout::d; int16 bsums[k/16] at
//     ActLayout::sums (Σq per 16)
// A block's d = max|x| / 127 and q = round-to-nearest-even(x · (127 / max|x|)),
// all zero for an all-zero block.
enum class ActFormat { f32, q8_32, q8_256 };

struct ActLayout {
  size_t d = 0, sums = 0, stride = 0;  // byte offsets in one token, its size
  size_t q_sums = 0;                   // 32-blocks only
};

// One token's k floats -> its quantized activations at `out`.
using QuantizeFn = void (*)(const float* x, int64_t k, uint8_t* out, const ActLayout& layout);

struct GemmArgs {
  const uint8_t* w;  // rows of `row_bytes` bytes
  size_t row_bytes;
  int64_t k;
  const uint8_t* x;  // n_tokens activations: f32 rows of k, or quantized as above
  size_t x_stride;
  ActLayout act;
  int64_t n_tokens;
  float* y;  // y[t * ldy + r]
  int64_t ldy;
  // Added by the row-group kernels to each group of rows they write, so B·u
  // streams beside the weights; null for the row kernels (matmul adds it).
  const LowRankTerm* term = nullptr;
};

// Computes y for rows [row_begin, row_end) and every token.
using GemmFn = void (*)(const GemmArgs& args, int64_t row_begin, int64_t row_end);

struct MatmulKernels {
  QuantizeFn quantize_q8_32;
  QuantizeFn quantize_q8_256;
  GemmFn f32, f16, bf16, q8_0, q4_0, q5_0, q5_1, q4_k, q5_k, q6_k;
  // Q4_K, Q6_K and Q8_0 in groups of 16 rows (row_groups.hpp); null where
  // the path has no kernel of its own for them (the scalar ones serve). Row
  // ranges come in whole groups.
  GemmFn q4_k_groups, q6_k_groups, q8_0_groups;
};

// Null when this build has no such path (another architecture).
const MatmulKernels* matmul_kernels_scalar();
const MatmulKernels* matmul_kernels_avx2();
const MatmulKernels* matmul_kernels_avx512();
const MatmulKernels* matmul_kernels_neon();
const MatmulKernels* matmul_kernels_neon_dotprod();
const MatmulKernels* matmul_kernels_neon_i8mm();
// The table of `isa` (never null for a supported one).
const MatmulKernels* matmul_kernels(Isa isa);

// vector_ops.hpp per ISA.
struct VectorKernels {
  float (*dot_f32)(const float* a, const float* b, int64_t n);
  float (*dot_f32_f16)(const float* a, const uint16_t* b, int64_t n);
  void (*axpy_f16)(float a, const uint16_t* x, float* y, int64_t n);
  void (*f32_to_f16)(const float* x, uint16_t* y, int64_t n);
  void (*dot_f32_f16_rows)(const float* a, const uint16_t* rows, int64_t stride, int64_t n_rows, int64_t n, float* out);
  void (*axpy_f16_rows)(const float* w, const uint16_t* rows, int64_t stride, int64_t n_rows, int64_t n, float* y);
  void (*dot_f32_q8_0_rows)(const float* a, const uint8_t* rows, int64_t stride, int64_t n_rows, int64_t n, float* out);
  void (*axpy_q8_0_rows)(const float* w, const uint8_t* rows, int64_t stride, int64_t n_rows, int64_t n, float* y);
  // add_panels_f16 on whole panels only (the caller pads the last).
  void (*add_panels_f16)(const float* u, int64_t rank, const uint16_t* panels, int64_t n_panels, float* y);
  void (*gemm_f32_tile)(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t rows,
                        int64_t k, int64_t n, bool accumulate);
};

const VectorKernels* vector_kernels_scalar();
const VectorKernels* vector_kernels_avx2();
const VectorKernels* vector_kernels_avx512();
const VectorKernels* vector_kernels_neon();  // also the dot-product and i8mm paths

}  // namespace josi::kernels::detail
