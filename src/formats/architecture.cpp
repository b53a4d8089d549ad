#include "formats/architecture.hpp"

#include <array>

namespace josi::formats {
namespace {

constexpr std::array<Architecture, 3> kArchitectures = {{
    {"Qwen2ForCausalLM", "qwen2", "qwen2", /*qkv_bias=*/true, /*qk_norm=*/false, /*permute_qk=*/false},
    {"Qwen3ForCausalLM", "qwen3", "qwen3", /*qkv_bias=*/false, /*qk_norm=*/true, /*permute_qk=*/false},
    {"LlamaForCausalLM", "llama", "llama", /*qkv_bias=*/false, /*qk_norm=*/false, /*permute_qk=*/true},
}};

template <typename Name>
std::string names(Name name) {
  std::string out;
  for (size_t i = 0; i < kArchitectures.size(); ++i) {
    out += i == 0 ? "" : i + 1 == kArchitectures.size() ? " or " : ", ";
    out += name(kArchitectures[i]);
  }
  return out;
}

}  // namespace

const Architecture* architecture_from_hf(std::string_view hf_class, std::string_view model_type) {
  for (const auto& a : kArchitectures)
    if (a.hf_class == hf_class) return &a;
  for (const auto& a : kArchitectures)
    if (!model_type.empty() && a.model_type == model_type) return &a;
  return nullptr;
}

const Architecture* architecture_from_gguf(std::string_view gguf_name) {
  for (const auto& a : kArchitectures)
    if (a.gguf_name == gguf_name) return &a;
  return nullptr;
}

std::string hf_architecture_names() {
  return names([](const Architecture& a) { return a.hf_class; });
}

std::string gguf_architecture_names() {
  return names([](const Architecture& a) { return a.gguf_name; });
}

}  // namespace josi::formats
