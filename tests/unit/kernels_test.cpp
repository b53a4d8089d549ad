// Compute kernels (src/kernels/): the scalar matmul against dequantized
// weights times the float activations in double precision, every fast path
// against the scalar one, the vector ops, f32 -> f16 rounding, ISA selection
// and errors.
//
// Tolerances. Fast vs scalar: both paths compute the same integer dot
// products from the same 8-bit activations, so they differ only in the order
// of float additions and in float rounding of the block scales' products;
// the bound is 2e-6 · S with S = Σ_i (|w_i| + |z_i|)·|x_i|, where z is the
// weight with its quant set to zero (the block's offset, e.g. −dmin·m for
// Q4_K), because offsets and levels are summed separately and may cancel.
// Scalar vs exact: activation quantization moves each x_i by at most half a
// step, max|x| / 254 of its block, so |error| ≤ Σ_i |w_i|·step_i/2 plus the
// same float term.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/error.hpp"
#include "base/thread_pool.hpp"
#include "formats/dtype.hpp"
#include "kernels/cpu_features.hpp"
#include "kernels/isa_kernels.hpp"
#include "kernels/low_rank.hpp"
#include "kernels/matmul.hpp"
#include "kernels/row_groups.hpp"
#include "kernels/vector_ops.hpp"
#include "quant/block_quant.hpp"

namespace {

using josi::formats::GgmlType;
using josi::kernels::Isa;
namespace kernels = josi::kernels;

const GgmlType kTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0,
                           GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K};

std::string name(GgmlType t) { return std::string(josi::formats::ggml_type_info(t).name); }
int64_t block_size(GgmlType t) { return static_cast<int64_t>(josi::formats::ggml_type_info(t).block_size); }
size_t row_bytes(GgmlType t, int64_t k) { return *josi::formats::ggml_row_bytes(t, static_cast<uint64_t>(k)); }
bool is_float(GgmlType t) { return t == GgmlType::F32 || t == GgmlType::F16 || t == GgmlType::BF16; }
// Activations are quantized in blocks of this many (1: not quantized).
int64_t act_block(GgmlType t) { return is_float(t) ? 1 : t >= GgmlType::Q2_K && t <= GgmlType::Q8_K ? 256 : 32; }

std::vector<Isa> fast_isas() {
  std::vector<Isa> out;
  for (Isa isa : kernels::all_isas())
    if (isa != Isa::scalar && kernels::isa_supported(isa)) out.push_back(isa);
  return out;
}

// Restores the active ISA when a test is done with it.
class IsaGuard {
 public:
  IsaGuard() : saved_(kernels::active_isa()) {}
  ~IsaGuard() { kernels::set_active_isa(saved_); }

 private:
  Isa saved_;
};

// Gaussian data with occasional outliers, as real weights and activations have.
std::vector<float> random_floats(std::mt19937& rng, int64_t n, float scale = 1.f) {
  std::normal_distribution<float> normal(0.f, scale);
  std::uniform_int_distribution<int> pick(0, 49);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& f : v) f = normal(rng) * (pick(rng) == 0 ? 8.f : 1.f);
  return v;
}

struct Weights {
  GgmlType type;
  int64_t rows, k;
  std::vector<uint8_t> bytes;
  std::vector<float> values;   // dequantized, rows × k
  std::vector<float> offsets;  // dequantized with every quant set to zero
};

// The quant bits of one row's blocks set to zero, keeping scales and mins.
void zero_quants(GgmlType t, uint8_t* row, int64_t k) {
  const auto info = josi::formats::ggml_type_info(t);
  const int64_t nb = k / static_cast<int64_t>(info.block_size);
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* p = row + b * static_cast<int64_t>(info.type_size);
    switch (t) {
      case GgmlType::Q8_0:
        std::memset(p + 2, 0, 32);
        break;
      case GgmlType::Q4_0:
        std::memset(p + 2, 0, 16);
        break;
      case GgmlType::Q5_0:
        std::memset(p + 2, 0, 20);
        break;
      case GgmlType::Q5_1:
        std::memset(p + 4, 0, 20);
        break;
      case GgmlType::Q4_K:
        std::memset(p + 16, 0, 128);
        break;
      case GgmlType::Q5_K:
        std::memset(p + 16, 0, 160);
        break;
      case GgmlType::Q6_K:
        std::memset(p, 0, 192);
        break;
      default:
        std::memset(p, 0, info.type_size);
        break;
    }
  }
}

Weights make_weights(std::mt19937& rng, GgmlType t, int64_t rows, int64_t k) {
  Weights w{t, rows, k, {}, {}, {}};
  const size_t rb = row_bytes(t, k);
  w.bytes.resize(rb * static_cast<size_t>(rows));
  w.values.resize(static_cast<size_t>(rows * k));
  w.offsets.resize(static_cast<size_t>(rows * k));
  std::vector<uint8_t> zeroed(rb);
  for (int64_t r = 0; r < rows; ++r) {
    // Rows of different magnitudes and signs of offset, like real layers.
    const auto x = random_floats(rng, k, 0.02f * static_cast<float>(1 + r % 3));
    uint8_t* row = w.bytes.data() + r * rb;
    josi::quant::quantize_row(t, x.data(), row, k);
    josi::quant::dequantize_row(t, row, w.values.data() + r * k, k);
    std::memcpy(zeroed.data(), row, rb);
    zero_quants(t, zeroed.data(), k);
    josi::quant::dequantize_row(t, zeroed.data(), w.offsets.data() + r * k, k);
  }
  return w;
}

// y = W x through kernels::matmul with the active ISA; ldy = rows + 3 and
// the padding must stay untouched.
// `arranged`: the weights in `layout` (empty: w.bytes, the row layout).
std::vector<float> run_matmul(josi::base::ThreadPool& pool, const Weights& w, const std::vector<float>& x,
                              int64_t n_tokens, kernels::WeightLayout layout = kernels::WeightLayout::rows,
                              const std::vector<uint8_t>& arranged = {}) {
  const int64_t ldy = w.rows + 3;
  std::vector<float> y(static_cast<size_t>(ldy * n_tokens), -12345.f);
  kernels::MatmulScratch scratch;
  kernels::matmul(pool, w.type, arranged.empty() ? w.bytes.data() : arranged.data(), w.rows, w.k, x.data(), n_tokens,
                  y.data(), ldy, scratch, layout);
  std::vector<float> out(static_cast<size_t>(w.rows * n_tokens));
  for (int64_t t = 0; t < n_tokens; ++t) {
    for (int64_t r = 0; r < w.rows; ++r) out[t * w.rows + r] = y[t * ldy + r];
    for (int64_t r = w.rows; r < ldy; ++r) EXPECT_EQ(y[t * ldy + r], -12345.f) << "padding written";
  }
  return out;
}

// S of the header comment for row r, token t.
double magnitude(const Weights& w, const std::vector<float>& x, int64_t r, int64_t t) {
  double s = 0;
  for (int64_t i = 0; i < w.k; ++i)
    s += (std::fabs(double{w.values[r * w.k + i]}) + std::fabs(double{w.offsets[r * w.k + i]})) *
         std::fabs(double{x[t * w.k + i]});
  return s;
}

TEST(Matmul, ScalarMatchesDequantizedWeightsTimesExactActivations) {
  IsaGuard guard;
  kernels::set_active_isa(Isa::scalar);
  josi::base::ThreadPool pool(2);
  std::mt19937 rng(11);
  for (GgmlType t : kTypes) {
    const int64_t k = 512, rows = 9, n_tokens = 3, ab = act_block(t);
    const Weights w = make_weights(rng, t, rows, k);
    const auto x = random_floats(rng, k * n_tokens);
    const auto y = run_matmul(pool, w, x, n_tokens);
    for (int64_t tok = 0; tok < n_tokens; ++tok) {
      for (int64_t r = 0; r < rows; ++r) {
        double exact = 0, quant_bound = 0;
        for (int64_t b = 0; b < k / ab; ++b) {
          float amax = 0;
          for (int64_t i = b * ab; i < (b + 1) * ab; ++i) amax = std::max(amax, std::fabs(x[tok * k + i]));
          const double half_step = ab == 1 ? 0 : amax / 254.0 * 1.0001;
          for (int64_t i = b * ab; i < (b + 1) * ab; ++i) {
            exact += double{w.values[r * k + i]} * x[tok * k + i];
            quant_bound += std::fabs(double{w.values[r * k + i]}) * half_step;
          }
        }
        const double bound = quant_bound + 2e-6 * magnitude(w, x, r, tok);
        EXPECT_NEAR(y[tok * rows + r], exact, bound) << name(t) << " row " << r << " token " << tok;
      }
    }
  }
}

TEST(Matmul, FastPathsMatchScalar) {
  IsaGuard guard;
  josi::base::ThreadPool pool(2);
  std::mt19937 rng(5);
  double worst = 0;  // largest |fast − scalar| / S seen, for the log
  for (GgmlType t : kTypes) {
    const int64_t bs = std::max<int64_t>(block_size(t), 32);
    std::vector<int64_t> ks{bs, 3 * bs, 7 * bs};
    if (is_float(t)) ks.insert(ks.end(), {1, 15, 37});  // any length, the vector tails
    for (int64_t k : ks) {
      for (int64_t rows : {1, 5, 19, 70}) {
        const Weights w = make_weights(rng, t, rows, k);
        for (int64_t n_tokens : {1, 2, 3, 5, 17}) {
          const auto x = random_floats(rng, k * n_tokens);
          kernels::set_active_isa(Isa::scalar);
          const auto expected = run_matmul(pool, w, x, n_tokens);
          for (Isa isa : fast_isas()) {
            kernels::set_active_isa(isa);
            const auto y = run_matmul(pool, w, x, n_tokens);
            for (int64_t tok = 0; tok < n_tokens; ++tok) {
              for (int64_t r = 0; r < rows; ++r) {
                const double s = magnitude(w, x, r, tok);
                const double diff = std::fabs(double{y[tok * rows + r]} - expected[tok * rows + r]);
                worst = std::max(worst, s > 0 ? diff / s : diff);
                ASSERT_LE(diff, 2e-6 * s) << name(t) << " " << kernels::isa_name(isa) << " k " << k << " rows " << rows
                                          << " tokens " << n_tokens << " row " << r << " token " << tok;
              }
            }
          }
        }
      }
    }
  }
  std::printf("largest |fast - scalar| / S: %.3g (bound 2e-6)\n", worst);
}

// Q4_K, Q6_K and Q8_0 in 16-row groups (kernels/row_groups.hpp): the packing
// keeps every byte (a row unpacks to the bytes it came from), the scalar
// path gives the row layout's floats exactly, each fast path matches it
// within the bound above, and a token's result does not depend on its batch.
TEST(Matmul, RowGroupsMatchTheRowLayoutOnEveryPath) {
  IsaGuard guard;
  josi::base::ThreadPool pool(2);
  std::mt19937 rng(17);
  const auto layout = kernels::WeightLayout::row_groups;
  for (GgmlType t : {GgmlType::Q4_K, GgmlType::Q6_K, GgmlType::Q8_0}) {
    for (int64_t k : {256, 768, 1536}) {
      for (int64_t rows : {16, 48}) {
        Weights w = make_weights(rng, t, rows, k);
        if (t == GgmlType::Q8_0) {  // the level −128: the quantizer never writes it, a file may hold it
          w.bytes[2] = 0x80;
          josi::quant::dequantize_row(t, w.bytes.data(), w.values.data(), k);
        }
        std::vector<uint8_t> packed(kernels::layout_bytes(layout, t, rows, k));
        EXPECT_EQ(packed.size(), t == GgmlType::Q4_K ? w.bytes.size() / 144 * 148 : w.bytes.size());
        kernels::arrange_weights(layout, t, w.bytes.data(), rows, k, packed.data());
        std::vector<uint8_t> row(row_bytes(t, k));
        for (int64_t r = 0; r < rows; ++r) {
          josi::kernels::detail::unpack_group_row(t, packed.data(), k, r, row.data());
          ASSERT_TRUE(std::equal(row.begin(), row.end(), w.bytes.begin() + r * static_cast<int64_t>(row.size())))
              << name(t) << " row " << r;
        }
        for (int64_t n_tokens : {1, 2, 3, 4, 5, 9}) {
          const auto x = random_floats(rng, k * n_tokens);
          const std::string where = name(t) + " k " + std::to_string(k) + " rows " + std::to_string(rows) +
                                    " tokens " + std::to_string(n_tokens);
          kernels::set_active_isa(Isa::scalar);
          const auto expected = run_matmul(pool, w, x, n_tokens);
          EXPECT_EQ(run_matmul(pool, w, x, n_tokens, layout, packed), expected) << "scalar " << where;
          for (Isa isa : fast_isas()) {
            kernels::set_active_isa(isa);
            const auto y = run_matmul(pool, w, x, n_tokens, layout, packed);
            for (int64_t tok = 0; tok < n_tokens; ++tok) {
              const std::vector<float> one_x(x.begin() + tok * k, x.begin() + (tok + 1) * k);
              const auto alone = run_matmul(pool, w, one_x, 1, layout, packed);
              for (int64_t r = 0; r < rows; ++r) {
                const double diff = std::fabs(double{y[tok * rows + r]} - expected[tok * rows + r]);
                ASSERT_LE(diff, 2e-6 * magnitude(w, x, r, tok))
                    << kernels::isa_name(isa) << " " << where << " row " << r << " token " << tok;
                ASSERT_EQ(y[tok * rows + r], alone[r]) << kernels::isa_name(isa) << " " << where << " token " << tok;
              }
            }
          }
        }
      }
    }
  }
}

TEST(Matmul, TheGroupedLayoutIsChosenOnlyWhereItFits) {
  IsaGuard guard;
  const auto grouped = kernels::WeightLayout::row_groups;
  kernels::set_active_isa(Isa::scalar);
  EXPECT_EQ(kernels::best_layout(GgmlType::Q4_K, 1536, 1536), kernels::WeightLayout::rows);
  if (kernels::isa_supported(Isa::avx512_vnni)) {
    kernels::set_active_isa(Isa::avx512_vnni);
    EXPECT_EQ(kernels::best_layout(GgmlType::Q4_K, 1536, 1536), grouped);
    EXPECT_EQ(kernels::best_layout(GgmlType::Q6_K, 151936, 1536), grouped);
    EXPECT_EQ(kernels::best_layout(GgmlType::Q4_K, 1535, 1536), kernels::WeightLayout::rows);
    EXPECT_EQ(kernels::best_layout(GgmlType::Q8_0, 1536, 1536), grouped);
    EXPECT_EQ(kernels::best_layout(GgmlType::Q8_0, 1536, 1568), kernels::WeightLayout::rows);  // k not of 64
    EXPECT_EQ(kernels::best_layout(GgmlType::Q5_0, 1536, 1536), kernels::WeightLayout::rows);
  }
  josi::base::ThreadPool pool(1);
  kernels::MatmulScratch scratch;
  std::vector<uint8_t> w(4096);
  std::vector<float> x(512), y(64);
  try {
    kernels::matmul(pool, GgmlType::Q4_K, w.data(), 5, 256, x.data(), 1, y.data(), 5, scratch, grouped);
    FAIL() << "no error";
  } catch (const josi::Error& e) {
    EXPECT_STREQ(e.what(), "matmul: a 5 x 256 Q4_K matrix cannot be in 16-row groups");
  }
  EXPECT_THROW(kernels::arrange_weights(grouped, GgmlType::Q8_0, w.data(), 16, 32, w.data()), josi::Error);
  EXPECT_THROW(kernels::arrange_weights(grouped, GgmlType::Q4_0, w.data(), 16, 64, w.data()), josi::Error);
}

// The fast quantizers must give the scalar one's bytes, or the paths could
// not be compared exactly.
TEST(Matmul, QuantizedActivationsAreIdenticalOnEveryPath) {
  std::mt19937 rng(3);
  const int64_t k = 7 * 256;
  auto x = random_floats(rng, k);
  std::fill(x.begin() + 256, x.begin() + 512, 0.f);  // an all-zero block
  x[600] = 1e-30f;                                   // a tiny one
  const josi::kernels::detail::ActLayout q32{static_cast<size_t>(k), static_cast<size_t>(k + k / 32 * 4),
                                             static_cast<size_t>(k + k / 32 * 10), static_cast<size_t>(k + k / 32 * 8)};
  const josi::kernels::detail::ActLayout q256{static_cast<size_t>(k), static_cast<size_t>(k + k / 256 * 4),
                                              static_cast<size_t>(k + k / 256 * 4 + k / 16 * 2)};
  std::vector<uint8_t> expect32(q32.stride), expect256(q256.stride);
  const auto* scalar = josi::kernels::detail::matmul_kernels_scalar();
  scalar->quantize_q8_32(x.data(), k, expect32.data(), q32);
  scalar->quantize_q8_256(x.data(), k, expect256.data(), q256);
  for (Isa isa : fast_isas()) {
    const auto* fast = josi::kernels::detail::matmul_kernels(isa);
    std::vector<uint8_t> got32(q32.stride), got256(q256.stride);
    fast->quantize_q8_32(x.data(), k, got32.data(), q32);
    fast->quantize_q8_256(x.data(), k, got256.data(), q256);
    EXPECT_EQ(got32, expect32) << kernels::isa_name(isa);
    EXPECT_EQ(got256, expect256) << kernels::isa_name(isa);
  }
}

// A product with a low-rank term is the product plus B·u on every path and
// layout, for F32 and F16 B, odd ranks, a u wider than the rank, row counts
// that end inside a task's rows, and more tokens than one pass of the term.
TEST(Matmul, ALowRankTermAddsBTimesUOnEveryPath) {
  IsaGuard guard;
  josi::base::ThreadPool pool(2);
  std::mt19937 rng(21);
  const int64_t k = 512, ldu = 24;
  std::vector<Isa> isas = fast_isas();
  isas.push_back(Isa::scalar);
  for (const int64_t rows : {int64_t{80}, int64_t{83}})
    for (const GgmlType b_type : {GgmlType::F32, GgmlType::F16}) {
      const Weights w = make_weights(rng, GgmlType::Q4_K, rows, k);
      for (const int64_t rank : {int64_t{16}, int64_t{5}}) {
        // B in panels as stored, and B's values as the kernel sees them (F16 rounded).
        constexpr int64_t kPanel = kernels::kLowRankPanel;
        const int64_t panel_values = (rows + kPanel - 1) / kPanel * rank * kPanel;
        const auto b_values = random_floats(rng, rows * rank, 0.05f);
        std::vector<float> panels(static_cast<size_t>(panel_values), 0.0f), stored(panels.size());
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < rank; ++j)
            panels[((r / kPanel) * rank + j) * kPanel + r % kPanel] = b_values[r * rank + j];
        std::vector<uint8_t> bt_bytes(row_bytes(b_type, panel_values));
        josi::quant::quantize_row(b_type, panels.data(), bt_bytes.data(), panel_values);
        josi::quant::dequantize_row(b_type, bt_bytes.data(), stored.data(), panel_values);
        std::vector<float> b_exact(b_values.size());
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < rank; ++j)
            b_exact[r * rank + j] = stored[((r / kPanel) * rank + j) * kPanel + r % kPanel];
        for (const int64_t n : {int64_t{1}, int64_t{3}, int64_t{70}}) {
          const auto x = random_floats(rng, k * n);
          const auto u = random_floats(rng, ldu * n);
          for (Isa isa : isas) {
            kernels::set_active_isa(isa);
            const kernels::WeightLayout layout = kernels::best_layout(w.type, rows, k);
            std::vector<uint8_t> arranged(kernels::layout_bytes(layout, w.type, rows, k));
            kernels::arrange_weights(layout, w.type, w.bytes.data(), rows, k, arranged.data());
            const auto base = run_matmul(pool, w, x, n, layout, arranged);
            std::vector<float> y(static_cast<size_t>(rows * n));
            kernels::MatmulScratch scratch;
            const kernels::LowRankTerm term{b_type, bt_bytes.data(), rank, u.data(), ldu};
            kernels::matmul(pool, w.type, arranged.data(), rows, k, x.data(), n, y.data(), rows, scratch, layout,
                            &term);
            for (int64_t t = 0; t < n; ++t)
              for (int64_t r = 0; r < rows; ++r) {
                double added = 0, size = 0;
                for (int64_t j = 0; j < rank; ++j) {
                  added += double{b_exact[r * rank + j]} * u[t * ldu + j];
                  size += std::fabs(double{b_exact[r * rank + j]} * u[t * ldu + j]);
                }
                const double got = y[t * rows + r] - double{base[t * rows + r]};
                ASSERT_NEAR(got, added, 1e-6 * (size + std::fabs(base[t * rows + r])) + 1e-7)
                    << kernels::isa_name(isa) << " " << name(b_type) << " rank " << rank << " n " << n << " row " << r
                    << " token " << t;
              }
          }
        }
      }
    }
}

TEST(Matmul, ManyThreadsGiveTheSameResultAsOne) {
  josi::base::ThreadPool one(1), three(3);
  std::mt19937 rng(8);
  for (GgmlType t : {GgmlType::Q4_K, GgmlType::Q8_0, GgmlType::F16}) {
    const Weights w = make_weights(rng, t, 75, 512);
    const auto x = random_floats(rng, 512 * 9);
    EXPECT_EQ(run_matmul(one, w, x, 9), run_matmul(three, w, x, 9)) << name(t);
  }
}

// A product calls rows_done once for each block of kRowsDoneBlock rows (the last
// one shorter), after the block's rows, low-rank term included, are written.
TEST(Matmul, RowsDoneSeesEachBlockOnceItsRowsAreWritten) {
  josi::base::ThreadPool pool(3);
  std::mt19937 rng(5);
  const int64_t rows = 83, k = 512, n = 3, rank = 4;
  const Weights w = make_weights(rng, GgmlType::Q4_K, rows, k);
  const auto x = random_floats(rng, k * n), u = random_floats(rng, rank * n), b = random_floats(rng, rows * rank);
  const auto bt = kernels::to_panels(GgmlType::F32, b.data(), rows, rank);
  const kernels::LowRankTerm term{GgmlType::F32, bt.data(), rank, u.data(), rank};
  std::vector<float> y(static_cast<size_t>(rows * n)), seen(y.size(), -1.f);
  std::vector<int> calls(static_cast<size_t>(rows), 0);
  const kernels::RowsDone rows_done = [&](int64_t r0, int64_t r1) {
    EXPECT_EQ(r0 % kernels::kRowsDoneBlock, 0);
    EXPECT_EQ(r1, std::min(r0 + kernels::kRowsDoneBlock, rows));
    for (int64_t r = r0; r < r1; ++r) {
      ++calls[static_cast<size_t>(r)];
      for (int64_t t = 0; t < n; ++t) seen[static_cast<size_t>(t * rows + r)] = y[static_cast<size_t>(t * rows + r)];
    }
  };
  kernels::MatmulScratch scratch;
  kernels::matmul(pool, w.type, w.bytes.data(), rows, k, x.data(), n, y.data(), rows, scratch,
                  kernels::WeightLayout::rows, &term, &rows_done);
  EXPECT_EQ(seen, y);
  EXPECT_EQ(calls, std::vector<int>(static_cast<size_t>(rows), 1));
}

// A factor in panels times a range of its columns is the exact product of
// the stored values on every path, F32 and F16, for row counts inside and
// past a panel, ranges that start at a panel's rows and end inside one,
// and column ranges from one column to all of them.
TEST(LowRank, APanelProductOverARangeIsTheExactProduct) {
  IsaGuard guard;
  std::mt19937 rng(34);
  std::vector<Isa> isas = fast_isas();
  isas.push_back(Isa::scalar);
  for (const GgmlType type : {GgmlType::F32, GgmlType::F16})
    for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{48, 1536}, {5, 300}, {37, 40}}) {
      const auto m = random_floats(rng, rows * cols, 0.1f);
      const auto panels = kernels::to_panels(type, m.data(), rows, cols);
      std::vector<float> stored(m.size());  // M as kept: F16 rounds it
      for (size_t i = 0; i < m.size(); ++i) stored[i] = type == GgmlType::F16 ? josi::formats::f16_to_f32(josi::formats::f32_to_f16(m[i])) : m[i];
      const auto v = random_floats(rng, cols);
      for (const auto& [r0, r1] : {std::pair<int64_t, int64_t>{0, rows}, {16, std::min<int64_t>(rows, 21)}})
        for (const auto& [j0, j1] : {std::pair<int64_t, int64_t>{0, cols}, {16, 32}, {cols - 1, cols}, {3, cols}}) {
          if (r1 <= r0) continue;
          for (Isa isa : isas) {
            kernels::set_active_isa(isa);
            const std::string where = std::string(kernels::isa_name(isa)) + " " + name(type) + " " +
                                      std::to_string(rows) + "x" + std::to_string(cols) + " rows " +
                                      std::to_string(r0) + ".." + std::to_string(r1) + " columns " +
                                      std::to_string(j0) + ".." + std::to_string(j1);
            std::vector<float> y(static_cast<size_t>(r1 - r0 + 1), 0.5f);
            kernels::add_panel_product(type, panels.data(), cols, r0, r1, j0, j1, v.data(), y.data());
            for (int64_t r = r0; r < r1; ++r) {
              double sum = 0.5, size = 0.5;
              for (int64_t j = j0; j < j1; ++j) {
                sum += double{stored[r * cols + j]} * v[j - j0];
                size += std::fabs(double{stored[r * cols + j]} * v[j - j0]);
              }
              ASSERT_NEAR(y[r - r0], sum, 1.2e-7 * static_cast<double>(j1 - j0 + 1) * size) << where << " row " << r;
            }
            ASSERT_EQ(y.back(), 0.5f) << where << ": the row past r1";
          }
        }
    }
}

TEST(Matmul, RejectsTypesItCannotMultiplyAndBadRowLengths) {
  josi::base::ThreadPool pool(1);
  kernels::MatmulScratch scratch;
  std::vector<uint8_t> w(4096);
  std::vector<float> x(512), y(64);
  for (GgmlType t : kTypes) EXPECT_TRUE(kernels::can_matmul(t)) << name(t);
  EXPECT_FALSE(kernels::can_matmul(GgmlType::Q4_1));
  EXPECT_FALSE(kernels::can_matmul(GgmlType::Q8_K));
  try {
    kernels::matmul(pool, GgmlType::Q4_1, w.data(), 1, 32, x.data(), 1, y.data(), 1, scratch);
    FAIL() << "no error";
  } catch (const josi::Error& e) {
    EXPECT_STREQ(e.what(), "matmul: cannot multiply weights of type Q4_1");
  }
  try {
    kernels::matmul(pool, GgmlType::Q4_K, w.data(), 1, 288, x.data(), 1, y.data(), 1, scratch);
    FAIL() << "no error";
  } catch (const josi::Error& e) {
    EXPECT_STREQ(e.what(), "matmul: row length 288 is not a positive multiple of Q4_K's block size 256");
  }
}

// scripts/test-arm64.sh runs this on emulated CPUs with and without the dot
// product and i8mm, naming the path each must choose.
TEST(CpuFeatures, TheWidestPathThisCpuHasIsChosen) {
  const char* expected = std::getenv("JOSI_EXPECT_BEST_ISA");
  if (!expected) GTEST_SKIP() << "JOSI_EXPECT_BEST_ISA is not set";
  EXPECT_EQ(std::string(kernels::isa_name(kernels::best_isa())), std::string(expected));
}

TEST(CpuFeatures, ScalarIsAlwaysThereAndUnsupportedPathsAreRefused) {
  IsaGuard guard;
  EXPECT_TRUE(kernels::isa_supported(Isa::scalar));
  EXPECT_TRUE(kernels::isa_supported(kernels::best_isa()));
  for (Isa isa : kernels::all_isas()) EXPECT_EQ(kernels::isa_from_name(kernels::isa_name(isa)), isa);
  try {
    kernels::isa_from_name("sse9");
    FAIL() << "no error";
  } catch (const josi::Error& e) {
    EXPECT_STREQ(e.what(), "unknown instruction set \"sse9\" (scalar, avx2, avx512_vnni, neon, neon_dotprod or neon_i8mm)");
  }
  kernels::set_active_isa(Isa::scalar);
  EXPECT_EQ(kernels::active_isa(), Isa::scalar);
  for (Isa isa : kernels::all_isas()) {
    if (kernels::isa_supported(isa)) continue;
    EXPECT_THROW(kernels::set_active_isa(isa), josi::Error);
  }
  std::printf("best instruction set here: %s\n", std::string(kernels::isa_name(kernels::best_isa())).c_str());
}

// ---------------------------------------------------------------------------
// Vector ops.

std::vector<uint16_t> to_f16(const std::vector<float>& v) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = josi::formats::f32_to_f16(v[i]);
  return out;
}

TEST(VectorOps, FastPathsMatchScalar) {
  IsaGuard guard;
  std::mt19937 rng(21);
  for (int64_t n : {1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 65, 128, 131, 1000}) {
    const auto a = random_floats(rng, n), b = random_floats(rng, n), y0 = random_floats(rng, n);
    const auto b16 = to_f16(b);
    double s = 0, s16 = 0;
    for (int64_t i = 0; i < n; ++i) {
      s += std::fabs(double{a[i]} * b[i]);
      s16 += std::fabs(double{a[i]} * josi::formats::f16_to_f32(b16[i]));
    }
    kernels::set_active_isa(Isa::scalar);
    const float dot = kernels::dot_f32(a.data(), b.data(), n);
    const float dot16 = kernels::dot_f32_f16(a.data(), b16.data(), n);
    auto axpy = y0;
    kernels::axpy_f16(0.37f, b16.data(), axpy.data(), n);
    for (Isa isa : fast_isas()) {
      kernels::set_active_isa(isa);
      const std::string where = std::string(kernels::isa_name(isa)) + " n " + std::to_string(n);
      EXPECT_NEAR(kernels::dot_f32(a.data(), b.data(), n), dot, 1e-6 * s) << where;
      EXPECT_NEAR(kernels::dot_f32_f16(a.data(), b16.data(), n), dot16, 1e-6 * s16) << where;
      auto y = y0;
      kernels::axpy_f16(0.37f, b16.data(), y.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        // Fused (one rounding) against a·x then + (two): half an ulp of a·x
        // and of each result apart, at most 3·2^-24·(|y| + |a·x|).
        const double tol = 1.8e-7 * (std::fabs(double{y0[i]}) + std::fabs(0.37 * josi::formats::f16_to_f32(b16[i])));
        EXPECT_NEAR(y[i], axpy[i], tol) << where << " i " << i;
      }
    }
  }
}

// The attention forms: rows of a strided F16 cache against the per-row ops.
TEST(VectorOps, RowFormsMatchOneCallPerRowOnEveryPath) {
  IsaGuard guard;
  std::mt19937 rng(13);
  for (int64_t n : {5, 16, 64, 128, 131, 300}) {
    for (int64_t n_rows : {1, 3, 4, 9}) {
      const int64_t stride = n + 7;
      const auto a = random_floats(rng, n), w = random_floats(rng, n_rows), y0 = random_floats(rng, n);
      const auto cache = to_f16(random_floats(rng, stride * n_rows));
      kernels::set_active_isa(Isa::scalar);
      std::vector<float> dots(static_cast<size_t>(n_rows)), sum = y0;
      for (int64_t j = 0; j < n_rows; ++j) {
        dots[j] = kernels::dot_f32_f16(a.data(), cache.data() + j * stride, n);
        kernels::axpy_f16(w[j], cache.data() + j * stride, sum.data(), n);
      }
      for (Isa isa : kernels::all_isas()) {
        if (!kernels::isa_supported(isa)) continue;
        kernels::set_active_isa(isa);
        const std::string where =
            std::string(kernels::isa_name(isa)) + " n " + std::to_string(n) + " rows " + std::to_string(n_rows);
        std::vector<float> got(static_cast<size_t>(n_rows)), y = y0;
        kernels::dot_f32_f16_rows(a.data(), cache.data(), stride, n_rows, n, got.data());
        kernels::axpy_f16_rows(w.data(), cache.data(), stride, n_rows, n, y.data());
        for (int64_t j = 0; j < n_rows; ++j) {
          double s = 0;
          for (int64_t i = 0; i < n; ++i) s += std::fabs(a[i] * josi::formats::f16_to_f32(cache[j * stride + i]));
          EXPECT_NEAR(got[j], dots[j], 1e-6 * s) << where << " row " << j;
        }
        for (int64_t i = 0; i < n; ++i) {
          // Per row each side rounds a·x and the sum (or the fused sum) once:
          // at most 3·2^-24·S per row and side, S = |y| + Σ|w·x|.
          double s = std::fabs(y0[i]);
          for (int64_t j = 0; j < n_rows; ++j) s += std::fabs(w[j] * josi::formats::f16_to_f32(cache[j * stride + i]));
          EXPECT_NEAR(y[i], sum[i], 3.6e-7 * static_cast<double>(n_rows) * s) << where << " i " << i;
        }
      }
    }
  }
}

// The Q8_0 KV cache: f32_to_q8_0 writes the format's blocks (d = max|x|/127
// in F16, levels rounded to nearest even), and every path's attention
// forms match the scalar reference on those rows.
TEST(VectorOps, Q8_0CacheRowsMatchTheScalarPathOnEveryPath) {
  IsaGuard guard;
  std::mt19937 rng(29);
  const int64_t bb = kernels::kQ8_0BlockBytes;
  {
    std::vector<float> x = random_floats(rng, 64);
    std::fill(x.begin() + 32, x.end(), 0.f);  // a zero block
    std::vector<uint8_t> row(2 * bb);
    kernels::f32_to_q8_0(x.data(), row.data(), 64);
    float amax = 0;
    for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[i]));
    EXPECT_EQ(row[0] | row[1] << 8, josi::formats::f32_to_f16(amax / 127.f));
    for (int i = 0; i < 32; ++i)
      EXPECT_EQ(static_cast<int8_t>(row[2 + i]), static_cast<int8_t>(std::nearbyint(x[i] * (127.f / amax)))) << i;
    for (int64_t i = bb; i < 2 * bb; ++i) EXPECT_EQ(row[i], 0) << i;
    std::vector<float> back(64);
    josi::quant::dequantize_row(GgmlType::Q8_0, row.data(), back.data(), 64);  // the GGUF type's own reading
    for (int i = 0; i < 32; ++i) EXPECT_NEAR(back[i], x[i], amax / 254 * 1.01) << i;
  }
  for (int64_t n : {32, 64, 128, 160, 256}) {
    for (int64_t n_rows : {1, 3, 4, 9}) {
      const int64_t stride = n / 32 * bb + 5 * bb;  // rows of a wider cache, as heads sit in a layer's row
      const auto a = random_floats(rng, n), w = random_floats(rng, n_rows), y0 = random_floats(rng, n);
      std::vector<uint8_t> cache(static_cast<size_t>(stride * n_rows));
      std::vector<float> values(static_cast<size_t>(n * n_rows));
      for (int64_t j = 0; j < n_rows; ++j) {
        const auto x = random_floats(rng, n);
        kernels::f32_to_q8_0(x.data(), cache.data() + j * stride, n);
        josi::quant::dequantize_row(GgmlType::Q8_0, cache.data() + j * stride, values.data() + j * n, n);
      }
      kernels::set_active_isa(Isa::scalar);
      std::vector<float> dots(static_cast<size_t>(n_rows)), sum = y0;
      kernels::dot_f32_q8_0_rows(a.data(), cache.data(), stride, n_rows, n, dots.data());
      kernels::axpy_q8_0_rows(w.data(), cache.data(), stride, n_rows, n, sum.data());
      for (int64_t j = 0; j < n_rows; ++j) {
        double exact = 0, s = 0;
        for (int64_t i = 0; i < n; ++i) {
          exact += double{a[i]} * values[j * n + i];
          s += std::fabs(double{a[i]} * values[j * n + i]);
        }
        EXPECT_NEAR(dots[j], exact, 1e-6 * s) << "scalar n " << n << " row " << j;
      }
      for (Isa isa : fast_isas()) {
        kernels::set_active_isa(isa);
        const std::string where =
            std::string(kernels::isa_name(isa)) + " n " + std::to_string(n) + " rows " + std::to_string(n_rows);
        std::vector<float> got(static_cast<size_t>(n_rows)), y = y0;
        kernels::dot_f32_q8_0_rows(a.data(), cache.data(), stride, n_rows, n, got.data());
        kernels::axpy_q8_0_rows(w.data(), cache.data(), stride, n_rows, n, y.data());
        for (int64_t j = 0; j < n_rows; ++j) {
          double s = 0;
          for (int64_t i = 0; i < n; ++i) s += std::fabs(double{a[i]} * values[j * n + i]);
          EXPECT_NEAR(got[j], dots[j], 1e-6 * s) << where << " row " << j;
        }
        for (int64_t i = 0; i < n; ++i) {
          double s = std::fabs(y0[i]);
          for (int64_t j = 0; j < n_rows; ++j) s += std::fabs(w[j] * values[j * n + i]);
          EXPECT_NEAR(y[i], sum[i], 3.6e-7 * static_cast<double>(n_rows) * s) << where << " i " << i;
        }
      }
    }
  }
}

// The low-rank panels: every path adds what the scalar one adds, for row
// counts that end inside a panel or a group of panels, and ranks below,
// at and past one vector of u.
TEST(VectorOps, PanelsOfALowRankTermMatchTheScalarPathOnEveryPath) {
  IsaGuard guard;
  std::mt19937 rng(17);
  constexpr int64_t kPanel = kernels::kLowRankPanel;
  for (int64_t n_rows : {1, 15, 16, 17, 48, 64, 83, 200}) {
    for (int64_t rank : {1, 5, 16, 33}) {
      const int64_t panels_values = (n_rows + kPanel - 1) / kPanel * rank * kPanel;
      auto values = random_floats(rng, panels_values);
      for (int64_t v = 0; v < panels_values; ++v)  // the last panel's padding is zero, as stored
        if ((v / (rank * kPanel)) * kPanel + v % kPanel >= n_rows) values[v] = 0;
      const auto panels = to_f16(values);
      const auto u = random_floats(rng, rank), y0 = random_floats(rng, n_rows + 1);
      kernels::set_active_isa(Isa::scalar);
      std::vector<float> expect = y0;
      kernels::add_panels_f16(u.data(), rank, panels.data(), n_rows, expect.data());
      for (Isa isa : kernels::all_isas()) {
        if (!kernels::isa_supported(isa)) continue;
        kernels::set_active_isa(isa);
        const std::string where =
            std::string(kernels::isa_name(isa)) + " rows " + std::to_string(n_rows) + " rank " + std::to_string(rank);
        std::vector<float> y = y0;
        kernels::add_panels_f16(u.data(), rank, panels.data(), n_rows, y.data());
        for (int64_t i = 0; i < n_rows; ++i) {
          // Both add in the order of j; the fast paths fuse each product and
          // sum, the scalar one rounds both: at most 2^-24·S per term.
          double s = std::fabs(y0[i]);
          for (int64_t j = 0; j < rank; ++j)
            s += std::fabs(u[j] * josi::formats::f16_to_f32(panels[(i / kPanel * rank + j) * kPanel + i % kPanel]));
          EXPECT_NEAR(y[i], expect[i], 1.2e-7 * static_cast<double>(rank) * s) << where << " row " << i;
        }
        EXPECT_EQ(y[n_rows], y0[n_rows]) << where << ": the row past n_rows";
      }
    }
  }
}

// Attention's tile product on every path against the scalar one, over row
// counts and column widths that cover each register block and its tails;
// a row's results do not depend on the rows or columns beside it.
TEST(VectorOps, TheTileProductMatchesTheScalarPathOnEveryPath) {
  IsaGuard guard;
  std::mt19937 rng(23);
  constexpr int64_t kLd = 160;
  for (int64_t rows : {1, 3, 4, 6, 7, 13, 64}) {
    for (int64_t n : {16, 48, 64, 80, 128, 144}) {
      for (int64_t k : {1, 17, 128}) {
        const auto a = random_floats(rng, rows * k), b = random_floats(rng, k * kLd), c0 = random_floats(rng, rows * kLd);
        for (bool accumulate : {false, true}) {
          kernels::set_active_isa(Isa::scalar);
          std::vector<float> expect = c0;
          kernels::gemm_f32_tile(a.data(), k, b.data(), kLd, expect.data(), kLd, rows, k, n, accumulate);
          for (Isa isa : kernels::all_isas()) {
            if (!kernels::isa_supported(isa)) continue;
            kernels::set_active_isa(isa);
            const std::string where = std::string(kernels::isa_name(isa)) + " rows " + std::to_string(rows) + " n " +
                                      std::to_string(n) + " k " + std::to_string(k);
            std::vector<float> c = c0;
            kernels::gemm_f32_tile(a.data(), k, b.data(), kLd, c.data(), kLd, rows, k, n, accumulate);
            std::vector<float> alone = c0;  // the last row on its own, and only its first 16 columns
            kernels::gemm_f32_tile(a.data() + (rows - 1) * k, k, b.data(), kLd, alone.data() + (rows - 1) * kLd, kLd, 1, k, 16,
                                   accumulate);
            for (int64_t r = 0; r < rows; ++r) {
              for (int64_t j = 0; j < kLd; ++j) {
                const size_t at = static_cast<size_t>(r * kLd + j);
                if (j >= n) {
                  EXPECT_EQ(c[at], c0[at]) << where << ": a column past n";
                  continue;
                }
                double s = accumulate ? std::fabs(c0[at]) : 0.0;
                for (int64_t i = 0; i < k; ++i) s += std::fabs(a[static_cast<size_t>(r * k + i)] * b[static_cast<size_t>(i * kLd + j)]);
                EXPECT_NEAR(c[at], expect[at], 1.2e-7 * static_cast<double>(k + 1) * s) << where << " at " << r << "," << j;
              }
            }
            for (int64_t j = 0; j < 16; ++j)
              EXPECT_EQ(alone[static_cast<size_t>((rows - 1) * kLd + j)], c[static_cast<size_t>((rows - 1) * kLd + j)]) << where;
          }
        }
      }
    }
  }
}

// f32 -> f16 against formats::f32_to_f16 (round to nearest even) on every
// half, the midpoints between neighbours (ties) and one float either side of
// them, subnormals, overflow, infinities and NaNs, and random bit patterns.
TEST(VectorOps, F32ToF16RoundsLikeTheReferenceOnEveryPath) {
  IsaGuard guard;
  std::vector<float> x;
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float v = josi::formats::f16_to_f32(static_cast<uint16_t>(h));
    x.push_back(v);
    if (std::isnan(v) || std::isinf(v)) continue;
    const float next = josi::formats::f16_to_f32(static_cast<uint16_t>(h + 1));
    if (std::isnan(next) || (h & 0x7fff) == 0x7fff) continue;
    const float mid = std::isinf(next) ? 65520.f * std::copysign(1.f, v) : (v + next) / 2;  // exact in f32
    x.push_back(mid);
    x.push_back(std::nextafter(mid, 0.f));
    x.push_back(std::nextafter(mid, 2 * mid + 1));
  }
  for (float v : {1e-45f, -1e-45f, 1e-40f, 5.9604645e-8f, 2.9802322e-8f, 2.9802326e-8f, 65519.996f, 65520.f, 1e10f,
                  -1e10f, INFINITY, -INFINITY, NAN, -NAN})
    x.push_back(v);
  std::mt19937 rng(2);
  for (int i = 0; i < 200000; ++i) x.push_back(std::bit_cast<float>(static_cast<uint32_t>(rng())));
  std::vector<uint16_t> expected(x.size());
  for (size_t i = 0; i < x.size(); ++i) expected[i] = josi::formats::f32_to_f16(x[i]);
  for (Isa isa : kernels::all_isas()) {
    if (!kernels::isa_supported(isa)) continue;
    kernels::set_active_isa(isa);
    // Odd offsets and lengths exercise the vector tails.
    for (size_t off : {size_t{0}, size_t{3}}) {
      std::vector<uint16_t> got(x.size() - off);
      kernels::f32_to_f16(x.data() + off, got.data(), static_cast<int64_t>(got.size()));
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got[i], expected[i + off]) << kernels::isa_name(isa) << " x = " << x[i + off] << " bits " << std::hex
                                             << std::bit_cast<uint32_t>(x[i + off]);
    }
  }
}

}  // namespace
