#pragma once
// Per-layer recomputation ("gradient checkpointing"): a decoder layer runs
// forward without keeping its activations, and backward runs it again (with
// the same dropout masks) to backpropagate through it. Only each layer's input
// stays in memory, so activation memory no longer grows with the number of
// layers times their width.
#include <functional>

#include <torch/torch.h>

namespace josi::train {

using LayerFunction = std::function<torch::Tensor(const torch::Tensor& input)>;

// `layer(input)` whose backward recomputes it. `uses_rng`: the layer draws
// random numbers (dropout), so the generator state is saved and replayed.
// Gradients reach `input` (when it requires them) and every tensor the layer
// uses that requires grad, such as LoRA weights.
torch::Tensor recompute_in_backward(LayerFunction layer, const torch::Tensor& input, bool uses_rng);

}  // namespace josi::train
