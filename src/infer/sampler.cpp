#include "infer/sampler.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <unordered_set>

#include "base/error.hpp"

namespace josi::infer {

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

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  const auto n_vocab = static_cast<int32_t>(logits.size());
  candidates_.resize(logits.size());
  for (int32_t i = 0; i < n_vocab; ++i) candidates_[static_cast<size_t>(i)] = {i, logits[static_cast<size_t>(i)]};

  if (params_.repeat_penalty != 1.0f && params_.repeat_last_n > 0) {
    const size_t window = std::min(history.size(), static_cast<size_t>(params_.repeat_last_n));
    const std::unordered_set<int32_t> seen(history.end() - static_cast<std::ptrdiff_t>(window), history.end());
    for (const int32_t id : seen) {
      if (id < 0 || id >= n_vocab) continue;
      float& l = candidates_[static_cast<size_t>(id)].logit;
      l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
    }
  }
  const auto by_logit = [](const Candidate& a, const Candidate& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); };
  if (params_.temperature <= 0.0f) return std::min_element(candidates_.begin(), candidates_.end(), by_logit)->id;

  // Keep the candidates sorted best first, but sort only as many as the
  // filters can need: the top-k, or a first slice that usually holds the whole
  // top-p mass (the full sort of ~150k logits would cost more than a token).
  size_t keep = candidates_.size();
  if (params_.top_k > 0) keep = std::min(keep, static_cast<size_t>(params_.top_k));
  size_t sorted = std::min(keep, static_cast<size_t>(1024));
  std::partial_sort(candidates_.begin(), candidates_.begin() + static_cast<std::ptrdiff_t>(sorted), candidates_.end(), by_logit);

  // Probabilities (temperature 1) over all candidates for top-p and min-p.
  const float max = candidates_.front().logit;
  double total = 0;
  for (const auto& c : candidates_) total += std::exp(static_cast<double>(c.logit - max));
  if (params_.top_p < 1.0f) {
    double mass = 0;
    size_t i = 0;
    for (;; ++i) {
      if (i == sorted && sorted < keep) {  // the slice was not enough: sort the rest too
        std::sort(candidates_.begin() + static_cast<std::ptrdiff_t>(sorted), candidates_.end(), by_logit);
        sorted = keep;
      }
      if (i >= keep) break;
      mass += std::exp(static_cast<double>(candidates_[i].logit - max)) / total;
      if (mass >= params_.top_p) {
        ++i;
        break;
      }
    }
    keep = std::max<size_t>(1, std::min(keep, i));
  }
  if (params_.min_p > 0.0f) {
    // p_i >= min_p * p_max  <=>  logit_i >= max + log(min_p)
    const float floor = max + std::log(params_.min_p);
    size_t i = 1;
    while (i < keep && i < sorted && candidates_[i].logit >= floor) ++i;
    if (i == sorted && sorted < keep) {
      // Unsorted tail: partition it instead of sorting.
      const auto tail = std::partition(candidates_.begin() + static_cast<std::ptrdiff_t>(sorted), candidates_.end(),
                                       [&](const Candidate& c) { return c.logit >= floor; });
      i = static_cast<size_t>(tail - candidates_.begin());
    }
    keep = std::min(keep, i);
  }

  probs_.resize(keep);
  double sum = 0;
  for (size_t i = 0; i < keep; ++i) {
    probs_[i] = static_cast<float>(std::exp(static_cast<double>(candidates_[i].logit - max) / params_.temperature));
    sum += probs_[i];
  }
  std::uniform_real_distribution<double> uniform(0.0, sum);
  double r = uniform(rng_);
  for (size_t i = 0; i < keep; ++i) {
    r -= probs_[i];
    if (r < 0) return candidates_[i].id;
  }
  return candidates_[keep - 1].id;
}

}  // namespace josi::infer
