#include "kernels/cpu_features.hpp"

#include <array>
#include <atomic>
#include <cstdlib>
#include <string>

#include "base/error.hpp"
#include "kernels/isa_kernels.hpp"

#if defined(__x86_64__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace josi::kernels {

namespace {

constexpr Isa kAll[] = {Isa::scalar, Isa::avx2, Isa::avx512_vnni, Isa::neon, Isa::neon_dotprod, Isa::neon_i8mm};
constexpr int kCount = sizeof kAll / sizeof kAll[0];

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
    default:
      return false;
  }
#elif defined(__aarch64__)
  switch (isa) {
    case Isa::scalar:
    case Isa::neon:
      return true;
    case Isa::neon_dotprod:
      return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
    case Isa::neon_i8mm:
      return cpu_has(Isa::neon_dotprod) && (getauxval(AT_HWCAP2) & HWCAP2_I8MM) != 0;
    default:
      return false;
  }
#else
  return isa == Isa::scalar;
#endif
}

// Each path's table is null in a build for another architecture.
bool built_with(Isa isa) { return detail::matmul_kernels(isa) != nullptr; }

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
    case Isa::neon:
      return "neon";
    case Isa::neon_dotprod:
      return "neon_dotprod";
    case Isa::neon_i8mm:
      return "neon_i8mm";
  }
  return "?";
}

std::span<const Isa> all_isas() { return kAll; }

Isa isa_from_name(std::string_view name) {
  std::string names;
  for (int i = 0; i < kCount; ++i) {
    if (isa_name(kAll[i]) == name) return kAll[i];
    names += (i == 0 ? "" : i + 1 == kCount ? " or " : ", ") + std::string(isa_name(kAll[i]));
  }
  throw Error("unknown instruction set \"" + std::string(name) + "\" (" + names + ")");
}

bool isa_supported(Isa isa) {
  static const auto supported = [] {
    std::array<bool, kCount> s{};
    for (int i = 0; i < kCount; ++i) s[i] = cpu_has(kAll[i]) && built_with(kAll[i]);
    return s;
  }();
  return supported[static_cast<int>(isa)];
}

// The last supported path: one architecture's paths are supported at most,
// each wider than those before it.
Isa best_isa() {
  for (int i = kCount - 1; i > 0; --i)
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
