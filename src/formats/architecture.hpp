#pragma once
// The decoder architectures Josi reads, trains, converts and runs, and the
// few things that set them apart. Every step (the config reader, init-base,
// the exporter, the engine, the trainer) asks this table rather than
// testing names, so another architecture is one more row.
#include <string>
#include <string_view>

namespace josi::formats {

struct Architecture {
  std::string_view hf_class;    // config.json architectures[0], e.g. "Qwen3ForCausalLM"
  std::string_view model_type;  // config.json model_type, e.g. "qwen3"
  std::string_view gguf_name;   // GGUF general.architecture, e.g. "qwen3"
  bool qkv_bias;    // the q/k/v projections carry biases (Qwen2)
  bool qk_norm;     // a per-head RMSNorm on q and on k before RoPE (Qwen3)
  bool permute_qk;  // GGUF keeps Q/K rows in interleaved-RoPE order (llama)
};

// By config.json's class name, else by its model_type; nullptr for neither.
const Architecture* architecture_from_hf(std::string_view hf_class, std::string_view model_type = {});
// By GGUF general.architecture; nullptr for an unknown name.
const Architecture* architecture_from_gguf(std::string_view gguf_name);

// "Qwen2ForCausalLM, Qwen3ForCausalLM or LlamaForCausalLM" (or the GGUF names),
// for error messages.
std::string hf_architecture_names();
std::string gguf_architecture_names();

}  // namespace josi::formats
