#include "formats/tensor_names.hpp"

#include <array>
#include <charconv>
#include <utility>

namespace josi::formats {
namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kGlobal = {{
    {"token_embd.weight", "model.embed_tokens.weight"},
    {"output_norm.weight", "model.norm.weight"},
    {"output.weight", "lm_head.weight"},
}};

constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kLayer = {{
    {"attn_norm.weight", "input_layernorm.weight"},
    {"attn_q.weight", "self_attn.q_proj.weight"},
    {"attn_k.weight", "self_attn.k_proj.weight"},
    {"attn_v.weight", "self_attn.v_proj.weight"},
    {"attn_q.bias", "self_attn.q_proj.bias"},
    {"attn_k.bias", "self_attn.k_proj.bias"},
    {"attn_v.bias", "self_attn.v_proj.bias"},
    {"attn_q_norm.weight", "self_attn.q_norm.weight"},
    {"attn_k_norm.weight", "self_attn.k_norm.weight"},
    {"attn_output.weight", "self_attn.o_proj.weight"},
    {"ffn_norm.weight", "post_attention_layernorm.weight"},
    {"ffn_gate.weight", "mlp.gate_proj.weight"},
    {"ffn_up.weight", "mlp.up_proj.weight"},
    {"ffn_down.weight", "mlp.down_proj.weight"},
}};

}  // namespace

std::optional<std::string> hf_tensor_name(std::string_view name) {
  for (const auto& [gguf, hf] : kGlobal)
    if (name == gguf) return std::string(hf);
  constexpr std::string_view kBlock = "blk.";
  if (name.substr(0, kBlock.size()) != kBlock) return std::nullopt;
  const auto dot = name.find('.', kBlock.size());
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string_view index = name.substr(kBlock.size(), dot - kBlock.size());
  unsigned layer = 0;
  if (index.empty() || std::from_chars(index.data(), index.data() + index.size(), layer).ptr != index.data() + index.size())
    return std::nullopt;
  const std::string_view rest = name.substr(dot + 1);
  for (const auto& [gguf, hf] : kLayer)
    if (rest == gguf) return "model.layers." + std::string(index) + "." + std::string(hf);
  return std::nullopt;
}

}  // namespace josi::formats
