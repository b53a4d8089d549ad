#pragma once
// The system prompts of the two models. The project ships its own (built
// into the binary); users point at theirs with a file.
#include <filesystem>
#include <string>
#include <string_view>

namespace josi::data {

enum class PromptRole { interpreter, explainer, explainer_sequential };

// The project's own prompt for `role`.
std::string_view default_system_prompt(PromptRole role);

// A prompt file's text without trailing line breaks: editors add one, and the
// models were trained on prompts that end with the last sentence.
std::string load_system_prompt(const std::filesystem::path& path);

}  // namespace josi::data
