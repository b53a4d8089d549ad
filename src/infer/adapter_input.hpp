#pragma once
// The first factor of an adapter group on its input, u = A·x, gathered a
// slice of x's columns at a time by whoever writes x. The task that has
// just written columns [c0, c1) of x (a block of a product's rows, one
// attention head's output) multiplies them by A's columns [c0, c1) into
// that slice's partial sum while they are in cache, so A costs no pass over
// x and no synchronisation of its own. The partial sums are added in slice
// order, so u does not depend on the threads. A batch too long to keep a
// partial sum per slice and token gets a pass of its own (add_all), which
// adds the same slices in the same order: a token's u, hence its logits,
// are the same bit for bit in any batch.
#include <array>
#include <cstdint>
#include <vector>

#include "base/thread_pool.hpp"
#include "infer/adapter.hpp"
#include "kernels/low_rank.hpp"

namespace josi::infer {

// The low-rank terms of a group's outputs (q, k, v | o | gate, up | down);
// null where an output is not adapted.
struct AdapterTerms {
  std::array<kernels::LowRankTerm, 3> terms;
  const kernels::LowRankTerm* operator[](size_t i) const { return terms[i].bt ? &terms[i] : nullptr; }
};

// True when the adapter adapts an output of `group` (which may be null).
inline bool adapts(const AdapterGroup* group) { return group && group->a; }

class AdapterInput {
 public:
  // Starts gathering A·x of `group` for `n_tokens` tokens, x's columns in
  // slices of `slice` columns.
  void begin(const AdapterGroup& group, int64_t n_tokens, int64_t slice);
  // Columns [c0, c1) of token t's x, their values at `x`; c0 starts a slice
  // and c1 is inside it or its end. Calls for different (slice, token)
  // pairs may run at once.
  void add(int64_t t, int64_t c0, int64_t c1, const float* x);
  // Instead of gathering: A·x of `group` for all of x ([n_tokens × cols],
  // row-major; times `norm` column by column when not null, as a writer
  // gathering a normed input passes it) in one parallel pass.
  void add_all(base::ThreadPool& pool, const AdapterGroup& group, int64_t n_tokens, int64_t slice, const float* x,
               const std::vector<float>* norm);
  // u = row_scale[t] · A·x (row_scale null: 1), each output's columns also
  // times its alpha / rank, and the terms that add B·u to the outputs;
  // valid until the next add_all() or finish(), so while the products that
  // add them gather the next group's slices.
  AdapterTerms finish(const float* row_scale);
  // Frees the buffers (sized for the largest batch so far).
  void release();

 private:
  void start(const AdapterGroup& group, int64_t n_tokens, int64_t slice);
  // partial[j] = Σ_{c0 <= c < c1} A[j][c] · x[c - c0]: one slice's partial sum.
  void slice_product(int64_t c0, int64_t c1, const float* x, float* partial) const;

  const AdapterGroup* group_ = nullptr;
  int64_t n_tokens_ = 0, slice_ = 0, slices_ = 0;
  bool summed_ = false;         // add_all wrote u directly
  std::vector<float> partial_;  // gathering: [slice][token][group rank]
  std::vector<float> u_;        // [token][group rank]
};

}  // namespace josi::infer
