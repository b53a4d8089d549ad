#include "check/teacher_forcing.hpp"

#include <algorithm>
#include <cmath>

#include "base/error.hpp"

namespace josi::check {

TeacherForcing::TeacherForcing(const infer::Model& model, const infer::Adapter* adapter, base::ThreadPool& pool,
                               int64_t n_ctx, infer::KvType kv_type)
    : context_(model, pool, n_ctx, adapter, kv_type), n_vocab_(model.hparams().n_vocab) {}

std::span<const float> TeacherForcing::answer_logits(const data::TokenizedExample& e) {
  const auto& ids = e.ids;
  const int64_t n = static_cast<int64_t>(ids.size());
  // Position t predicts token t + 1: the answer's tokens are predicted from
  // the last prompt position up to the one before the last token.
  const int64_t rows = e.completion_tokens();
  if (rows < 1 || e.prompt_tokens < 1) throw Error("an example without prompt or answer tokens");
  const std::vector<int32_t> input(ids.begin(), ids.end() - 1);
  const auto mismatch = std::mismatch(held_.begin(), held_.end(), input.begin(), input.end());
  const int64_t shared = mismatch.first - held_.begin();
  const int64_t start = std::min(shared, n - 1 - rows);  // the scored positions are evaluated now
  context_.set_n_past(start);
  held_.assign(input.begin(), input.begin() + start);
  const auto logits = context_.eval_last(std::span<const int32_t>(input).subspan(static_cast<size_t>(start)), rows);
  held_ = input;
  return logits;
}

void log_softmax(std::span<const float> logits, std::vector<double>& out) {
  out.resize(logits.size());
  const double max = *std::max_element(logits.begin(), logits.end());
  double sum = 0;
  for (size_t i = 0; i < logits.size(); ++i) {
    out[i] = logits[i] - max;
    sum += std::exp(out[i]);
  }
  const double log_sum = std::log(sum);
  for (auto& v : out) v -= log_sum;
}

}  // namespace josi::check
