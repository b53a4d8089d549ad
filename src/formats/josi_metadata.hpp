#pragma once
// Josi's own GGUF metadata: how the model was trained to be run. The
// release pipeline writes it (`josi export-gguf --preset`, `josi publish`);
// the runtime reads it (runtime/preset.hpp). Quantizing keeps it.
#include <filesystem>
#include <string>

#include "formats/gguf.hpp"

namespace josi::formats {

inline constexpr const char* kPresetKey = "josi.preset";               // "v5" | "v6"
inline constexpr const char* kPromptLayoutKey = "josi.prompt_layout";  // "v5" | "v6"

struct TrainedAs {
  std::string preset;         // "" when the file does not say
  std::string prompt_layout;  // "" when the file does not say
};

// What `file` says; throws josi::Error naming the file when a key is not a string.
TrainedAs trained_as(const GgufFile& file, const std::string& source);

// Writes the keys that are set.
void set_trained_as(GgufWriter& writer, const TrainedAs& trained_as);

// What the `josi train` run a model directory comes from was trained for:
// the "preset" of training_config.json in `dir` or its parent (a run's
// final/, lora_weights/, checkpoint-N/ and merged/ sit in the run
// directory); nothing when there is none. The v5 and v6 presets use the
// prompt layouts of their names.
TrainedAs trained_as_of_run(const std::filesystem::path& dir);

}  // namespace josi::formats
