#pragma once
// The language-model loss where there are labels only: the output projection
// (hidden -> vocabulary) and the cross-entropy are computed for the labelled
// positions alone, a bounded number of rows at a time, and the gradient with
// respect to the hidden states is formed in the same pass. Memory stays
// bounded by one chunk of logits, never vocabulary x sequence (151,936 x
// 8,192 float32 would be 5 GB for one batch of four 2,048-token examples).
#include <cstdint>

#include <torch/torch.h>

namespace josi::train {

struct LmLoss {
  torch::Tensor loss_sum;  // float32 scalar: sum of -log p(target); differentiable w.r.t. hidden
  torch::Tensor correct;   // int64 scalar: targets that are the argmax (token accuracy)
};

// hidden [n, hidden] (the positions that predict a label), weight [vocab,
// hidden] (frozen), targets [n] int64. `chunk_rows` 0 picks a chunk of about
// 64 M logits.
LmLoss lm_loss(const torch::Tensor& hidden, const torch::Tensor& weight, const torch::Tensor& targets, int64_t chunk_rows = 0);

// Rows of hidden states at the positions whose next token is a label:
// hidden [batch, seq, h], positions [n] int64 flat indices (b * seq + t).
torch::Tensor select_positions(const torch::Tensor& hidden, const torch::Tensor& positions);

}  // namespace josi::train
