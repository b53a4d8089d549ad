// The ARMv8.0 NEON path (every arm64 CPU): neon_gemm.hpp's kernels with the
// byte dot product as widening multiplies (SMULL) and pairwise adds (SADALP).
#include "kernels/isa_kernels.hpp"

#if defined(__aarch64__)

#include <arm_neon.h>

namespace josi::kernels::detail {
namespace {

int32x4_t dot_i8(int32x4_t acc, int8x16_t a, int8x16_t b) {
  acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
  return vpadalq_s16(acc, vmull_high_s8(a, b));
}

}  // namespace
}  // namespace josi::kernels::detail

#include "kernels/neon_gemm.hpp"

namespace josi::kernels::detail {
const MatmulKernels* matmul_kernels_neon() { return &kNeonKernels; }
}  // namespace josi::kernels::detail

#else

namespace josi::kernels::detail {
const MatmulKernels* matmul_kernels_neon() { return nullptr; }
}  // namespace josi::kernels::detail

#endif
