#pragma once
// This process's resident memory, read from /proc/self/status (0 where that
// is not available), for the benchmarks' memory targets.
#include <cstdint>

namespace josi::base {

uint64_t resident_bytes();       // VmRSS now
uint64_t peak_resident_bytes();  // VmHWM: the most resident at any time so far

}  // namespace josi::base
