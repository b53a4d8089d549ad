#include "kernels/low_rank.hpp"

#include <algorithm>
#include <cstring>

namespace josi::kernels {
namespace {

using formats::GgmlType;

// add_panels_f16's float twin: y[i] += Σ_j u[j] · panel row i, column j.
void add_panels_f32(const float* u, int64_t cols, const float* panels, int64_t n_rows, float* y) {
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* row = panels + r / kLowRankPanel * cols * kLowRankPanel + r % kLowRankPanel;
    for (int64_t j = 0; j < cols; ++j) y[r] += u[j] * row[j * kLowRankPanel];
  }
}

void add_panels(GgmlType type, const float* u, int64_t cols, const void* panels, size_t offset, int64_t n_rows,
                float* y) {
  if (type == GgmlType::F16)
    add_panels_f16(u, cols, static_cast<const uint16_t*>(panels) + offset, n_rows, y);
  else
    add_panels_f32(u, cols, static_cast<const float*>(panels) + offset, n_rows, y);
}

}  // namespace

size_t panels_bytes(GgmlType type, int64_t rows, int64_t cols) {
  const int64_t panels = (rows + kLowRankPanel - 1) / kLowRankPanel;
  return static_cast<size_t>(panels * cols * kLowRankPanel) * (type == GgmlType::F16 ? sizeof(uint16_t) : sizeof(float));
}

std::vector<uint8_t> to_panels(GgmlType type, const float* m, int64_t rows, int64_t cols) {
  const int64_t panels = (rows + kLowRankPanel - 1) / kLowRankPanel;
  std::vector<float> values(static_cast<size_t>(panels * cols * kLowRankPanel), 0.0f);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j)
      values[static_cast<size_t>(((r / kLowRankPanel) * cols + j) * kLowRankPanel + r % kLowRankPanel)] = m[r * cols + j];
  if (type == GgmlType::F32) {
    std::vector<uint8_t> out(values.size() * sizeof(float));
    std::memcpy(out.data(), values.data(), out.size());
    return out;
  }
  std::vector<uint8_t> out(values.size() * sizeof(uint16_t));
  f32_to_f16(values.data(), reinterpret_cast<uint16_t*>(out.data()), static_cast<int64_t>(values.size()));
  return out;
}

void add_panel_product(GgmlType type, const void* m_panels, int64_t cols, int64_t r0, int64_t r1, int64_t j0,
                       int64_t j1, const float* v, float* y) {
  const auto at = [&](int64_t r) { return static_cast<size_t>((r / kLowRankPanel * cols + j0) * kLowRankPanel); };
  // All the columns: the panels follow each other, one call covers the rows.
  if (j0 == 0 && j1 == cols) {
    add_panels(type, v, cols, m_panels, at(r0), r1 - r0, y);
    return;
  }
  for (int64_t r = r0; r < r1; r += kLowRankPanel)
    add_panels(type, v, j1 - j0, m_panels, at(r), std::min(kLowRankPanel, r1 - r), y + (r - r0));
}

void add_low_rank(const LowRankTerm& term, int64_t r0, int64_t r1, int64_t n_tokens, float* y, int64_t ldy) {
  for (int64_t t = 0; t < n_tokens; ++t)
    add_panel_product(term.type, term.bt, term.rank, r0, r1, 0, term.rank, term.u + t * term.ldu, y + t * ldy + r0);
}

}  // namespace josi::kernels
