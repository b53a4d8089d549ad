// The ARMv8.0 NEON path (every arm64 CPU): neon_gemm.hpp's kernels with the
// byte dot product as widening multiplies (SMULL) and pairwise adds (SADALP).
#include "kernels/isa_kernels.hpp"

#if defined(__aarch64__)

#include "kernels/neon_gemm.hpp"

namespace josi::kernels::detail {
const MatmulKernels* matmul_kernels_neon() { return &kNeonKernels; }
}  // namespace josi::kernels::detail

#else

namespace josi::kernels::detail {
const MatmulKernels* matmul_kernels_neon() { return nullptr; }
}  // namespace josi::kernels::detail

#endif
