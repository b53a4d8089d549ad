#include "infer/sampler.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <fmt/format.h>
#include <unordered_set>

#include "base/error.hpp"

namespace josi::infer {

namespace {

constexpr float kNegligible = 30.0f;
constexpr size_t kBuckets = 4096;

// Best first: higher logit, then lower id.
bool by_logit(const Sampler::Candidate& a, const Sampler::Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

}  // namespace

void SamplingParams::check() const {
  const auto bad = [](const std::string& what) { throw Error(what, ExitCode::usage); };
  if (!std::isfinite(temperature)) bad("temperature must be a number");
  if (top_k < 0) bad(fmt::format("top-k {} must be >= 0", top_k));
  if (!(top_p > 0.0f && top_p <= 1.0f)) bad(fmt::format("top-p {} must be in (0, 1]", top_p));
  if (!(min_p >= 0.0f && min_p < 1.0f)) bad(fmt::format("min-p {} must be in [0, 1)", min_p));
  if (!(repeat_penalty > 0.0f) || !std::isfinite(repeat_penalty)) bad(fmt::format("repeat penalty {} must be > 0", repeat_penalty));
  if (repeat_last_n < 0) bad(fmt::format("repeat-last-n {} must be >= 0", repeat_last_n));
}

Sampler::Sampler(SamplingParams params) : params_(params), rng_(params.seed) { params_.check(); }

// The smallest best-first set of candidates holding `target` of the mass,
// moved to the front; returns its size. The candidates' logits are bucketed
// by their distance below the best (an order-preserving map), the bucket
// where the mass is reached found by one scan, and only that bucket sorted:
// linear time, whether the distribution is peaked or nearly flat.
size_t Sampler::top_p_prefix(float max, double target) {
  const float scale = static_cast<float>(kBuckets) / kNegligible;
  const auto bucket_of = [&](const Candidate& c) {
    return std::min<size_t>(kBuckets, static_cast<size_t>((max - c.logit) * scale));
  };
  bucket_mass_.assign(kBuckets + 1, 0.0);
  for (const auto& c : candidates_) bucket_mass_[bucket_of(c)] += c.weight;
  double above = 0;
  size_t boundary = 0;
  while (boundary <= kBuckets && above + bucket_mass_[boundary] < target) above += bucket_mass_[boundary++];
  if (boundary > kBuckets) return candidates_.size();
  const auto mid = std::partition(candidates_.begin(), candidates_.end(), [&](const Candidate& c) { return bucket_of(c) < boundary; });
  const auto tail = std::partition(mid, candidates_.end(), [&](const Candidate& c) { return bucket_of(c) == boundary; });
  std::sort(mid, tail, by_logit);
  for (auto it = mid; it != tail; ++it) {
    above += it->weight;
    if (above >= target) return static_cast<size_t>(it - candidates_.begin()) + 1;
  }
  return static_cast<size_t>(tail - candidates_.begin());
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history, const TokenMask* allowed) {
  const auto n_vocab = static_cast<int32_t>(logits.size());
  candidates_.clear();
  if (allowed) {
    const auto& words = allowed->words();
    for (size_t w = 0; w < words.size(); ++w) {
      for (uint64_t bits = words[w]; bits; bits &= bits - 1) {
        const auto id = static_cast<int32_t>(w * 64 + static_cast<size_t>(std::countr_zero(bits)));
        if (id < n_vocab) candidates_.push_back({id, logits[static_cast<size_t>(id)], 0.0f});
      }
    }
    if (candidates_.empty()) throw Error("sampling: the output constraint allows no token");
    // A forced token draws no random number, so seeded output is the same
    // whether the generator samples forced tokens or takes them unasked.
    if (candidates_.size() == 1) return candidates_.front().id;
  } else {
    candidates_.resize(logits.size());
    for (int32_t i = 0; i < n_vocab; ++i) candidates_[static_cast<size_t>(i)] = {i, logits[static_cast<size_t>(i)], 0.0f};
  }

  if (params_.repeat_penalty != 1.0f && params_.repeat_last_n > 0) {
    const size_t window = std::min(history.size(), static_cast<size_t>(params_.repeat_last_n));
    const std::unordered_set<int32_t> seen(history.end() - static_cast<std::ptrdiff_t>(window), history.end());
    for (const int32_t id : seen) {
      if (id < 0 || id >= n_vocab) continue;
      // Candidates are in id order: all of them, or the allowed ones.
      auto it = allowed ? std::lower_bound(candidates_.begin(), candidates_.end(), id,
                                           [](const Candidate& c, int32_t v) { return c.id < v; })
                        : candidates_.begin() + id;
      if (it == candidates_.end() || it->id != id) continue;
      float& l = it->logit;
      l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
    }
  }
  if (params_.temperature <= 0.0f) return std::min_element(candidates_.begin(), candidates_.end(), by_logit)->id;

  // Tokens more than kNegligible nats below the best (probability under
  // 1e-13 of its) can never matter: they are dropped first, so a peaked
  // distribution leaves few candidates for the filters below.
  const float max = std::min_element(candidates_.begin(), candidates_.end(), by_logit)->logit;
  candidates_.erase(std::partition(candidates_.begin(), candidates_.end(),
                                   [&](const Candidate& c) { return c.logit >= max - kNegligible; }),
                    candidates_.end());

  // Top-k, top-p and min-p select sets, not orders, so nothing sorts ~150k
  // candidates (a random-weight model's distribution is nearly flat, where
  // a sort cost more than the token's forward pass): top-k is a selection,
  // top-p a bucketed scan (top_p_prefix), min-p a partition.
  const auto at = [this](size_t i) { return candidates_.begin() + static_cast<std::ptrdiff_t>(i); };
  size_t keep = candidates_.size();
  if (params_.top_k > 0 && static_cast<size_t>(params_.top_k) < keep) {
    keep = static_cast<size_t>(params_.top_k);
    std::nth_element(candidates_.begin(), at(keep), candidates_.end(), by_logit);
  }

  // Weights at temperature 1 over the candidates, for top-p and min-p.
  double total = 0;
  for (auto& c : candidates_) {
    c.weight = std::exp(c.logit - max);
    total += c.weight;
  }
  if (params_.top_p < 1.0f) {
    const double target = params_.top_p * total;
    if (keep < candidates_.size()) {
      // Top-k left few: sort them and take the shortest prefix with the mass.
      std::sort(candidates_.begin(), at(keep), by_logit);
      double mass = 0;
      for (size_t i = 0; i < keep; ++i) {
        mass += candidates_[i].weight;
        if (mass >= target) {
          keep = i + 1;
          break;
        }
      }
    } else {
      keep = top_p_prefix(max, target);
    }
  }
  if (params_.min_p > 0.0f) {
    // p_i >= min_p * p_max  <=>  logit_i >= max + log(min_p)
    const float floor = max + std::log(params_.min_p);
    keep = static_cast<size_t>(std::partition(candidates_.begin(), at(keep), [&](const Candidate& c) { return c.logit >= floor; }) -
                               candidates_.begin());
  }

  double sum = 0;
  for (size_t i = 0; i < keep; ++i) {
    candidates_[i].weight = std::exp((candidates_[i].logit - max) / params_.temperature);
    sum += candidates_[i].weight;
  }
  std::uniform_real_distribution<double> uniform(0.0, sum);
  double r = uniform(rng_);
  for (size_t i = 0; i < keep; ++i) {
    r -= candidates_[i].weight;
    if (r < 0) return candidates_[i].id;
  }
  return candidates_[keep - 1].id;
}

}  // namespace josi::infer
