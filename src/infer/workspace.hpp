#pragma once
// The forward pass's working buffers, [tokens × width] row-major, sized
// for the largest batch so far (up to 512 tokens: ~70 MB for a 4B model).
// Contexts that never run at the same time share one: a coach's two roles
// take turns on one model, so a phone holds one set of buffers, not one per
// role. Nothing in it outlives a call of Context::eval except the logits,
// valid until the next evaluation by any context sharing it.
#include <cstdint>
#include <vector>

#include "infer/adapter_input.hpp"
#include "infer/model.hpp"
#include "kernels/matmul.hpp"

namespace josi::infer {

struct Workspace {
  std::vector<float> x, xn, q, k, v, attn, g, u, norm_scale, rope_cos, rope_sin, logits;
  kernels::MatmulScratch scratch;
  AdapterInput adapter_input;

  // Sizes the buffers for a batch of n tokens of a model of `h`'s shape
  // (never shrinks them: contexts of two shapes may share one).
  void reserve(const HParams& h, int64_t n);
  // Frees every buffer; the next reserve sizes them again.
  void release();
};

}  // namespace josi::infer
