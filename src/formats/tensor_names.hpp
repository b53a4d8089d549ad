#pragma once
// The tensors of a Qwen2, Qwen3 or llama model under their two names:
// GGUF's ("blk.3.attn_q.weight", llama.cpp's names) and the Hugging Face
// checkpoint's ("model.layers.3.self_attn.q_proj.weight"). The exporter writes one from
// the other; the engine reads either.
#include <optional>
#include <string>
#include <string_view>

namespace josi::formats {

// The Hugging Face name of a GGUF tensor name; nullopt for a name that is not
// one of the model's tensors.
std::optional<std::string> hf_tensor_name(std::string_view gguf_name);

}  // namespace josi::formats
