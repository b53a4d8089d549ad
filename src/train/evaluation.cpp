#include "train/evaluation.hpp"

#include <algorithm>
#include <numeric>

#include "train/lm_loss.hpp"

namespace josi::train {

EvalResult evaluate(const CausalLm& model, const data::TokenizedDataset& data, int64_t batch_size, int32_t pad_id) {
  torch::NoGradGuard no_grad;
  std::vector<size_t> order(data.examples.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return data.examples[a].ids.size() < data.examples[b].ids.size(); });
  double loss_sum = 0;
  int64_t correct = 0, tokens = 0;
  for (size_t start = 0; start < order.size(); start += static_cast<size_t>(batch_size)) {
    std::vector<const data::TokenizedExample*> rows;
    for (size_t i = start; i < std::min(order.size(), start + static_cast<size_t>(batch_size)); ++i)
      rows.push_back(&data.examples[order[i]]);
    Batch batch = make_batch(rows, pad_id);
    auto hidden = model.hidden_states(batch.input_ids);
    auto result = lm_loss(select_positions(hidden, batch.label_positions), model.output_weight(), batch.labels);
    loss_sum += result.loss_sum.item<double>();
    correct += result.correct.item<int64_t>();
    tokens += batch.label_count();
  }
  EvalResult out;
  out.tokens = tokens;
  if (tokens > 0) {
    out.loss = loss_sum / static_cast<double>(tokens);
    out.token_accuracy = static_cast<double>(correct) / static_cast<double>(tokens);
  }
  return out;
}

std::vector<int32_t> greedy_generate(const CausalLm& model, const std::vector<int32_t>& prompt,
                                     int64_t max_new_tokens, std::optional<int32_t> stop) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> ids(prompt.begin(), prompt.end());
  std::vector<int32_t> generated;
  for (int64_t i = 0; i < max_new_tokens; ++i) {
    auto input = torch::tensor(ids, torch::kLong).unsqueeze(0);
    auto last = model.hidden_states(input).select(1, -1);  // [1, hidden]
    const auto next = static_cast<int32_t>(at::linear(last, model.output_weight()).argmax(-1).item<int64_t>());
    generated.push_back(next);
    ids.push_back(next);
    if (stop && next == *stop) break;
  }
  return generated;
}

}  // namespace josi::train
