#pragma once
// Teacher-forced scoring on the engine, as `josi train` scores its
// validation set: the model reads prompt and answer together and is judged
// on each answer token (the assistant text plus <|im_end|>): the loss
// -log p(target) and whether its most likely token is the target. The
// context keeps the longest prefix consecutive examples share (their system
// prompt), so each example evaluates only its own tokens.
#include <cstdint>
#include <span>
#include <vector>

#include "base/thread_pool.hpp"
#include "data/tokenized_dataset.hpp"
#include "infer/context.hpp"

namespace josi::check {

class TeacherForcing {
 public:
  // `adapter` (may be null) is applied on `model`.
  TeacherForcing(const infer::Model& model, const infer::Adapter* adapter, base::ThreadPool& pool, int64_t n_ctx,
                 infer::KvType kv_type = infer::KvType::f16);

  // Logits of the positions that predict the example's completion tokens:
  // [completion_tokens × n_vocab], valid until the next call.
  std::span<const float> answer_logits(const data::TokenizedExample& example);
  int64_t n_vocab() const { return n_vocab_; }

 private:
  infer::Context context_;
  std::vector<int32_t> held_;  // the tokens whose keys and values the context holds
  int64_t n_vocab_;
};

// One position's log-probabilities (log-softmax in double) into `out`.
void log_softmax(std::span<const float> logits, std::vector<double>& out);

}  // namespace josi::check
