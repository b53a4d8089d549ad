#include "train/causal_lm.hpp"

#include <torch/version.h>

#include <cmath>
#include <limits>

#include "base/error.hpp"
#include "formats/safetensors.hpp"
#include "train/layer_recompute.hpp"
#include "train/torch_tensors.hpp"

namespace josi::train {

namespace fs = std::filesystem;

namespace {

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

const char* module_group(int module) { return module < 4 ? "self_attn" : "mlp"; }

torch::Tensor rotate_half(const torch::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

}  // namespace

CausalLm::CausalLm(const fs::path& dir, torch::Device device, torch::ScalarType type)
    : config_(formats::read_model_config(dir)), device_(device), type_(type) {
  const std::string where = dir.string();
  arch_ = formats::architecture_from_hf(config_.architecture, config_.model_type);
  if (arch_ == nullptr)
    throw Error(where + ": architecture " + config_.architecture + " is not one of " + formats::hf_architecture_names());
  formats::SafetensorsModel weights(dir);

  auto load = [&](const std::string& name, std::vector<int64_t> shape) {
    const formats::TensorView* view = weights.find(name);
    if (view == nullptr) throw Error(where + ": weight " + name + " is missing");
    if (view->dtype != formats::DType::F32 && view->dtype != formats::DType::F16 && view->dtype != formats::DType::BF16)
      throw Error(where + ": weight " + name + " is " + std::string(formats::dtype_name(view->dtype)) +
                  ", expected F32, F16 or BF16");
    if (view->shape != shape)
      throw Error(where + ": weight " + name + " has shape " + shape_text(view->shape) + ", expected " +
                  shape_text(shape) + " from config.json");
    return tensor_from_view(*view, device_, type_);
  };

  const auto& c = config_;
  const int64_t h = c.hidden_size, hd = c.head_dim(), ff = c.intermediate_size;
  const int64_t q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd;
  const std::array<std::pair<int64_t, int64_t>, 7> shapes = {{{q, h}, {kv, h}, {kv, h}, {h, q}, {ff, h}, {ff, h}, {h, ff}}};
  embed_ = load("model.embed_tokens.weight", {c.vocab_size, h});
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) {
    const std::string prefix = "model.layers." + std::to_string(i) + ".";
    Layer layer;
    layer.input_norm = load(prefix + "input_layernorm.weight", {h});
    layer.post_norm = load(prefix + "post_attention_layernorm.weight", {h});
    for (int m = 0; m < 7; ++m) {
      const std::string name = prefix + module_group(m) + "." + lora_module_names()[m];
      auto [out, in] = shapes[static_cast<size_t>(m)];
      layer.projections[static_cast<size_t>(m)].weight = load(name + ".weight", {out, in});
      if (m < 3 && arch_->qkv_bias) layer.projections[static_cast<size_t>(m)].bias = load(name + ".bias", {out});
    }
    if (arch_->qk_norm) {
      layer.q_norm = load(prefix + "self_attn.q_norm.weight", {hd});
      layer.k_norm = load(prefix + "self_attn.k_norm.weight", {hd});
    }
    layers_.push_back(std::move(layer));
  }
  final_norm_ = load("model.norm.weight", {h});
  if (!c.tie_word_embeddings) lm_head_ = load("lm_head.weight", {c.vocab_size, h});
}

LoraWeights& CausalLm::attach(formats::LoraConfig config, const std::vector<LoraShape>& shapes) {
  if (config.fan_in_fan_out) throw Error("LoRA: fan_in_fan_out adapters are for Conv1D models, not " + config_.architecture);
  lora_ = std::make_unique<LoraWeights>(std::move(config), shapes, device_);
  return *lora_;
}

LoraWeights& CausalLm::attach_lora(const formats::LoraConfig& config) {
  std::vector<LoraShape> shapes;
  for (const auto& target : config.target_modules)
    if (lora_module_index(target) < 0)
      throw Error("LoRA: target module " + target + " is not a projection of the model (q_proj, k_proj, v_proj, o_proj, "
                  "gate_proj, up_proj, down_proj)");
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    for (int m = 0; m < 7; ++m) {
      const std::string& module = lora_module_names()[static_cast<size_t>(m)];
      if (std::find(config.target_modules.begin(), config.target_modules.end(), module) == config.target_modules.end())
        continue;
      const auto& weight = layers_[static_cast<size_t>(i)].projections[static_cast<size_t>(m)].weight;
      shapes.push_back({i, module, "model.layers." + std::to_string(i) + "." + module_group(m) + "." + module + ".weight",
                        weight.size(1), weight.size(0)});
    }
  }
  return attach(config, shapes);
}

LoraWeights& CausalLm::attach_lora(const formats::PeftAdapter& adapter) {
  std::vector<LoraShape> shapes;
  for (const auto& pair : adapter.pairs()) {
    const int m = lora_module_index(pair.module);
    if (pair.layer >= config_.num_hidden_layers)
      throw Error("LoRA: the adapter adapts " + pair.base_weight + " but the base model has " +
                  std::to_string(config_.num_hidden_layers) + " layers (an adapter for another base model?)");
    const auto& weight = layers_[static_cast<size_t>(pair.layer)].projections[static_cast<size_t>(m)].weight;
    const int64_t out = pair.b->shape[0], in = pair.a->shape[1];
    if (out != weight.size(0) || in != weight.size(1))
      throw Error("LoRA: the adapter's " + pair.base_weight + " is [" + std::to_string(out) + ", " + std::to_string(in) +
                  "] but the base weight is [" + std::to_string(weight.size(0)) + ", " + std::to_string(weight.size(1)) +
                  "] (an adapter for another base model?)");
    shapes.push_back({pair.layer, pair.module, pair.base_weight, in, out});
  }
  LoraWeights& lora = attach(adapter.config(), shapes);
  lora.load(adapter);
  return lora;
}

torch::Tensor CausalLm::rms_norm(const torch::Tensor& x, const torch::Tensor& weight) const {
  auto xf = x.to(torch::kFloat);
  auto normed = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + config_.rms_norm_eps);
  return weight * normed.to(x.scalar_type());
}

CausalLm::Rope CausalLm::rope(int64_t seq) const {
  const int64_t hd = config_.head_dim();
  auto f32 = torch::TensorOptions().dtype(torch::kFloat).device(device_);
  auto inv_freq = torch::pow(config_.rope_theta, -torch::arange(0, hd, 2, f32) / static_cast<double>(hd));
  auto angles = torch::outer(torch::arange(seq, f32), inv_freq);  // [seq, hd/2]
  auto full = torch::cat({angles, angles}, -1);
  return {full.cos().to(type_), full.sin().to(type_)};
}

torch::Tensor CausalLm::project(const torch::Tensor& x, int64_t layer, int module, bool train) const {
  const Linear& p = layers_[static_cast<size_t>(layer)].projections[static_cast<size_t>(module)];
  auto y = p.bias.defined() ? at::linear(x, p.weight, p.bias) : at::linear(x, p.weight);
  if (lora_ == nullptr) return y;
  const LoraModule* adapter = lora_->find(layer, module);
  if (adapter == nullptr) return y;
  const double dropout = lora_->config().lora_dropout;
  auto in = train && dropout > 0 ? torch::dropout(x, dropout, /*train=*/true) : x;
  // Dropout applies to the LoRA branch only; A and B are f32 masters used in
  // the compute type.
  return y + at::linear(at::linear(in, adapter->a.to(type_)), adapter->b.to(type_)) * lora_->config().scale();
}

torch::Tensor CausalLm::decoder_layer(const torch::Tensor& x, int64_t layer, const Rope& rope, bool train) const {
  const auto& c = config_;
  const Layer& w = layers_[static_cast<size_t>(layer)];
  const int64_t batch = x.size(0), seq = x.size(1), hd = c.head_dim();
  const int64_t heads = c.num_attention_heads, kv_heads = c.num_key_value_heads;

  auto h = rms_norm(x, w.input_norm);
  auto q = project(h, layer, 0, train).view({batch, seq, heads, hd});
  auto k = project(h, layer, 1, train).view({batch, seq, kv_heads, hd});
  auto v = project(h, layer, 2, train).view({batch, seq, kv_heads, hd}).transpose(1, 2);
  if (arch_->qk_norm) {  // each head normed on its own, before RoPE
    q = rms_norm(q, w.q_norm);
    k = rms_norm(k, w.k_norm);
  }
  q = q.transpose(1, 2);
  k = k.transpose(1, 2);
  q = q * rope.cos + rotate_half(q) * rope.sin;
  k = k * rope.cos + rotate_half(k) * rope.sin;
  if (heads != kv_heads) {  // grouped-query attention: each KV head serves heads / kv_heads query heads
    k = k.repeat_interleave(heads / kv_heads, 1);
    v = v.repeat_interleave(heads / kv_heads, 1);
  }
#if TORCH_VERSION_MAJOR >= 2
  // Fused (flash / memory-efficient) attention: no [seq, seq] score matrix in memory.
  auto attn = at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);
#else
  auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(hd));
  auto future = torch::ones({seq, seq}, torch::TensorOptions().dtype(torch::kBool).device(device_)).triu(1);
  scores = scores.masked_fill(future, -std::numeric_limits<double>::infinity());
  auto attn = torch::matmul(torch::softmax(scores.to(torch::kFloat), -1).to(type_), v);
#endif
  attn = attn.transpose(1, 2).reshape({batch, seq, heads * hd});
  auto after_attention = x + project(attn, layer, 3, train);

  auto m = rms_norm(after_attention, w.post_norm);
  auto gated = torch::silu(project(m, layer, 4, train)) * project(m, layer, 5, train);
  return after_attention + project(gated, layer, 6, train);
}

torch::Tensor CausalLm::hidden_states(const torch::Tensor& input_ids, ForwardPass pass) const {
  auto ids = input_ids.to(device_);
  auto x = at::embedding(embed_, ids);
  const Rope tables = rope(ids.size(1));
  const bool dropout = pass.train && lora_ != nullptr && lora_->config().lora_dropout > 0;
  for (int64_t i = 0; i < static_cast<int64_t>(layers_.size()); ++i) {
    if (pass.recompute && torch::GradMode::is_enabled()) {
      x = recompute_in_backward([this, i, tables, pass](const torch::Tensor& in) { return decoder_layer(in, i, tables, pass.train); },
                                x, dropout);
    } else {
      x = decoder_layer(x, i, tables, pass.train);
    }
  }
  return rms_norm(x, final_norm_);
}

torch::Tensor CausalLm::logits(const torch::Tensor& input_ids) const {
  torch::NoGradGuard no_grad;
  return at::linear(hidden_states(input_ids), output_weight()).to(torch::kFloat);
}

}  // namespace josi::train
