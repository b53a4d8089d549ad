#include "kernels/cpu_features.hpp"

#include <atomic>
#include <cstdlib>
#include <string>

#include "base/error.hpp"
#include "kernels/isa_kernels.hpp"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace josi::kernels {

namespace {

constexpr Isa kAll[] = {Isa::scalar, Isa::avx2, Isa::avx512_vnni};

#if defined(__x86_64__)
// CPUID leaf 1's F16C bit: not every compiler's __builtin_cpu_supports knows "f16c".
bool cpu_has_f16c() {
  unsigned eax, ebx, ecx, edx;
  return __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & bit_F16C);
}
#endif

bool cpu_has(Isa isa) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  switch (isa) {
    case Isa::scalar:
      return true;
    case Isa::avx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
    case Isa::avx512_vnni:
      return cpu_has(Isa::avx2) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
  }
  return false;
#else
  return isa == Isa::scalar;
#endif
}

bool built_with(Isa isa) {
  switch (isa) {
    case Isa::scalar:
      return true;
    case Isa::avx2:
      return detail::matmul_kernels_avx2() != nullptr;
    case Isa::avx512_vnni:
      return detail::matmul_kernels_avx512() != nullptr;
  }
  return false;
}

Isa from_environment() {
  const char* name = std::getenv("JOSI_ISA");
  if (!name || !*name) return best_isa();
  Isa isa;
  try {
    isa = isa_from_name(name);
  } catch (const Error& e) {
    throw Error(std::string("JOSI_ISA: ") + e.what());
  }
  if (!isa_supported(isa)) throw Error("JOSI_ISA=" + std::string(name) + ": this CPU or build does not support it");
  return isa;
}

constexpr int kUnset = -1;
std::atomic<int> g_active{kUnset};

}  // namespace

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar:
      return "scalar";
    case Isa::avx2:
      return "avx2";
    case Isa::avx512_vnni:
      return "avx512_vnni";
  }
  return "?";
}

Isa isa_from_name(std::string_view name) {
  for (Isa isa : kAll)
    if (isa_name(isa) == name) return isa;
  throw Error("unknown instruction set \"" + std::string(name) + "\" (scalar, avx2 or avx512_vnni)");
}

bool isa_supported(Isa isa) {
  static const bool supported[] = {cpu_has(kAll[0]) && built_with(kAll[0]), cpu_has(kAll[1]) && built_with(kAll[1]),
                                   cpu_has(kAll[2]) && built_with(kAll[2])};
  return supported[static_cast<int>(isa)];
}

Isa best_isa() {
  for (int i = 2; i > 0; --i)
    if (isa_supported(kAll[i])) return kAll[i];
  return Isa::scalar;
}

Isa active_isa() {
  int v = g_active.load(std::memory_order_relaxed);
  if (v == kUnset) {
    v = static_cast<int>(from_environment());
    int expected = kUnset;
    if (!g_active.compare_exchange_strong(expected, v)) v = expected;
  }
  return static_cast<Isa>(v);
}

void set_active_isa(Isa isa) {
  if (!isa_supported(isa))
    throw Error("instruction set " + std::string(isa_name(isa)) + " is not supported by this CPU or build");
  g_active.store(static_cast<int>(isa));
}

}  // namespace josi::kernels
