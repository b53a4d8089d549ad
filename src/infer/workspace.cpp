#include "infer/workspace.hpp"

namespace josi::infer {

void Workspace::reserve(const HParams& h, int64_t n) {
  const auto at_least = [n](std::vector<float>& buffer, int64_t width) {
    const auto size = static_cast<size_t>(n * width);
    if (buffer.size() < size) buffer.resize(size);
  };
  at_least(x, h.n_embd);
  at_least(xn, h.n_embd);
  at_least(q, h.n_head * h.head_dim);
  at_least(attn, h.n_head * h.head_dim);
  at_least(k, h.n_head_kv * h.head_dim);
  at_least(v, h.n_head_kv * h.head_dim);
  at_least(g, h.n_ff);
  at_least(u, h.n_ff);
  at_least(norm_scale, 1);
  at_least(rope_cos, h.head_dim / 2);
  at_least(rope_sin, h.head_dim / 2);
}

void Workspace::release() {
  for (auto* buffer : {&x, &xn, &q, &k, &v, &attn, &g, &u, &norm_scale, &rope_cos, &rope_sin}) {
    buffer->clear();
    buffer->shrink_to_fit();
  }
  adapter_input.release();
  scratch.activations.clear();
  scratch.activations.shrink_to_fit();
}

}  // namespace josi::infer
