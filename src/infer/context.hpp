#pragma once
// One conversation's state on a model: the KV cache, and the working
// buffers of the forward pass (its own, or a Workspace it shares with
// contexts that never run at the same time). eval() runs a batch of tokens
// (a whole prompt, or one generated token) at the next positions and
// returns their logits.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/thread_pool.hpp"
#include "infer/adapter.hpp"
#include "infer/adapter_input.hpp"
#include "infer/kv_cache.hpp"
#include "infer/model.hpp"
#include "infer/workspace.hpp"
#include "kernels/matmul.hpp"

namespace josi::infer {

enum class Logits { last, all };

class Context {
 public:
  // `n_ctx`: the context cap (positions the KV cache holds). `pool` runs every
  // parallel operation and must outlive the context. `adapter` (may be null;
  // it must outlive the context and be for `model`) is applied to every
  // adapted projection. `kv_type`: how the KV cache stores keys and values.
  // `workspace`: working buffers shared with other contexts (null: its own).
  Context(const Model& model, base::ThreadPool& pool, int64_t n_ctx, const Adapter* adapter = nullptr,
          KvType kv_type = KvType::f16, std::shared_ptr<Workspace> workspace = nullptr);

  const Model& model() const { return model_; }
  const Adapter* adapter() const { return adapter_; }
  int64_t n_ctx() const { return cache_.n_ctx(); }
  int64_t n_past() const { return n_past_; }
  uint64_t kv_bytes() const { return cache_.bytes(); }
  void reset() { n_past_ = 0; }
  // Continues the conversation at position `n`: positions [0, n) of the cache
  // must hold its keys and values, as eval left them (n <= n_past(): going
  // back to a shared prefix) or as loaded into kv_cache() from a saved one.
  // Throws josi::Error when n is outside [0, n_ctx()].
  void set_n_past(int64_t n);
  // Moves the keys and values of positions [from, from + count) down to
  // [to, to + count) (to < from), turning each key's rotary position back by
  // from - to, and continues the conversation at to + count. What the moved
  // positions attended to before `to` is not recomputed: their values are
  // those of the longer conversation (as llama.cpp's context shift keeps
  // them). Throws josi::Error unless to <= from and from + count <= n_past().
  void shift(int64_t from, int64_t to, int64_t count);
  // Frees the working buffers sized for the largest batch so far (a long
  // prompt's), shared ones included; the next eval sizes them for its own
  // batch again.
  void release_buffers();
  KvCache& kv_cache() { return cache_; }
  const KvCache& kv_cache() const { return cache_; }

  // Runs `tokens` at positions n_past().. and advances n_past(). Returns the
  // logits of the last token ([n_vocab]) or of every token ([n × n_vocab]),
  // valid until the next evaluation (by any context sharing the workspace).
  // Throws josi::Error when a token id is out of range or the tokens do not
  // fit in the context.
  std::span<const float> eval(std::span<const int32_t> tokens, Logits which = Logits::last);
  // The same, returning the logits of the last `rows` tokens ([rows ×
  // n_vocab]): only those go through the output projection (teacher-forced
  // scoring wants the answer's positions, not the prompt's).
  std::span<const float> eval_last(std::span<const int32_t> tokens, int64_t rows);

 private:
  // Logits of the batch's positions [first, n) into logits_out (none when null).
  void eval_batch(std::span<const int32_t> tokens, int64_t first, float* logits_out);
  // Causal attention of the batch over the cache; with `gather`, each
  // head's output also adds its slice of attention_out's A·x.
  void attention(int64_t layer, int64_t n, bool gather);
  // The terms of `group` on its input: from the slices gathered while it
  // was written (`gathered`), or from a pass now over x in the same slices
  // (`norm` ∘ x when not null). row_scale: each token's norm scale, which
  // x's writer could not know (null: none).
  AdapterTerms adapter_terms(const AdapterGroup* group, bool gathered, const float* x, int64_t n, int64_t slice,
                             const std::vector<float>* norm, const float* row_scale);
  // What a product adding its rows y to the residual stream does with a
  // block: x += y, and with `norm` (gathering the group begun last, whose
  // input is norm ∘ x scaled) that block's slice of its A·x.
  kernels::RowsDone add_to_residual(const float* y, const std::vector<float>* norm, int64_t n);

  const Model& model_;
  const Adapter* adapter_;
  base::ThreadPool& pool_;
  KvCache cache_;
  int64_t n_past_ = 0;
  std::shared_ptr<Workspace> work_;
};

}  // namespace josi::infer
