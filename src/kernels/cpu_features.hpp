#pragma once
// Which instruction-set path the kernels run. Detected once at run time, so
// one binary runs everywhere and uses the widest path the CPU has; tests and
// the JOSI_ISA environment variable can select a narrower one to compare.
#include <span>
#include <string_view>

namespace josi::kernels {

enum class Isa {
  scalar,       // plain C++: the reference every fast path is tested against
  avx2,         // AVX2 + FMA + F16C
  avx512_vnni,  // AVX-512 F/BW/VL/VNNI (+ BF16 when present)
  neon,         // arm64 Advanced SIMD (ARMv8.0: every arm64 CPU)
  neon_dotprod, // + the ARMv8.2 dot product (SDOT)
  neon_i8mm,    // + the ARMv8.6 int8 matrix multiply (SMMLA) for prompts
};

// Every path, each architecture's narrowest first.
std::span<const Isa> all_isas();

std::string_view isa_name(Isa isa);
// The inverse of isa_name; throws josi::Error naming `name` when it is none
// of them.
Isa isa_from_name(std::string_view name);
bool isa_supported(Isa isa);   // by this CPU (and this build)
Isa best_isa();                // the widest supported path
Isa active_isa();              // what the kernels use now: best_isa() unless
                               // JOSI_ISA=<isa_name> or set_active_isa chose another
void set_active_isa(Isa isa);  // throws josi::Error when not supported

}  // namespace josi::kernels
