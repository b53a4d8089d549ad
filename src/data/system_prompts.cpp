#include "data/system_prompts.hpp"

#include "base/error.hpp"
#include "base/files.hpp"
#include "embedded/prompts.hpp"

namespace josi::data {

std::string_view default_system_prompt(PromptRole role) {
  std::string_view text;
  switch (role) {
    case PromptRole::interpreter: text = embedded::prompts::interpreter_system(); break;
    case PromptRole::explainer: text = embedded::prompts::explainer_system(); break;
    case PromptRole::explainer_sequential: text = embedded::prompts::explainer_sequential_system(); break;
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

std::string load_system_prompt(const std::filesystem::path& path) {
  std::string text = base::read_file(path);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) throw Error(path.string() + ": system prompt file is empty");
  return text;
}

}  // namespace josi::data
