#pragma once
// The --adapter option of the commands that run a model (logits, generate,
// bench, sanity, eval): a GGUF LoRA adapter applied at run time.
#include <memory>
#include <string>

#include "infer/adapter.hpp"

namespace josi::cli {

inline constexpr const char* kAdapterHelp = "A GGUF LoRA adapter applied on the model at run time";

// The adapter at `path` opened on `model`; null for an empty path.
inline std::unique_ptr<infer::Adapter> open_adapter(const std::string& path, const infer::Model& model) {
  if (path.empty()) return nullptr;
  return std::make_unique<infer::Adapter>(path, model);
}

}  // namespace josi::cli
