#include "train/training_data.hpp"


namespace josi::train {

Batch make_batch(const std::vector<const data::TokenizedExample*>& examples, int32_t pad_id) {
  int64_t seq = 0;
  for (const auto* e : examples) seq = std::max(seq, static_cast<int64_t>(e->ids.size()));
  const int64_t rows = static_cast<int64_t>(examples.size());
  auto ids = torch::full({rows, seq}, pad_id, torch::kLong);
  auto mask = torch::zeros({rows, seq}, torch::kLong);
  std::vector<int64_t> positions, labels;
  Batch batch;
  auto ids_a = ids.accessor<int64_t, 2>();
  auto mask_a = mask.accessor<int64_t, 2>();
  for (int64_t r = 0; r < rows; ++r) {
    const auto& e = *examples[static_cast<size_t>(r)];
    const int64_t n = static_cast<int64_t>(e.ids.size());
    for (int64_t t = 0; t < n; ++t) {
      ids_a[r][t] = e.ids[static_cast<size_t>(t)];
      mask_a[r][t] = 1;
    }
    // Position t predicts token t + 1; completion tokens start at prompt_tokens.
    for (int64_t t = e.prompt_tokens - 1; t + 1 < n; ++t) {
      positions.push_back(r * seq + t);
      labels.push_back(e.ids[static_cast<size_t>(t + 1)]);
    }
    batch.tokens += n;
  }
  batch.input_ids = ids;
  batch.attention_mask = mask;
  batch.label_positions = torch::tensor(positions, torch::kLong);
  batch.labels = torch::tensor(labels, torch::kLong);
  return batch;
}

}  // namespace josi::train
