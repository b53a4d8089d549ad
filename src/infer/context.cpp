#include "infer/context.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "base/error.hpp"
#include "infer/attention.hpp"
#include "infer/layer_ops.hpp"
#include "quant/block_quant.hpp"

namespace josi::infer {
namespace {

// Prompts are processed in batches of at most this many tokens, which bounds
// the working buffers (about 100 KB per token for a 1.5B model).
constexpr int64_t kMaxBatch = 512;
// Batches of up to this many tokens (a generated token, a draft to verify)
// gather each adapter group's A·x where its input is written, one partial
// sum per slice and token; longer ones (prompts) in a pass of their own.
constexpr int64_t kGatherTokens = 16;

void matmul(base::ThreadPool& pool, const Weight& w, const float* x, int64_t n, float* y,
            kernels::MatmulScratch& scratch, const kernels::LowRankTerm* term = nullptr,
            const kernels::RowsDone* rows_done = nullptr) {
  kernels::matmul(pool, w.type, w.data, w.rows, w.cols, x, n, y, w.rows, scratch, w.layout, term, rows_done);
}

void add_bias(float* y, const std::vector<float>& bias, int64_t n) {
  if (bias.empty()) return;
  const int64_t width = static_cast<int64_t>(bias.size());
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t i = 0; i < width; ++i) y[t * width + i] += bias[static_cast<size_t>(i)];
  }
}

// Qwen3's per-head RMSNorm of q or k, each head on its own.
void norm_heads(float* x, int64_t n_heads, int64_t head_dim, const std::vector<float>& weight, float eps) {
  for (int64_t head = 0; head < n_heads; ++head) rms_norm(x + head * head_dim, weight.data(), x + head * head_dim, head_dim, eps);
}

// The model's KV cache; a type its heads cannot hold is refused naming the file.
KvCache kv_cache_for(const Model& model, int64_t n_ctx, KvType kv_type) {
  const HParams& hp = model.hparams();
  try {
    return KvCache(hp.n_layer, n_ctx, hp.n_head_kv * hp.head_dim, hp.head_dim, kv_type);
  } catch (const Error& e) {
    throw Error(model.path().string() + ": " + e.what(), e.code());
  }
}

}  // namespace

Context::Context(const Model& model, base::ThreadPool& pool, int64_t n_ctx, const Adapter* adapter, KvType kv_type,
                 std::shared_ptr<Workspace> workspace)
    : model_(model),
      adapter_(adapter),
      pool_(pool),
      cache_(kv_cache_for(model, n_ctx, kv_type)),
      work_(workspace ? std::move(workspace) : std::make_shared<Workspace>()) {
  if (n_ctx <= 0) throw Error(fmt::format("context size {} must be positive", n_ctx), ExitCode::usage);
  if (adapter && &adapter->base() != &model)
    throw Error(fmt::format("{}: the adapter was opened for another model than {}", adapter->path().string(),
                            model.path().string()));
}

void Context::set_n_past(int64_t n) {
  if (n < 0 || n > n_ctx()) throw Error(fmt::format("position {} is outside the context (0..{})", n, n_ctx()));
  n_past_ = n;
}

void Context::shift(int64_t from, int64_t to, int64_t count) {
  if (to < 0 || count < 0 || to > from || from + count > n_past_)
    throw Error(fmt::format("cannot shift positions {}..{} to {}: the context holds {}", from, from + count, to, n_past_));
  if (to < from && count > 0) {
    const auto& h = model_.hparams();
    cache_.move(from, to, count);
    // R(p - d) = R(-d) R(p): one rotation by -d turns every moved key back.
    const int64_t half = h.head_dim / 2, kv_dim = h.n_head_kv * h.head_dim;
    std::vector<float> cos(static_cast<size_t>(half)), sin(static_cast<size_t>(half));
    rope_angles(to - from, h.head_dim, h.rope_freq_base, cos.data(), sin.data());
    pool_.parallel_for(static_cast<size_t>(h.n_layer), 1, [&](size_t begin, size_t end) {
      std::vector<float> keys(static_cast<size_t>(kv_dim));
      for (auto layer = static_cast<int64_t>(begin); layer < static_cast<int64_t>(end); ++layer) {
        for (int64_t pos = to; pos < to + count; ++pos) {
          cache_.load_keys(layer, pos, keys.data());
          apply_rope(keys.data(), h.n_head_kv, h.head_dim, cos.data(), sin.data(), h.rope);
          cache_.store_keys(layer, pos, keys.data());
        }
      }
    });
  }
  n_past_ = to + count;
}

void Context::release_buffers() { work_->release(); }

std::span<const float> Context::eval(std::span<const int32_t> tokens, Logits which) {
  return eval_last(tokens, which == Logits::all ? static_cast<int64_t>(tokens.size()) : 1);
}

std::span<const float> Context::eval_last(std::span<const int32_t> tokens, int64_t rows) {
  Workspace& w = *work_;
  const auto& h = model_.hparams();
  const int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0) throw Error("no tokens to evaluate", ExitCode::usage);
  if (rows < 1 || rows > n) throw Error(fmt::format("{} logit rows asked of {} tokens", rows, n), ExitCode::usage);
  if (n_past_ + n > n_ctx()) {
    throw Error(fmt::format("{} tokens do not fit in the context: {} of {} positions are used", n, n_past_, n_ctx()));
  }
  for (const int32_t id : tokens) {
    if (id < 0 || id >= h.n_vocab) throw Error(fmt::format("token id {} is outside the vocabulary (0..{})", id, h.n_vocab - 1));
  }
  w.logits.resize(static_cast<size_t>(rows * h.n_vocab));
  const int64_t first_row = n - rows;
  for (int64_t begin = 0; begin < n; begin += kMaxBatch) {
    const int64_t count = std::min(kMaxBatch, n - begin);
    const int64_t first = std::clamp<int64_t>(first_row - begin, 0, count);
    float* out = first < count ? &w.logits[static_cast<size_t>((begin + first - first_row) * h.n_vocab)] : nullptr;
    eval_batch(tokens.subspan(static_cast<size_t>(begin), static_cast<size_t>(count)), first, out);
  }
  return w.logits;
}

void Context::eval_batch(std::span<const int32_t> tokens, int64_t first, float* logits_out) {
  Workspace& w = *work_;
  const auto& h = model_.hparams();
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t embd = h.n_embd, q_dim = h.n_head * h.head_dim, kv_dim = h.n_head_kv * h.head_dim;
  const int64_t half = h.head_dim / 2;
  w.reserve(model_.hparams(), n);

  const auto& embed = model_.token_embd();
  for (int64_t t = 0; t < n; ++t) {
    quant::dequantize_row(embed.type, embed.data + embed.row_bytes * static_cast<size_t>(tokens[static_cast<size_t>(t)]),
                          &w.x[static_cast<size_t>(t * embd)], embd);
    rope_angles(n_past_ + t, h.head_dim, h.rope_freq_base, &w.rope_cos[static_cast<size_t>(t * half)],
                &w.rope_sin[static_cast<size_t>(t * half)]);
  }

  // The adapter's A products of a small batch are gathered by the tasks that
  // write their inputs (adapter_input.hpp); `gathered` says the next group's were.
  const bool gather = adapter_ && n <= kGatherTokens;
  bool gathered = false;
  const auto group = [&](int64_t il, AdapterGroup AdapterLayer::*g) -> const AdapterGroup* {
    return adapter_ && il < h.n_layer ? &(adapter_->layers()[static_cast<size_t>(il)].*g) : nullptr;
  };
  const auto start_gathering = [&](const AdapterGroup* next, int64_t slice) {
    gathered = gather && adapts(next);
    if (gathered) w.adapter_input.begin(*next, n, slice);
  };
  float* norm_scale = w.norm_scale.data();
  for (int64_t il = 0; il < h.n_layer; ++il) {
    const auto& l = model_.layers()[static_cast<size_t>(il)];
    for (int64_t t = 0; t < n; ++t)
      norm_scale[t] = rms_norm(&w.x[t * embd], l.attn_norm.data(), &w.xn[t * embd], embd, h.rms_eps);
    AdapterTerms terms = adapter_terms(group(il, &AdapterLayer::attention_in), gathered, w.x.data(), n, kernels::kRowsDoneBlock,
                                       &l.attn_norm, norm_scale);
    matmul(pool_, l.wq, w.xn.data(), n, w.q.data(), w.scratch, terms[0]);
    matmul(pool_, l.wk, w.xn.data(), n, w.k.data(), w.scratch, terms[1]);
    matmul(pool_, l.wv, w.xn.data(), n, w.v.data(), w.scratch, terms[2]);
    add_bias(w.q.data(), l.bq, n);
    add_bias(w.k.data(), l.bk, n);
    add_bias(w.v.data(), l.bv, n);
    for (int64_t t = 0; t < n; ++t) {
      if (h.qk_norm) {
        norm_heads(&w.q[t * q_dim], h.n_head, h.head_dim, l.q_norm, h.rms_eps);
        norm_heads(&w.k[t * kv_dim], h.n_head_kv, h.head_dim, l.k_norm, h.rms_eps);
      }
      const float* c = &w.rope_cos[t * half];
      const float* s = &w.rope_sin[t * half];
      apply_rope(&w.q[t * q_dim], h.n_head, h.head_dim, c, s, h.rope);
      apply_rope(&w.k[t * kv_dim], h.n_head_kv, h.head_dim, c, s, h.rope);
      cache_.store(il, n_past_ + t, &w.k[t * kv_dim], &w.v[t * kv_dim]);
    }
    const AdapterGroup* attention_out = group(il, &AdapterLayer::attention_out);
    start_gathering(attention_out, h.head_dim);
    attention(il, n, gathered);
    terms = adapter_terms(attention_out, gathered, w.attn.data(), n, h.head_dim, nullptr, nullptr);
    const AdapterGroup* ffn_in = group(il, &AdapterLayer::ffn_in);
    start_gathering(ffn_in, kernels::kRowsDoneBlock);
    const kernels::RowsDone attention_done = add_to_residual(w.xn.data(), gathered ? &l.ffn_norm : nullptr, n);
    matmul(pool_, l.wo, w.attn.data(), n, w.xn.data(), w.scratch, terms[0], &attention_done);

    for (int64_t t = 0; t < n; ++t)
      norm_scale[t] = rms_norm(&w.x[t * embd], l.ffn_norm.data(), &w.xn[t * embd], embd, h.rms_eps);
    terms = adapter_terms(ffn_in, gathered, w.x.data(), n, kernels::kRowsDoneBlock, &l.ffn_norm, norm_scale);
    matmul(pool_, l.gate, w.xn.data(), n, w.g.data(), w.scratch, terms[0]);
    // The activation in the up projection's tasks: g = silu(gate) * up, and ffn_out's slices of A·g.
    const AdapterGroup* ffn_out = group(il, &AdapterLayer::ffn_out);
    start_gathering(ffn_out, kernels::kRowsDoneBlock);
    const bool gather_ffn_out = gathered;
    const kernels::RowsDone activation = [&](int64_t r0, int64_t r1) {
      for (int64_t t = 0; t < n; ++t) {
        float* g = &w.g[static_cast<size_t>(t * h.n_ff + r0)];
        swiglu(g, &w.u[static_cast<size_t>(t * h.n_ff + r0)], r1 - r0);
        if (gather_ffn_out) w.adapter_input.add(t, r0, r1, g);
      }
    };
    matmul(pool_, l.up, w.xn.data(), n, w.u.data(), w.scratch, terms[1], &activation);
    terms = adapter_terms(ffn_out, gathered, w.g.data(), n, kernels::kRowsDoneBlock, nullptr, nullptr);
    // The down projection's tasks gather the next layer's attention_in.
    const AdapterGroup* next_in = group(il + 1, &AdapterLayer::attention_in);
    start_gathering(next_in, kernels::kRowsDoneBlock);
    const std::vector<float>* next_norm = gathered ? &model_.layers()[static_cast<size_t>(il + 1)].attn_norm : nullptr;
    const kernels::RowsDone ffn_done = add_to_residual(w.xn.data(), next_norm, n);
    matmul(pool_, l.down, w.g.data(), n, w.xn.data(), w.scratch, terms[0], &ffn_done);
  }
  n_past_ += n;
  if (!logits_out) return;

  // Only the rows whose logits are wanted go through the output projection.
  const int64_t rows = n - first;
  for (int64_t t = first; t < n; ++t) {
    rms_norm(&w.x[t * embd], model_.output_norm().data(), &w.xn[(t - first) * embd], embd, h.rms_eps);
  }
  matmul(pool_, model_.output(), w.xn.data(), rows, logits_out, w.scratch);
}

AdapterTerms Context::adapter_terms(const AdapterGroup* group, bool gathered, const float* x, int64_t n, int64_t slice,
                                    const std::vector<float>* norm, const float* row_scale) {
  Workspace& w = *work_;
  if (!adapts(group)) return {};
  if (!gathered) w.adapter_input.add_all(pool_, *group, n, slice, x, norm);
  return w.adapter_input.finish(row_scale);
}

kernels::RowsDone Context::add_to_residual(const float* y, const std::vector<float>* norm, int64_t n) {
  const int64_t embd = model_.hparams().n_embd;
  return [&w = *work_, y, norm, n, embd](int64_t r0, int64_t r1) {
    float normed[kernels::kRowsDoneBlock];
    for (int64_t t = 0; t < n; ++t) {
      float* x = &w.x[static_cast<size_t>(t * embd)];
      for (int64_t r = r0; r < r1; ++r) x[r] += y[t * embd + r];
      if (!norm) continue;
      for (int64_t r = r0; r < r1; ++r) normed[r - r0] = x[r] * (*norm)[static_cast<size_t>(r)];
      w.adapter_input.add(t, r0, r1, normed);
    }
  };
}

// Causal attention of the batch's queries over the cache (infer/attention.hpp).
void Context::attention(int64_t layer, int64_t n, bool gather) {
  Workspace& w = *work_;
  const auto& h = model_.hparams();
  AttentionDone done;
  if (gather) {
    done = [&w, hd = h.head_dim](int64_t t, int64_t head, const float* out) {
      w.adapter_input.add(t, head * hd, head * hd + hd, out);
    };
  }
  infer::attention(cache_, layer, {h.n_head, h.n_head_kv, h.head_dim}, w.q.data(), n, n_past_, w.attn.data(), pool_, done);
}

}  // namespace josi::infer
