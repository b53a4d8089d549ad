// Blocked attention (infer/attention) against the plain reference, on
// every kernel path and both KV cache types, over several key tiles with
// ragged ends; and a query's result is the same in any batch, bit for bit.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "base/thread_pool.hpp"
#include "infer/attention.hpp"
#include "kernels/cpu_features.hpp"
#include "support/reference_forward.hpp"

namespace infer = josi::infer;
namespace kernels = josi::kernels;
using josi::test::IsaGuard;
using josi::test::supported_isas;

namespace {

// Qwen3-4B's heads: four query heads per KV head, 128 values each.
const infer::AttentionHeads kHeads{8, 2, 128};
constexpr int64_t kPast = 2 * infer::kKeyTile + 45, kBatch = infer::kQueryTile + 21;

// A cache holding kPast + kBatch random positions, and the batch's queries.
struct Case {
  explicit Case(infer::KvType type) : cache(1, kPast + kBatch, kHeads.n_head_kv * kHeads.head_dim, kHeads.head_dim, type) {
    std::mt19937 rng(7);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    const int64_t kv_dim = kHeads.n_head_kv * kHeads.head_dim;
    std::vector<float> k(static_cast<size_t>(kv_dim)), v(k.size());
    for (int64_t pos = 0; pos < kPast + kBatch; ++pos) {
      for (size_t i = 0; i < k.size(); ++i) {
        k[i] = 2.0f * normal(rng);  // scores spread wide enough that the running maximum moves
        v[i] = normal(rng);
      }
      cache.store(0, pos, k.data(), v.data());
    }
    q.resize(static_cast<size_t>(kBatch * kHeads.n_head * kHeads.head_dim));
    for (auto& x : q) x = normal(rng);
  }
  infer::KvCache cache;
  std::vector<float> q;
};

std::vector<float> run(const Case& c, bool blocked, josi::base::ThreadPool& pool) {
  std::vector<float> out(c.q.size());
  (blocked ? infer::attention : infer::attention_reference)(c.cache, 0, kHeads, c.q.data(), kBatch, kPast, out.data(), pool, {});
  return out;
}

}  // namespace

TEST(Attention, BlockedMatchesTheReferenceOnEveryPath) {
  IsaGuard guard;
  josi::base::ThreadPool pool(2);
  for (const auto type : {infer::KvType::f16, infer::KvType::q8_0}) {
    const Case c(type);
    kernels::set_active_isa(kernels::Isa::scalar);
    const auto reference = run(c, false, pool);
    for (const auto isa : supported_isas()) {
      kernels::set_active_isa(isa);
      const auto blocked = run(c, true, pool);
      double worst = 0;
      for (size_t i = 0; i < blocked.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(blocked[i] - reference[i])));
      EXPECT_LT(worst, 2e-5) << infer::kv_type_name(type) << " " << kernels::isa_name(isa);
    }
  }
}

TEST(Attention, AQuerysResultDoesNotDependOnItsBatch) {
  josi::base::ThreadPool pool(2);
  for (const auto type : {infer::KvType::f16, infer::KvType::q8_0}) {
    const Case c(type);
    const auto whole = run(c, true, pool);
    const int64_t q_dim = kHeads.n_head * kHeads.head_dim;
    std::vector<float> one(static_cast<size_t>(q_dim));
    for (int64_t t = 0; t < kBatch; ++t) {
      infer::attention(c.cache, 0, kHeads, c.q.data() + t * q_dim, 1, kPast + t, one.data(), pool, {});
      EXPECT_EQ(std::memcmp(one.data(), whole.data() + t * q_dim, one.size() * sizeof(float)), 0)
          << infer::kv_type_name(type) << " token " << t;
    }
  }
}

TEST(Attention, EachQueryHeadIsReportedOnceWithItsOutput) {
  josi::base::ThreadPool pool(2);
  const Case c(infer::KvType::f16);
  std::vector<float> out(c.q.size());
  std::vector<int> seen(static_cast<size_t>(kBatch * kHeads.n_head));
  infer::attention(c.cache, 0, kHeads, c.q.data(), kBatch, kPast, out.data(), pool, [&](int64_t t, int64_t head, const float* o) {
    ++seen[static_cast<size_t>(t * kHeads.n_head + head)];
    EXPECT_EQ(o, out.data() + (t * kHeads.n_head + head) * kHeads.head_dim);
  });
  for (int s : seen) EXPECT_EQ(s, 1);
}
