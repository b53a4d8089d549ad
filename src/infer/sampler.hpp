#pragma once
// Choosing the next token from logits: greedy, or temperature sampling with
// top-k, top-p and min-p filtering and a repetition penalty, from a seeded
// generator so a run can be repeated exactly. The filters run in the order
// the phone's runtime applies them: penalty, top-k, top-p, min-p, then
// temperature and the draw.
#include <cstdint>
#include <random>
#include <span>
#include <vector>

#include "infer/token_mask.hpp"

namespace josi::infer {

struct SamplingParams {
  float temperature = 0.45f;  // <= 0: greedy (argmax)
  int32_t top_k = 0;          // 0: off
  float top_p = 0.9f;         // 1: off
  float min_p = 0.0f;         // 0: off
  float repeat_penalty = 1.0f;  // 1: off; > 1 discourages tokens seen in the last `repeat_last_n`
  int32_t repeat_last_n = 64;
  uint64_t seed = 0;

  // Throws josi::Error (usage) for values outside their ranges.
  void check() const;
};

class Sampler {
 public:
  explicit Sampler(SamplingParams params);
  // `history`: the tokens so far (prompt and generated), for the penalty.
  // `allowed`: when given, only these tokens are candidates (an output
  // constraint); the filters and the draw then work among them alone, and
  // a single allowed token is returned without a draw.
  // Throws josi::Error when `allowed` holds no token.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history, const TokenMask* allowed = nullptr);

  struct Candidate {
    int32_t id;
    float logit;
    float weight;  // exp(logit - max), then the draw's weight
  };

 private:
  size_t top_p_prefix(float max, double target);

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<Candidate> candidates_;
  std::vector<double> bucket_mass_;
};

}  // namespace josi::infer
