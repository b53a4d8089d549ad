#include "train/lm_loss.hpp"

namespace josi::train {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

class ChunkedLmLoss : public torch::autograd::Function<ChunkedLmLoss> {
 public:
  static variable_list forward(AutogradContext* ctx, torch::Tensor hidden, torch::Tensor weight, torch::Tensor targets,
                               int64_t chunk_rows, bool with_grad) {
    const int64_t n = hidden.size(0);
    auto loss = torch::zeros({}, hidden.options().dtype(torch::kFloat));
    auto correct = torch::zeros({}, hidden.options().dtype(torch::kLong));
    torch::Tensor grad = with_grad ? torch::empty_like(hidden) : torch::Tensor();
    for (int64_t start = 0; start < n; start += chunk_rows) {
      const int64_t rows = std::min(chunk_rows, n - start);
      auto h = hidden.narrow(0, start, rows);
      auto t = targets.narrow(0, start, rows).unsqueeze(1);
      auto logits = at::linear(h, weight).to(torch::kFloat);  // [rows, vocab]
      auto lse = logits.logsumexp(1, /*keepdim=*/true);
      loss += (lse - logits.gather(1, t)).sum();
      correct += (logits.argmax(1, /*keepdim=*/true) == t).sum();
      if (with_grad) {
        // d(-log softmax[t]) / d logits = softmax - onehot(t)
        auto probs = logits.sub_(lse).exp_();
        probs.scatter_add_(1, t, -torch::ones_like(t, probs.options()));
        grad.narrow(0, start, rows).copy_(torch::matmul(probs.to(h.scalar_type()), weight));
      }
    }
    ctx->save_for_backward({grad});
    ctx->mark_non_differentiable({correct});
    return {loss, correct};
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    auto grad = ctx->get_saved_variables()[0];
    // Scaled in f32: the incoming factor is 1 / (completion tokens), which bf16 would round.
    torch::Tensor hidden_grad =
        grad.defined() ? (grad.to(torch::kFloat) * grads[0]).to(grad.scalar_type()) : torch::Tensor();
    return {hidden_grad, torch::Tensor(), torch::Tensor(), torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

LmLoss lm_loss(const torch::Tensor& hidden, const torch::Tensor& weight, const torch::Tensor& targets, int64_t chunk_rows) {
  if (chunk_rows <= 0) chunk_rows = std::max<int64_t>(1, (int64_t{1} << 26) / weight.size(0));
  const bool with_grad = hidden.requires_grad() && torch::GradMode::is_enabled();
  auto out = ChunkedLmLoss::apply(hidden, weight.detach(), targets.to(hidden.device()), chunk_rows, with_grad);
  return {out[0], out[1]};
}

torch::Tensor select_positions(const torch::Tensor& hidden, const torch::Tensor& positions) {
  return hidden.reshape({-1, hidden.size(-1)}).index_select(0, positions.to(hidden.device()));
}

}  // namespace josi::train
