#pragma once
// Training batches: tokenized examples (data/tokenized_dataset, shared with
// `josi eval`, so both score the same tokens) padded into tensors, with the
// completion positions that carry the loss.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "data/tokenized_dataset.hpp"

namespace josi::train {

// A padded batch. Sequences are right-padded with `pad_id`; the loss positions
// are the flat indices (row * seq + t) of the positions whose next token is
// a completion token, and the labels are those tokens.
struct Batch {
  torch::Tensor input_ids;        // [rows, seq] int64
  torch::Tensor attention_mask;   // [rows, seq] int64, 1 on real tokens
  torch::Tensor label_positions;  // [n] int64
  torch::Tensor labels;           // [n] int64
  int64_t tokens = 0;             // real (unpadded) tokens
  int64_t label_count() const { return labels.numel(); }
};

Batch make_batch(const std::vector<const data::TokenizedExample*>& examples, int32_t pad_id);

}  // namespace josi::train
