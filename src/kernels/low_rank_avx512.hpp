#pragma once
// One panel of a low-rank factor (low_rank.hpp's layout) on AVX-512: its 16
// rows are one vector, y + Σ_j u[j] · column(j), four chains of FMAs in
// flight. The panel kernel and the row-group products (which add B·u to each
// group of rows they write) share it, so both add in the same order.
#include <cstdint>

#include "kernels/intrinsics.hpp"

namespace josi::kernels::detail {

template <class Column>
inline __m512 add_panel_avx512(const float* u, int64_t rank, const Column& column, __m512 y) {
  __m512 acc[4] = {y, _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
  int64_t j = 0;
  for (; j + 4 <= rank; j += 4)
    for (int c = 0; c < 4; ++c) acc[c] = _mm512_fmadd_ps(_mm512_set1_ps(u[j + c]), column(j + c), acc[c]);
  for (; j < rank; ++j) acc[0] = _mm512_fmadd_ps(_mm512_set1_ps(u[j]), column(j), acc[0]);
  return _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3]));
}

}  // namespace josi::kernels::detail
