#pragma once
// Causal attention of a batch of queries over a layer's KV cache.
//
// attention() is blocked: each work item takes the query heads that share
// one KV head for a tile of kQueryTile tokens, and walks the keys in tiles
// of kKeyTile positions with a running softmax (the largest score so far,
// the sum of the weights, and the weighted values, rescaled when the
// largest grows). A tile of keys and values is read from the cache once per
// item, as floats, and its scores and weighted values are two small
// products (kernels::gemm_f32_tile) over all the item's queries at once, so
// a long prompt no longer streams the whole cache once per query head nor
// sums each dot product across a vector. The tiles start at position 0
// whatever the batch, and a query's scores and weights are computed the
// same way in any tile, so its result does not depend on its batch, bit
// for bit.
//
// attention_reference() is the plain form it is tested against: each query
// head on its own, its whole softmax at once.
#include <cstdint>
#include <functional>

#include "base/thread_pool.hpp"
#include "infer/kv_cache.hpp"

namespace josi::infer {

constexpr int64_t kKeyTile = 128, kQueryTile = 16;

struct AttentionHeads {
  int64_t n_head = 0, n_head_kv = 0, head_dim = 0;
};

// out[t][head] = softmax(q[t][head] · keys / sqrt(head_dim)) · values over
// the cache positions [0, n_past + t] of `layer`, for t < n (q and out are
// n × n_head × head_dim). `done` (may be empty) is called with each query
// head's final output, from the thread that computed it.
using AttentionDone = std::function<void(int64_t t, int64_t head, const float* out)>;
void attention(const KvCache& cache, int64_t layer, const AttentionHeads& heads, const float* q, int64_t n,
               int64_t n_past, float* out, base::ThreadPool& pool, const AttentionDone& done = {});
void attention_reference(const KvCache& cache, int64_t layer, const AttentionHeads& heads, const float* q, int64_t n,
                         int64_t n_past, float* out, base::ThreadPool& pool, const AttentionDone& done = {});

}  // namespace josi::infer
