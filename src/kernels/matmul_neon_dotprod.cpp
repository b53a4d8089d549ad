// The ARMv8.2 dot-product path (+dotprod, phones since about 2018),
// compiled with its own -march flag (CMakeLists.txt): neon_gemm.hpp's
// kernels with SDOT, four byte products per lane in one instruction.
#include "kernels/isa_kernels.hpp"

#if defined(__aarch64__)

#include "kernels/neon_gemm.hpp"

namespace josi::kernels::detail {
const MatmulKernels* matmul_kernels_neon_dotprod() { return &kNeonKernels; }
}  // namespace josi::kernels::detail

#else

namespace josi::kernels::detail {
const MatmulKernels* matmul_kernels_neon_dotprod() { return nullptr; }
}  // namespace josi::kernels::detail

#endif
