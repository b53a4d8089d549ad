// The sampler: greedy, each filter alone, seeded repeatability and the
// distribution a temperature draw follows.
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "base/error.hpp"
#include "infer/sampler.hpp"

using josi::infer::Sampler;
using josi::infer::SamplingParams;

namespace {

SamplingParams plain(float temperature) {
  SamplingParams p;
  p.temperature = temperature;
  p.top_p = 1.0f;
  return p;
}

std::map<int32_t, int> draw(SamplingParams p, const std::vector<float>& logits, int n, std::vector<int32_t> history = {}) {
  Sampler s(p);
  std::map<int32_t, int> counts;
  for (int i = 0; i < n; ++i) ++counts[s.sample(logits, history)];
  return counts;
}

}  // namespace

TEST(Sampler, GreedyTakesTheArgmaxAndTheLowestIdOnTies) {
  Sampler s(plain(0));
  EXPECT_EQ(s.sample(std::vector<float>{0.1f, 2.0f, -1.0f, 1.9f}, {}), 1);
  EXPECT_EQ(s.sample(std::vector<float>{3.0f, 1.0f, 3.0f}, {}), 0);
}

TEST(Sampler, TemperatureDrawFollowsTheSoftmax) {
  const std::vector<float> logits = {0.0f, 1.0f, 2.0f};
  const auto counts = draw(plain(1.0f), logits, 20000);
  const double z = 1 + std::exp(1.0) + std::exp(2.0);
  for (int i = 0; i < 3; ++i) EXPECT_NEAR(counts.count(i) ? counts.at(i) / 20000.0 : 0, std::exp(i) / z, 0.015) << i;
  // A low temperature sharpens it.
  const auto sharp = draw(plain(0.25f), logits, 5000);
  EXPECT_GT(sharp.at(2), 4500);
}

TEST(Sampler, SameSeedSameTokensOtherSeedOtherTokens) {
  std::vector<float> logits(1000);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>(std::sin(i * 0.37) * 2);
  auto run = [&](uint64_t seed) {
    auto p = plain(1.0f);
    p.seed = seed;
    Sampler s(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 50; ++i) out.push_back(s.sample(logits, {}));
    return out;
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

TEST(Sampler, TopKKeepsOnlyTheKBest) {
  auto p = plain(5.0f);
  p.top_k = 2;
  const auto counts = draw(p, {0.0f, 3.0f, 1.0f, 2.9f, -2.0f}, 2000);
  EXPECT_EQ(counts.size(), 2u);
  EXPECT_TRUE(counts.count(1) && counts.count(3));
}

TEST(Sampler, TopPKeepsTheSmallestSetWithTheMass) {
  // Probabilities ~ 0.6, 0.3, 0.1 (temperature 1): top-p 0.8 keeps the first two.
  const std::vector<float> logits = {std::log(0.6f), std::log(0.3f), std::log(0.1f)};
  auto p = plain(1.0f);
  p.top_p = 0.8f;
  const auto counts = draw(p, logits, 3000);
  EXPECT_EQ(counts.count(2), 0u);
  EXPECT_NEAR(counts.at(0) / 3000.0, 2.0 / 3.0, 0.04);
  p.top_p = 0.5f;
  EXPECT_EQ(draw(p, logits, 200).size(), 1u);
  // More candidates than the first sorted slice: the filter still finds the set.
  std::vector<float> flat(5000, 0.0f);
  p.top_p = 0.5f;
  EXPECT_GT(draw(p, flat, 3000).size(), 1500u);
}

TEST(Sampler, MinPDropsTokensFarBelowTheBest) {
  const std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.15f), std::log(0.05f)};
  auto p = plain(1.0f);
  p.min_p = 0.2f;  // keeps p >= 0.1
  const auto counts = draw(p, logits, 3000);
  EXPECT_EQ(counts.count(3), 0u);
  EXPECT_EQ(counts.size(), 3u);
}

TEST(Sampler, RepetitionPenaltyDiscouragesRecentTokens) {
  auto p = plain(0);
  p.repeat_penalty = 2.0f;
  Sampler s(p);
  EXPECT_EQ(s.sample(std::vector<float>{1.0f, 1.5f}, std::vector<int32_t>{1}), 0);  // 1.5 / 2 < 1
  EXPECT_EQ(s.sample(std::vector<float>{-1.0f, -1.5f}, std::vector<int32_t>{0}), 1);  // -1 * 2 < -1.5
  p.repeat_last_n = 1;  // only the last token counts
  Sampler window(p);
  EXPECT_EQ(window.sample(std::vector<float>{1.0f, 1.5f}, std::vector<int32_t>{1, 0}), 1);
}

TEST(Sampler, RejectsBadParameters) {
  for (auto edit : std::vector<std::function<void(SamplingParams&)>>{
           [](auto& p) { p.top_p = 0; }, [](auto& p) { p.top_p = 1.5f; }, [](auto& p) { p.top_k = -1; },
           [](auto& p) { p.min_p = 1; }, [](auto& p) { p.repeat_penalty = 0; },
           [](auto& p) { p.temperature = NAN; }}) {
    SamplingParams p;
    edit(p);
    EXPECT_THROW(Sampler{p}, josi::Error);
  }
}
