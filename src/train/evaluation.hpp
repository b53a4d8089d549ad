#pragma once
// Teacher-forced evaluation on the completion tokens: the mean loss (the
// seed's eval_loss) and the token accuracy (share of completion tokens whose
// argmax prediction is the target), and greedy generation for checks.
#include <cstdint>
#include <optional>
#include <vector>

#include "train/causal_lm.hpp"
#include "train/training_data.hpp"

namespace josi::train {

struct EvalResult {
  double loss = 0;
  double token_accuracy = 0;
  int64_t tokens = 0;  // completion tokens scored
};

// Batches of `batch_size` examples, shortest first so padding stays small.
EvalResult evaluate(const CausalLm& model, const data::TokenizedDataset& data, int64_t batch_size, int32_t pad_id);

// The argmax continuation of `prompt`: up to `max_new_tokens` ids, ending
// with `stop` (included) when the model produces it.
std::vector<int32_t> greedy_generate(const CausalLm& model, const std::vector<int32_t>& prompt,
                                     int64_t max_new_tokens, std::optional<int32_t> stop);

}  // namespace josi::train
