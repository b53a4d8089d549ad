// Block quantizers (src/quant/block_quant.hpp): dequantizers against blocks
// built by hand from ../shared/spec/formats.md "Quantized blocks", round-trip
// error bounds, the weighted search against plain min/max scaling, stability
// under requantization, edge cases and errors.
#include "quant/block_quant.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "base/error.hpp"
#include "formats/dtype.hpp"
#include "formats/ggml_type.hpp"

namespace {

using josi::formats::f16_to_f32;
using josi::formats::f32_to_f16;
using josi::formats::GgmlType;
using josi::quant::dequantize_row;
using josi::quant::quantize_row;

const GgmlType kBlockTypes[] = {GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q5_0, GgmlType::Q5_1,
                                GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

std::string name(GgmlType t) { return std::string(josi::formats::ggml_type_info(t).name); }
size_t row_bytes(GgmlType t, int64_t n) { return *josi::formats::ggml_row_bytes(t, static_cast<uint64_t>(n)); }

void put16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

std::vector<float> dequant(GgmlType t, const std::vector<uint8_t>& bytes, int64_t n) {
  std::vector<float> y(n);
  dequantize_row(t, bytes.data(), y.data(), n);
  return y;
}

std::vector<uint8_t> quant(GgmlType t, const std::vector<float>& x, const float* importance = nullptr) {
  std::vector<uint8_t> out(row_bytes(t, static_cast<int64_t>(x.size())));
  quantize_row(t, x.data(), out.data(), static_cast<int64_t>(x.size()), importance);
  return out;
}

std::vector<float> round_trip(GgmlType t, const std::vector<float>& x) {
  return dequant(t, quant(t, x), static_cast<int64_t>(x.size()));
}

// ---------------------------------------------------------------------------
// Dequantizers against hand-built blocks; expected values are computed here
// from the formats.md formulas, in the same operation order, and compared
// exactly.

TEST(BlockQuantDequant, Q8_0) {
  std::vector<uint8_t> b(34);
  const uint16_t dh = 0x3555;  // 0.33325195
  put16(b.data(), dh);
  const int8_t q[32] = {-128, 127, 0, 1, -1, 5, -77, 100, 3, 9, -9, 64, -64, 2, 44, -3,
                        17, -17, 33, -33, 90, -90, 12, -12, 7, -7, 126, -127, 55, -55, 8, 0};
  std::memcpy(b.data() + 2, q, 32);
  const auto y = dequant(GgmlType::Q8_0, b, 32);
  const float d = f16_to_f32(dh);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(y[i], d * static_cast<float>(q[i])) << i;
}

TEST(BlockQuantDequant, Q4_0) {
  std::vector<uint8_t> b(18);
  const uint16_t dh = 0xB0CD;  // negative d, -0.15002
  put16(b.data(), dh);
  // Byte j holds weight j (low nibble) and weight j+16 (high nibble).
  for (int j = 0; j < 16; ++j) b[2 + j] = static_cast<uint8_t>(((j * 5 + 3) & 15) | (((15 - j) & 15) << 4));
  const auto y = dequant(GgmlType::Q4_0, b, 32);
  const float d = f16_to_f32(dh);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], d * static_cast<float>(((j * 5 + 3) & 15) - 8)) << j;
    EXPECT_EQ(y[j + 16], d * static_cast<float>((15 - j) - 8)) << j;
  }
}

TEST(BlockQuantDequant, Q5_0AndQ5_1) {
  const uint16_t dh = 0x2E66;  // 0.0999755859
  const uint16_t mh = 0xC140;  // -2.625
  const uint32_t qh = 0xA5C3'0F91u;
  auto nib = [](int j) { return (j * 7 + 1) & 15; };
  auto nib_hi = [](int j) { return (j * 3 + 10) & 15; };
  std::vector<uint8_t> b0(22), b1(24);
  put16(b0.data(), dh);
  std::memcpy(b0.data() + 2, &qh, 4);
  put16(b1.data(), dh);
  put16(b1.data() + 2, mh);
  std::memcpy(b1.data() + 4, &qh, 4);
  for (int j = 0; j < 16; ++j) {
    b0[6 + j] = b1[8 + j] = static_cast<uint8_t>(nib(j) | (nib_hi(j) << 4));
  }
  const auto y0 = dequant(GgmlType::Q5_0, b0, 32);
  const auto y1 = dequant(GgmlType::Q5_1, b1, 32);
  const float d = f16_to_f32(dh), m = f16_to_f32(mh);
  for (int j = 0; j < 32; ++j) {
    const int low4 = j < 16 ? nib(j) : nib_hi(j - 16);
    const int q = low4 | static_cast<int>(((qh >> j) & 1u) << 4);
    EXPECT_EQ(y0[j], d * static_cast<float>(q - 16)) << j;
    EXPECT_EQ(y1[j], d * static_cast<float>(q) + m) << j;
  }
}

// Eight 6-bit scales and mins, four of them (j >= 4) needing the split
// encoding's top bits: sc = {1, 63, 17, 40, 33, 62, 5, 48},
// m = {0, 7, 63, 21, 50, 2, 60, 19}, packed per formats.md into these bytes.
const int kSc[8] = {1, 63, 17, 40, 33, 62, 5, 48};
const int kMin[8] = {0, 7, 63, 21, 50, 2, 60, 19};
const uint8_t kScaleBytes[12] = {0x81, 0xff, 0x11, 0xe8, 0xc0, 0x07, 0xff, 0x55, 0x21, 0x2e, 0xc5, 0x30};

TEST(BlockQuantDequant, Q4_K) {
  std::vector<uint8_t> b(144);
  const uint16_t dh = 0x1E3A, mh = 0x2011;  // 0.006081 and 0.007942
  put16(b.data(), dh);
  put16(b.data() + 2, mh);
  std::memcpy(b.data() + 4, kScaleBytes, 12);
  auto lo = [](int c, int l) { return (l * 3 + c * 5) & 15; };
  auto hi = [](int c, int l) { return (l * 11 + c + 7) & 15; };
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) b[16 + 32 * c + l] = static_cast<uint8_t>(lo(c, l) | (hi(c, l) << 4));
  const auto y = dequant(GgmlType::Q4_K, b, 256);
  const float d = f16_to_f32(dh), dmin = f16_to_f32(mh);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      const int j0 = 2 * c, j1 = 2 * c + 1;
      EXPECT_EQ(y[64 * c + l], d * static_cast<float>(kSc[j0]) * static_cast<float>(lo(c, l)) -
                                   dmin * static_cast<float>(kMin[j0]))
          << c << " " << l;
      EXPECT_EQ(y[64 * c + 32 + l], d * static_cast<float>(kSc[j1]) * static_cast<float>(hi(c, l)) -
                                        dmin * static_cast<float>(kMin[j1]))
          << c << " " << l;
    }
  }
}

TEST(BlockQuantDequant, Q5_K) {
  std::vector<uint8_t> b(176);
  const uint16_t dh = 0x1A00, mh = 0x9A00;  // 0.003174 and -0.003174: a negative dmin is valid too
  put16(b.data(), dh);
  put16(b.data() + 2, mh);
  std::memcpy(b.data() + 4, kScaleBytes, 12);
  auto lo = [](int c, int l) { return (l * 5 + c * 3 + 1) & 15; };
  auto hi = [](int c, int l) { return (l * 9 + c) & 15; };
  auto qh = [](int l) { return static_cast<uint8_t>((l * 37 + 11) & 255); };
  for (int l = 0; l < 32; ++l) b[16 + l] = qh(l);
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) b[48 + 32 * c + l] = static_cast<uint8_t>(lo(c, l) | (hi(c, l) << 4));
  const auto y = dequant(GgmlType::Q5_K, b, 256);
  const float d = f16_to_f32(dh), dmin = f16_to_f32(mh);
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      const int q0 = lo(c, l) + ((qh(l) >> (2 * c)) & 1) * 16;
      const int q1 = hi(c, l) + ((qh(l) >> (2 * c + 1)) & 1) * 16;
      EXPECT_EQ(y[64 * c + l], d * static_cast<float>(kSc[2 * c]) * static_cast<float>(q0) -
                                   dmin * static_cast<float>(kMin[2 * c]))
          << c << " " << l;
      EXPECT_EQ(y[64 * c + 32 + l], d * static_cast<float>(kSc[2 * c + 1]) * static_cast<float>(q1) -
                                        dmin * static_cast<float>(kMin[2 * c + 1]))
          << c << " " << l;
    }
  }
}

TEST(BlockQuantDequant, Q6_K) {
  std::vector<uint8_t> b(210);
  // ql[128] | qh[64] | int8 scales[16] | fp16 d
  auto ql = [](int i) { return static_cast<uint8_t>((i * 29 + 5) & 255); };
  auto qh = [](int i) { return static_cast<uint8_t>((i * 53 + 17) & 255); };
  const int8_t scales[16] = {-128, 127, 1, -1, 64, -63, 33, -5, 9, -100, 77, 2, -32, 120, -7, 50};
  for (int i = 0; i < 128; ++i) b[i] = ql(i);
  for (int i = 0; i < 64; ++i) b[128 + i] = qh(i);
  std::memcpy(b.data() + 192, scales, 16);
  const uint16_t dh = 0x0C5F;  // 0.0002668
  put16(b.data() + 208, dh);
  const auto y = dequant(GgmlType::Q6_K, b, 256);
  const float d = f16_to_f32(dh);
  for (int h = 0; h < 2; ++h) {
    for (int l = 0; l < 32; ++l) {
      const int L0 = ql(64 * h + l), L1 = ql(64 * h + l + 32), H = qh(32 * h + l);
      const int q[4] = {(L0 & 15) | ((H & 3) << 4), (L1 & 15) | (((H >> 2) & 3) << 4),
                        (L0 >> 4) | (((H >> 4) & 3) << 4), (L1 >> 4) | (((H >> 6) & 3) << 4)};
      for (int g = 0; g < 4; ++g) {
        const int sc = scales[8 * h + l / 16 + 2 * g];
        EXPECT_EQ(y[128 * h + 32 * g + l], d * static_cast<float>(sc) * static_cast<float>(q[g] - 32))
            << h << " " << g << " " << l;
      }
    }
  }
}

// ---------------------------------------------------------------------------
// Data: splitmix64 and Box-Muller, so every platform sees the same values.

struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1.0p-53; }
  double normal() { return std::sqrt(-2 * std::log(uniform())) * std::cos(6.283185307179586 * uniform()); }
  double student3() {
    const double a = normal(), b = normal(), c = normal();
    return normal() / std::sqrt((a * a + b * b + c * c) / 3);
  }
};

constexpr int64_t kRow = 4096;
constexpr int64_t kRows = 32;

std::vector<float> gaussian(uint64_t seed) {
  Rng r{seed};
  std::vector<float> x(kRow * kRows);
  for (auto& v : x) v = static_cast<float>(0.02 * r.normal());
  return x;
}
std::vector<float> heavy_tailed(uint64_t seed) {
  Rng r{seed};
  std::vector<float> x(kRow * kRows);
  for (auto& v : x) v = static_cast<float>(0.02 * r.student3());
  return x;
}

double rel_rms(const std::vector<float>& x, const std::vector<float>& y) {
  double e = 0, s = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    e += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
    s += static_cast<double>(x[i]) * x[i];
  }
  return std::sqrt(e / s);
}

// ---------------------------------------------------------------------------
// Plain min/max quantization, the baseline the search must beat: the scale
// maps the block's extreme to the last level, nothing is searched or refit.

float half(float v) { return f16_to_f32(f32_to_f16(v)); }
float nearest(float v) { return std::nearbyint(v); }

// Symmetric 32-blocks: d = (signed max) / qmin (the ±127 range for Q8_0).
void plain_symmetric(const float* x, float* y, int64_t n, int qmin, int qmax) {
  for (int64_t b = 0; b < n; b += 32) {
    float m = 0;
    for (int i = 0; i < 32; ++i)
      if (std::fabs(x[b + i]) > std::fabs(m)) m = x[b + i];
    const float d = half(qmin == -127 ? std::fabs(m) / 127 : m / static_cast<float>(qmin));
    for (int i = 0; i < 32; ++i) {
      const float q = d != 0 ? std::clamp(nearest(x[b + i] / d), float(qmin), float(qmax)) : 0.f;
      y[b + i] = q * d;
    }
  }
}

void plain_q5_1(const float* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n; b += 32) {
    const float mn = *std::min_element(x + b, x + b + 32), mx = *std::max_element(x + b, x + b + 32);
    const float d = half((mx - mn) / 31), m = half(mn);
    for (int i = 0; i < 32; ++i) {
      const float q = d != 0 ? std::clamp(nearest((x[b + i] - m) / d), 0.f, 31.f) : 0.f;
      y[b + i] = q * d + m;
    }
  }
}

void plain_k_affine(const float* x, float* y, int64_t n, int nmax) {
  for (int64_t b = 0; b < n; b += 256) {
    float s[8], m[8], smax = 0, mmax = 0;
    for (int j = 0; j < 8; ++j) {
      const float* p = x + b + 32 * j;
      const float mn = std::min(0.f, *std::min_element(p, p + 32)), mx = *std::max_element(p, p + 32);
      s[j] = (mx - mn) / static_cast<float>(nmax);
      m[j] = -mn;
      smax = std::max(smax, s[j]);
      mmax = std::max(mmax, m[j]);
    }
    const float d = half(smax / 63), dmin = half(mmax / 63);
    for (int j = 0; j < 8; ++j) {
      const float sc = d > 0 ? std::min(63.f, nearest(s[j] / d)) : 0.f;
      const float mi = dmin > 0 ? std::min(63.f, nearest(m[j] / dmin)) : 0.f;
      for (int i = 0; i < 32; ++i) {
        const int64_t k = b + 32 * j + i;
        const float q = sc > 0 ? std::clamp(nearest((x[k] + dmin * mi) / (d * sc)), 0.f, float(nmax)) : 0.f;
        y[k] = d * sc * q - dmin * mi;
      }
    }
  }
}

void plain_q6_k(const float* x, float* y, int64_t n) {
  for (int64_t b = 0; b < n; b += 256) {
    float s[16], smax = 0;
    for (int j = 0; j < 16; ++j) {
      float m = 0;
      for (int i = 0; i < 16; ++i)
        if (std::fabs(x[b + 16 * j + i]) > std::fabs(m)) m = x[b + 16 * j + i];
      s[j] = m / -32;
      if (std::fabs(s[j]) > std::fabs(smax)) smax = s[j];
    }
    const float d = half(smax / -128);
    for (int j = 0; j < 16; ++j) {
      const float sc = d != 0 ? std::clamp(nearest(s[j] / d), -128.f, 127.f) : 0.f;
      for (int i = 0; i < 16; ++i) {
        const int64_t k = b + 16 * j + i;
        const float q = sc != 0 ? std::clamp(nearest(x[k] / (d * sc)), -32.f, 31.f) : 0.f;
        y[k] = d * sc * q;
      }
    }
  }
}

std::vector<float> plain_round_trip(GgmlType t, const std::vector<float>& x) {
  std::vector<float> y(x.size());
  const auto n = static_cast<int64_t>(x.size());
  switch (t) {
    case GgmlType::Q8_0: plain_symmetric(x.data(), y.data(), n, -127, 127); break;
    case GgmlType::Q4_0: plain_symmetric(x.data(), y.data(), n, -8, 7); break;
    case GgmlType::Q5_0: plain_symmetric(x.data(), y.data(), n, -16, 15); break;
    case GgmlType::Q5_1: plain_q5_1(x.data(), y.data(), n); break;
    case GgmlType::Q4_K: plain_k_affine(x.data(), y.data(), n, 15); break;
    case GgmlType::Q5_K: plain_k_affine(x.data(), y.data(), n, 31); break;
    case GgmlType::Q6_K: plain_q6_k(x.data(), y.data(), n); break;
    default: ADD_FAILURE();
  }
  return y;
}

// ---------------------------------------------------------------------------
// Round-trip error bounds (relative RMS, %), a little above the values
// measured when they were set (in the comments: Gaussian, Student-t(3)).

struct Bound {
  GgmlType type;
  double gaussian;
  double heavy;
};

const Bound kBounds[] = {
    {GgmlType::Q8_0, 0.52, 0.85},  // 0.485, 0.793
    {GgmlType::Q6_K, 1.80, 2.60},  // 1.681, 2.464
    {GgmlType::Q5_K, 3.75, 4.90},  // 3.520, 4.618
    {GgmlType::Q5_1, 3.60, 4.65},  // 3.391, 4.397
    {GgmlType::Q5_0, 4.30, 6.90},  // 4.047, 6.524
    {GgmlType::Q4_K, 7.60, 9.90},  // 7.138, 9.337
    {GgmlType::Q4_0, 8.70, 13.3},  // 8.239, 12.554
};

// The default weighting the search minimises (x² + 2·mean x² over 32
// weights), to show the search wins on its own objective too.
double weighted_rel_rms(const std::vector<float>& x, const std::vector<float>& y) {
  double e = 0, s = 0;
  for (size_t b = 0; b < x.size(); b += 32) {
    double ms = 0;
    for (size_t i = b; i < b + 32; ++i) ms += static_cast<double>(x[i]) * x[i] / 32;
    for (size_t i = b; i < b + 32; ++i) {
      const double w = static_cast<double>(x[i]) * x[i] + 2 * ms, d = static_cast<double>(x[i]) - y[i];
      e += w * d * d;
      s += w * x[i] * x[i];
    }
  }
  return std::sqrt(e / s);
}

TEST(BlockQuantRoundTrip, ErrorBounds) {
  const auto g = gaussian(1), h = heavy_tailed(2);
  for (const Bound& b : kBounds) {
    const double eg = 100 * rel_rms(g, round_trip(b.type, g)), eh = 100 * rel_rms(h, round_trip(b.type, h));
    std::printf("%-5s relative RMS: gaussian %.3f%%, student-t3 %.3f%%\n", name(b.type).c_str(), eg, eh);
    EXPECT_LT(eg, b.gaussian) << name(b.type);
    EXPECT_LT(eh, b.heavy) << name(b.type);
  }
}

// The search must beat plain min/max on the same data by at least 1%, both in
// plain relative RMS and in the weighted error it minimises (measured gains
// 4% .. 12%, except Q4_0/Q5_0 on heavy tails: 1.3% .. 1.8%, where an outlier
// fixes a 32-weight block's scale either way).
TEST(BlockQuantRoundTrip, BeatsPlainMinMax) {
  const auto g = gaussian(3), h = heavy_tailed(4);
  for (const Bound& b : kBounds) {
    for (const auto* x : {&g, &h}) {
      const auto ours = round_trip(b.type, *x), plain = plain_round_trip(b.type, *x);
      const double e = rel_rms(*x, ours), p = rel_rms(*x, plain);
      const double we = weighted_rel_rms(*x, ours), wp = weighted_rel_rms(*x, plain);
      std::printf("%-5s %-8s ours %.3f%% plain %.3f%% (gain %.1f%%), weighted gain %.1f%%\n", name(b.type).c_str(),
                  x == &g ? "gaussian" : "t3", 100 * e, 100 * p, 100 * (1 - e / p), 100 * (1 - we / wp));
      EXPECT_LT(e, 0.99 * p) << name(b.type);
      EXPECT_LT(we, 0.99 * wp) << name(b.type);
    }
  }
}

// Quantizing the dequantized values again must not drift: the values are on
// a grid the search can find again, so the bytes mostly repeat and the error
// against the original does not grow over repeated round trips.
TEST(BlockQuantRoundTrip, RequantizationIsStable) {
  const auto x = heavy_tailed(5);
  for (GgmlType t : kBlockTypes) {
    const auto q1 = quant(t, x);
    const auto x1 = dequant(t, q1, static_cast<int64_t>(x.size()));
    const auto q2 = quant(t, x1);
    const auto x2 = dequant(t, q2, static_cast<int64_t>(x.size()));
    const double e1 = rel_rms(x, x1), e2 = rel_rms(x, x2), drift = rel_rms(x1, x2);
    size_t same = 0;
    for (size_t i = 0; i < q1.size(); ++i) same += q1[i] == q2[i];
    std::printf("%-5s requantized: %.1f%% bytes equal, drift %.4f%%, error %.4f%% -> %.4f%%\n", name(t).c_str(),
                100.0 * static_cast<double>(same) / static_cast<double>(q1.size()), 100 * drift, 100 * e1, 100 * e2);
    EXPECT_GT(same, q1.size() * 9 / 10) << name(t);
    EXPECT_LE(drift, 0.2 * e1) << name(t);
    EXPECT_LE(e2, 1.02 * e1) << name(t);
    const auto x4 = round_trip(t, round_trip(t, x2));
    EXPECT_LE(rel_rms(x, x4), 1.02 * e1) << name(t);
  }
}

// ---------------------------------------------------------------------------
// Edge cases: zero, constant, tiny and huge blocks; importance.

bool all_finite(const std::vector<float>& v) {
  return std::all_of(v.begin(), v.end(), [](float f) { return std::isfinite(f); });
}

TEST(BlockQuantEdges, ZeroBlocksReadBackAsZero) {
  for (GgmlType t : kBlockTypes) {
    const std::vector<float> x(512, 0.f);
    const auto y = round_trip(t, x);
    for (float v : y) ASSERT_EQ(v, 0.f) << name(t);
    // Values below anything an fp16 scale can express are zeros too.
    const std::vector<float> tiny(512, 1e-35f);
    for (float v : round_trip(t, tiny)) ASSERT_EQ(v, 0.f) << name(t);
  }
}

TEST(BlockQuantEdges, ConstantBlocks) {
  for (GgmlType t : kBlockTypes) {
    for (float c : {0.75f, -0.75f, 0.3f, -1234.5f}) {
      const std::vector<float> x(512, c);
      const auto y = round_trip(t, x);
      // One fp16 rounding of the scale: within 2^-10 relative.
      for (float v : y) ASSERT_NEAR(v, c, std::fabs(c) * 1e-3) << name(t) << " " << c;
    }
    // Small enough that a K-quant's d is an fp16 subnormal (Q5_K: 3e-3/1953
    // = 1.5e-6, in steps of 6e-8): fewer significant bits, within 5%. On
    // varied data the 6-bit scales absorb most of it (Q5_K on Gaussian data:
    // 3.49% relative RMS at std 1, 3.52% at std 0.001).
    const std::vector<float> x(512, 3e-3f);
    for (float v : round_trip(t, x)) ASSERT_NEAR(v, 3e-3f, 3e-3 * 5e-2) << name(t);
  }
}

TEST(BlockQuantEdges, TinyAndHugeMagnitudes) {
  const auto base = gaussian(6);
  const std::vector<float> x(base.begin(), base.begin() + 1024);
  const double e_unit = [&] {
    std::vector<float> s(x);
    for (auto& v : s) v *= 50;  // ~unit scale
    return rel_rms(s, round_trip(GgmlType::Q4_K, s));
  }();
  for (GgmlType t : kBlockTypes) {
    // Scales that fp16 still represents well keep the usual accuracy.
    for (float scale : {1e-2f, 50.f, 2e4f}) {
      std::vector<float> s(x);
      for (auto& v : s) v *= scale;
      const auto y = round_trip(t, s);
      ASSERT_TRUE(all_finite(y)) << name(t) << " " << scale;
      EXPECT_LT(rel_rms(s, y), 0.15) << name(t) << " " << scale;
    }
    // Far beyond fp16 (scale saturates at 65504, or underflows): finite.
    for (float scale : {1e-9f, 1e9f, 1e30f, 1e37f}) {
      std::vector<float> s(x);
      for (auto& v : s) v *= scale;
      const auto y = round_trip(t, s);
      ASSERT_TRUE(all_finite(y)) << name(t) << " " << scale;
    }
  }
  EXPECT_LT(e_unit, 0.08);
  // Magnitudes 1e38 apart inside one block: the small ones read back as
  // (close to) zero, the large ones as usual, nothing non-finite.
  for (GgmlType t : kBlockTypes) {
    std::vector<float> s(x.begin(), x.begin() + 512);
    for (size_t i = 0; i < s.size(); ++i) s[i] = i % 64 < 16 ? s[i] * 1e-36f : s[i] * 50;
    s[3] = 1e-38f;
    s[5] = -2e-45f;  // subnormal
    const auto y = round_trip(t, s);
    ASSERT_TRUE(all_finite(y)) << name(t);
    EXPECT_LT(rel_rms(s, y), 0.15) << name(t);
  }
  // One outlier 1000x the rest: the rest of its block may be lost, but the
  // outlier itself survives and nothing turns non-finite.
  for (GgmlType t : kBlockTypes) {
    std::vector<float> s(x);
    s[100] = 20.f;
    const auto y = round_trip(t, s);
    ASSERT_TRUE(all_finite(y));
    EXPECT_NEAR(y[100], 20.f, 20.f * 0.07) << name(t);
  }
}

TEST(BlockQuantEdges, ImportanceWeighsTheError) {
  // Heavy importance on every fourth weight: those must come out more
  // accurate than without importance, at some cost to the others.
  const auto x = gaussian(7);
  std::vector<float> imp(x.size());
  for (size_t i = 0; i < imp.size(); ++i) imp[i] = i % 4 == 0 ? 100.f : 1.f;
  for (GgmlType t : kBlockTypes) {
    const auto n = static_cast<int64_t>(x.size());
    const auto with = dequant(t, quant(t, x, imp.data()), n), without = dequant(t, quant(t, x), n);
    double e_with = 0, e_without = 0;
    for (size_t i = 0; i < x.size(); i += 4) {
      e_with += (x[i] - with[i]) * (x[i] - with[i]);
      e_without += (x[i] - without[i]) * (x[i] - without[i]);
    }
    EXPECT_LT(e_with, 0.9 * e_without) << name(t);
  }
  // All-zero or negative importance falls back to uniform weights.
  const std::vector<float> zeros(x.size(), 0.f), negative(x.size(), -1.f);
  for (GgmlType t : kBlockTypes) {
    const auto n = static_cast<int64_t>(x.size());
    for (const auto* imp2 : {&zeros, &negative}) {
      const auto y = dequant(t, quant(t, x, imp2->data()), n);
      ASSERT_TRUE(all_finite(y));
      EXPECT_LT(rel_rms(x, y), 0.1) << name(t);
    }
  }
}

// ---------------------------------------------------------------------------
// Plain types, sizes and errors.

TEST(BlockQuantRows, PlainTypes) {
  const std::vector<float> x = {0.f, 1.f, -2.5f, 65504.f, 1e-8f, 3.14159265f, -0.1f, 7e4f};
  const auto n = static_cast<int64_t>(x.size());
  EXPECT_EQ(round_trip(GgmlType::F32, x), x);
  const auto h = round_trip(GgmlType::F16, x), b = round_trip(GgmlType::BF16, x);
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(h[i], f16_to_f32(f32_to_f16(x[i]))) << i;
    EXPECT_EQ(b[i], josi::formats::bf16_to_f32(josi::formats::f32_to_bf16(x[i]))) << i;
  }
  EXPECT_EQ(quant(GgmlType::F16, x).size(), static_cast<size_t>(2 * n));
}

TEST(BlockQuantRows, F16RowsMatchTheScalarConversionForEveryHalf) {
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> y(65536);
  dequantize_row(GgmlType::F16, all.data(), y.data(), 65536);
  for (uint32_t i = 0; i < 65536; ++i) {
    const float want = f16_to_f32(static_cast<uint16_t>(i));
    uint32_t a, b;
    std::memcpy(&a, &y[i], 4);
    std::memcpy(&b, &want, 4);
    ASSERT_EQ(a, b) << std::hex << i;  // bits, so NaN payloads count too
  }
}

TEST(BlockQuantRows, WritesExactlyTheRowBytes) {
  const auto x = gaussian(8);
  for (GgmlType t : kBlockTypes) {
    const int64_t n = 512;
    const size_t bytes = row_bytes(t, n);
    std::vector<uint8_t> out(bytes + 64, 0xA5);
    quantize_row(t, x.data(), out.data() + 1, n);  // odd address: no alignment assumed
    EXPECT_EQ(out[0], 0xA5) << name(t);
    for (size_t i = bytes + 1; i < out.size(); ++i) ASSERT_EQ(out[i], 0xA5) << name(t);
    std::vector<float> y(n + 8, 42.f);
    dequantize_row(t, out.data() + 1, y.data(), n);
    for (int64_t i = n; i < n + 8; ++i) ASSERT_EQ(y[i], 42.f) << name(t);
    // Rows are independent: quantizing two rows at once equals one by one.
    std::vector<uint8_t> one(2 * bytes), two(2 * bytes);
    quantize_row(t, x.data(), two.data(), 2 * n);
    quantize_row(t, x.data(), one.data(), n);
    quantize_row(t, x.data() + n, one.data() + bytes, n);
    EXPECT_EQ(one, two) << name(t);
  }
}

TEST(BlockQuantRows, Errors) {
  std::vector<float> x(512, 1.f);
  std::vector<uint8_t> out(4096);
  for (GgmlType t : {GgmlType::Q4_1, GgmlType::Q8_1, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q8_K}) {
    EXPECT_FALSE(josi::quant::can_quantize(t));
    EXPECT_FALSE(josi::quant::can_dequantize(t));
    EXPECT_THROW(quantize_row(t, x.data(), out.data(), 256), josi::Error) << name(t);
    EXPECT_THROW(dequantize_row(t, out.data(), x.data(), 256), josi::Error) << name(t);
  }
  EXPECT_THROW(quantize_row(static_cast<GgmlType>(77), x.data(), out.data(), 32), josi::Error);
  for (GgmlType t : kBlockTypes) {
    EXPECT_TRUE(josi::quant::can_quantize(t));
    EXPECT_TRUE(josi::quant::can_dequantize(t));
    const int64_t block = static_cast<int64_t>(josi::formats::ggml_type_info(t).block_size);
    EXPECT_THROW(quantize_row(t, x.data(), out.data(), block + 1), josi::Error) << name(t);
    EXPECT_THROW(quantize_row(t, x.data(), out.data(), block / 2), josi::Error) << name(t);
    EXPECT_THROW(dequantize_row(t, out.data(), x.data(), block - 1), josi::Error) << name(t);
    EXPECT_THROW(quantize_row(t, x.data(), out.data(), -block), josi::Error) << name(t);
    EXPECT_NO_THROW(quantize_row(t, x.data(), out.data(), 0));
  }
  // Inputs must be finite: NaN or inf anywhere in a block is an error.
  for (GgmlType t : kBlockTypes) {
    for (float bad : {std::nanf(""), INFINITY, -INFINITY}) {
      std::vector<float> v(512, 0.5f);
      v[300] = bad;
      EXPECT_THROW(quantize_row(t, v.data(), out.data(), 512), josi::Error) << name(t) << " " << bad;
    }
  }
  try {
    quantize_row(GgmlType::Q4_K, x.data(), out.data(), 100);
    FAIL();
  } catch (const josi::Error& e) {
    EXPECT_NE(std::string(e.what()).find("Q4_K"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("100"), std::string::npos) << e.what();
  }
}

}  // namespace
