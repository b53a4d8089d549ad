#pragma once
// The x86 intrinsics for the ISA files. GCC 12's _mm512_undefined_*
// self-initialise, which -Wuninitialized flags inside the intrinsics headers
// once inlined; the warning is silenced for those headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
