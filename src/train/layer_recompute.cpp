#include "train/layer_recompute.hpp"

#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/functions/utils.h>

#include <optional>

namespace josi::train {

namespace {

at::Generator default_generator(torch::Device device) {
  return device.is_cuda() ? at::globalContext().defaultGenerator(device)
                          : at::globalContext().defaultGenerator(torch::kCPU);
}

torch::Tensor generator_state(torch::Device device) {
  auto generator = default_generator(device);
  std::lock_guard<std::mutex> lock(generator.mutex());
  return generator.get_state();
}

void set_generator_state(torch::Device device, const torch::Tensor& state) {
  auto generator = default_generator(device);
  std::lock_guard<std::mutex> lock(generator.mutex());
  generator.set_state(state);
}

// The backward of a recomputed layer: runs the layer again with autograd on
// and backpropagates the incoming gradient through that fresh graph.
class RecomputeBackward : public torch::autograd::Node {
 public:
  RecomputeBackward(LayerFunction layer, torch::Tensor input, std::optional<torch::Tensor> rng_state)
      : layer_(std::move(layer)), input_(std::move(input)), rng_state_(std::move(rng_state)) {}

  std::string name() const override { return "josi::train::RecomputeBackward"; }

  torch::autograd::variable_list apply(torch::autograd::variable_list&& grads) override {
    const bool input_grad = should_compute_output(0);
    torch::Tensor input = input_.detach().requires_grad_(input_grad);
    torch::Tensor output;
    {
      // Replay the dropout masks of the forward pass, then put the
      // generator back where the rest of training left it.
      std::optional<torch::Tensor> current;
      if (rng_state_) {
        current = generator_state(input.device());
        set_generator_state(input.device(), *rng_state_);
      }
      torch::AutoGradMode enable_grad(true);
      output = layer_(input);
      if (current) set_generator_state(input.device(), *current);
    }
    torch::autograd::backward({output}, {grads[0]});
    torch::Tensor input_gradient = input_grad ? input.grad() : torch::Tensor();
    release_variables();
    return {input_gradient};
  }

  void release_variables() override {
    input_.reset();
    rng_state_.reset();
  }

 private:
  LayerFunction layer_;
  torch::Tensor input_;
  std::optional<torch::Tensor> rng_state_;
};

}  // namespace

torch::Tensor recompute_in_backward(LayerFunction layer, const torch::Tensor& input, bool uses_rng) {
  std::optional<torch::Tensor> rng_state;
  if (uses_rng) rng_state = generator_state(input.device());
  torch::Tensor output;
  {
    torch::NoGradGuard no_grad;
    output = layer(input);
  }
  auto node = std::shared_ptr<RecomputeBackward>(new RecomputeBackward(std::move(layer), input.detach(), std::move(rng_state)),
                                                 torch::autograd::deleteNode);
  node->set_next_edges(torch::autograd::collect_next_edges(input));
  torch::autograd::set_history(output, node);
  return output;
}

}  // namespace josi::train
