#pragma once
// One conversation's state on a model: the KV cache and the working buffers
// of the forward pass. eval() runs a batch of tokens (a whole prompt, or one
// generated token) at the next positions and returns their logits.
#include <array>
#include <cstdint>
#include <span>
#include <vector>

#include "base/thread_pool.hpp"
#include "infer/adapter.hpp"
#include "infer/kv_cache.hpp"
#include "infer/model.hpp"
#include "kernels/matmul.hpp"

namespace josi::infer {

enum class Logits { last, all };

class Context {
 public:
  // `n_ctx`: the context cap (positions the KV cache holds). `pool` runs every
  // parallel operation and must outlive the context. `adapter` (may be null;
  // it must outlive the context and be for `model`) is applied to every
  // adapted projection.
  Context(const Model& model, base::ThreadPool& pool, int64_t n_ctx, const Adapter* adapter = nullptr);

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
  // Frees the working buffers sized for the largest batch so far (a long
  // prompt's); the next eval sizes them for its own batch again.
  void release_buffers();
  KvCache& kv_cache() { return cache_; }
  const KvCache& kv_cache() const { return cache_; }

  // Runs `tokens` at positions n_past().. and advances n_past(). Returns the
  // logits of the last token ([n_vocab]) or of every token ([n × n_vocab]),
  // valid until the next call. Throws josi::Error when a token id is out of
  // range or the tokens do not fit in the context.
  std::span<const float> eval(std::span<const int32_t> tokens, Logits which = Logits::last);
  // The same, returning the logits of the last `rows` tokens ([rows ×
  // n_vocab]): only those go through the output projection (teacher-forced
  // scoring wants the answer's positions, not the prompt's).
  std::span<const float> eval_last(std::span<const int32_t> tokens, int64_t rows);

 private:
  // Logits of the batch's positions [first, n) into logits_out (none when null).
  void eval_batch(std::span<const int32_t> tokens, int64_t first, float* logits_out);
  void attention(int64_t layer, int64_t n);
  // The adapter's terms for the outputs of `group` on the batch's input x:
  // u = A·x into lora_u_, each output's columns scaled by its alpha / rank.
  struct Terms {
    std::array<kernels::LowRankTerm, 3> terms;
    const kernels::LowRankTerm* operator[](size_t i) const { return terms[i].bt ? &terms[i] : nullptr; }
  };
  Terms low_rank(const AdapterGroup* group, const float* x, int64_t n);
  void reserve(int64_t n);

  const Model& model_;
  const Adapter* adapter_;
  base::ThreadPool& pool_;
  KvCache cache_;
  int64_t n_past_ = 0;
  kernels::MatmulScratch scratch_;
  // Working buffers, [tokens × width] row-major, sized for the largest batch.
  std::vector<float> x_, xn_, q_, k_, v_, attn_, g_, u_, lora_u_, rope_cos_, rope_sin_, logits_;
  int64_t reserved_ = 0;
};

}  // namespace josi::infer
