#include "infer/context.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

#include "base/error.hpp"
#include "infer/layer_ops.hpp"
#include "kernels/vector_ops.hpp"
#include "quant/block_quant.hpp"

namespace josi::infer {
namespace {

// Prompts are processed in batches of at most this many tokens, which bounds
// the working buffers (about 100 KB per token for a 1.5B model).
constexpr int64_t kMaxBatch = 512;

void matmul(base::ThreadPool& pool, const Weight& w, const float* x, int64_t n, float* y,
            kernels::MatmulScratch& scratch, const kernels::LowRankTerm* term = nullptr) {
  kernels::matmul(pool, w.type, w.data, w.rows, w.cols, x, n, y, w.rows, scratch, w.layout, term);
}

void add_bias(float* y, const std::vector<float>& bias, int64_t n) {
  if (bias.empty()) return;
  const int64_t width = static_cast<int64_t>(bias.size());
  for (int64_t t = 0; t < n; ++t) {
    for (int64_t i = 0; i < width; ++i) y[t * width + i] += bias[static_cast<size_t>(i)];
  }
}

}  // namespace

Context::Context(const Model& model, base::ThreadPool& pool, int64_t n_ctx, const Adapter* adapter)
    : model_(model),
      adapter_(adapter),
      pool_(pool),
      cache_(model.hparams().n_layer, n_ctx, model.hparams().n_head_kv * model.hparams().head_dim) {
  if (n_ctx <= 0) throw Error(fmt::format("context size {} must be positive", n_ctx), ExitCode::usage);
  if (adapter && &adapter->base() != &model)
    throw Error(fmt::format("{}: the adapter was opened for another model than {}", adapter->path().string(),
                            model.path().string()));
}

void Context::set_n_past(int64_t n) {
  if (n < 0 || n > n_ctx()) throw Error(fmt::format("position {} is outside the context (0..{})", n, n_ctx()));
  n_past_ = n;
}

void Context::release_buffers() {
  for (auto* v : {&x_, &xn_, &q_, &k_, &v_, &attn_, &g_, &u_, &lora_u_, &rope_cos_, &rope_sin_}) {
    v->clear();
    v->shrink_to_fit();
  }
  scratch_.activations.clear();
  scratch_.activations.shrink_to_fit();
  reserved_ = 0;
}

void Context::reserve(int64_t n) {
  if (n <= reserved_) return;
  const auto& h = model_.hparams();
  const auto size = [n](int64_t width) { return static_cast<size_t>(n * width); };
  x_.resize(size(h.n_embd));
  xn_.resize(size(h.n_embd));
  q_.resize(size(h.n_head * h.head_dim));
  attn_.resize(size(h.n_head * h.head_dim));
  k_.resize(size(h.n_head_kv * h.head_dim));
  v_.resize(size(h.n_head_kv * h.head_dim));
  g_.resize(size(h.n_ff));
  u_.resize(size(h.n_ff));
  if (adapter_) lora_u_.resize(size(adapter_->max_group_rank()));
  rope_cos_.resize(size(h.head_dim / 2));
  rope_sin_.resize(size(h.head_dim / 2));
  reserved_ = n;
}

std::span<const float> Context::eval(std::span<const int32_t> tokens, Logits which) {
  return eval_last(tokens, which == Logits::all ? static_cast<int64_t>(tokens.size()) : 1);
}

std::span<const float> Context::eval_last(std::span<const int32_t> tokens, int64_t rows) {
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
  logits_.resize(static_cast<size_t>(rows * h.n_vocab));
  const int64_t first_row = n - rows;
  for (int64_t begin = 0; begin < n; begin += kMaxBatch) {
    const int64_t count = std::min(kMaxBatch, n - begin);
    const int64_t first = std::clamp<int64_t>(first_row - begin, 0, count);
    float* out = first < count ? &logits_[static_cast<size_t>((begin + first - first_row) * h.n_vocab)] : nullptr;
    eval_batch(tokens.subspan(static_cast<size_t>(begin), static_cast<size_t>(count)), first, out);
  }
  return logits_;
}

void Context::eval_batch(std::span<const int32_t> tokens, int64_t first, float* logits_out) {
  const auto& h = model_.hparams();
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t embd = h.n_embd, q_dim = h.n_head * h.head_dim, kv_dim = h.n_head_kv * h.head_dim;
  const int64_t half = h.head_dim / 2;
  reserve(n);

  const auto& embed = model_.token_embd();
  for (int64_t t = 0; t < n; ++t) {
    quant::dequantize_row(embed.type, embed.data + embed.row_bytes * static_cast<size_t>(tokens[static_cast<size_t>(t)]),
                          &x_[static_cast<size_t>(t * embd)], embd);
    rope_angles(n_past_ + t, h.head_dim, h.rope_freq_base, &rope_cos_[static_cast<size_t>(t * half)],
                &rope_sin_[static_cast<size_t>(t * half)]);
  }

  for (int64_t il = 0; il < h.n_layer; ++il) {
    const auto& l = model_.layers()[static_cast<size_t>(il)];
    const AdapterLayer* al = adapter_ ? &adapter_->layers()[static_cast<size_t>(il)] : nullptr;
    for (int64_t t = 0; t < n; ++t) rms_norm(&x_[t * embd], l.attn_norm.data(), &xn_[t * embd], embd, h.rms_eps);
    Terms terms = low_rank(al ? &al->attention_in : nullptr, xn_.data(), n);
    matmul(pool_, l.wq, xn_.data(), n, q_.data(), scratch_, terms[0]);
    matmul(pool_, l.wk, xn_.data(), n, k_.data(), scratch_, terms[1]);
    matmul(pool_, l.wv, xn_.data(), n, v_.data(), scratch_, terms[2]);
    add_bias(q_.data(), l.bq, n);
    add_bias(k_.data(), l.bk, n);
    add_bias(v_.data(), l.bv, n);
    for (int64_t t = 0; t < n; ++t) {
      const float* c = &rope_cos_[t * half];
      const float* s = &rope_sin_[t * half];
      apply_rope(&q_[t * q_dim], h.n_head, h.head_dim, c, s, h.rope);
      apply_rope(&k_[t * kv_dim], h.n_head_kv, h.head_dim, c, s, h.rope);
      kernels::f32_to_f16(&k_[t * kv_dim], cache_.k(il, n_past_ + t), kv_dim);
      kernels::f32_to_f16(&v_[t * kv_dim], cache_.v(il, n_past_ + t), kv_dim);
    }
    attention(il, n);
    terms = low_rank(al ? &al->attention_out : nullptr, attn_.data(), n);
    matmul(pool_, l.wo, attn_.data(), n, xn_.data(), scratch_, terms[0]);
    for (int64_t i = 0; i < n * embd; ++i) x_[i] += xn_[i];

    for (int64_t t = 0; t < n; ++t) rms_norm(&x_[t * embd], l.ffn_norm.data(), &xn_[t * embd], embd, h.rms_eps);
    terms = low_rank(al ? &al->ffn_in : nullptr, xn_.data(), n);
    matmul(pool_, l.gate, xn_.data(), n, g_.data(), scratch_, terms[0]);
    matmul(pool_, l.up, xn_.data(), n, u_.data(), scratch_, terms[1]);
    swiglu(g_.data(), u_.data(), n * h.n_ff);
    terms = low_rank(al ? &al->ffn_out : nullptr, g_.data(), n);
    matmul(pool_, l.down, g_.data(), n, xn_.data(), scratch_, terms[0]);
    for (int64_t i = 0; i < n * embd; ++i) x_[i] += xn_[i];
  }
  n_past_ += n;
  if (!logits_out) return;

  // Only the rows whose logits are wanted go through the output projection.
  const int64_t rows = n - first;
  for (int64_t t = first; t < n; ++t) {
    rms_norm(&x_[t * embd], model_.output_norm().data(), &xn_[(t - first) * embd], embd, h.rms_eps);
  }
  matmul(pool_, model_.output(), xn_.data(), rows, logits_out, scratch_);
}

Context::Terms Context::low_rank(const AdapterGroup* group, const float* x, int64_t n) {
  Terms out;
  if (!group || !group->a) return out;
  float* u = lora_u_.data();
  kernels::matmul_split_columns(pool_, group->type, group->a, group->rank, group->cols, x, n, u, group->rank, scratch_);
  for (size_t o = 0; o < out.terms.size(); ++o) {
    const AdaptedOutput& a = group->outputs[o];
    if (!a.bt) continue;
    for (int64_t t = 0; t < n; ++t)
      for (int64_t j = a.offset; j < a.offset + a.rank; ++j) u[t * group->rank + j] *= a.scale;
    out.terms[o] = {group->type, a.bt, a.rank, u + a.offset, group->rank};
  }
  return out;
}

// Causal attention of the batch's queries (positions n_past..n_past+n-1) over
// the cache, one (token, head) pair per work item.
void Context::attention(int64_t layer, int64_t n) {
  const auto& h = model_.hparams();
  const int64_t q_dim = h.n_head * h.head_dim, kv_dim = h.n_head_kv * h.head_dim;
  const int64_t group = h.n_head / h.n_head_kv, hd = h.head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  pool_.parallel_for(static_cast<size_t>(n * h.n_head), 1, [&](size_t begin, size_t end) {
    std::vector<float> scores(static_cast<size_t>(n_past_ + n));
    for (size_t item = begin; item < end; ++item) {
      const int64_t t = static_cast<int64_t>(item) / h.n_head, head = static_cast<int64_t>(item) % h.n_head;
      const int64_t kv_offset = (head / group) * hd, n_keys = n_past_ + t + 1;
      const float* q = &q_[static_cast<size_t>(t * q_dim + head * hd)];
      kernels::dot_f32_f16_rows(q, cache_.k(layer, 0) + kv_offset, kv_dim, n_keys, hd, scores.data());
      for (int64_t j = 0; j < n_keys; ++j) scores[j] *= scale;
      softmax(scores.data(), n_keys);
      float* out = &attn_[static_cast<size_t>(t * q_dim + head * hd)];
      std::fill(out, out + hd, 0.0f);
      kernels::axpy_f16_rows(scores.data(), cache_.v(layer, 0) + kv_offset, kv_dim, n_keys, hd, out);
    }
  });
}

}  // namespace josi::infer
