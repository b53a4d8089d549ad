#pragma once
// The seed's release checks (docs/architecture.md "The release checks"): five interpreter prompts whose
// request must have the right action and field, two explainer prompts whose
// answer must be plain text. They run through the runtime's path, the one
// the app uses (the role's ChatML prompt, stop tokens, the interpreter's
// output constraint), on a GGUF file or a Hugging Face directory, so the
// file that ships is the one checked.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "data/validate.hpp"
#include "json/json.hpp"
#include "runtime/turn.hpp"

namespace josi::check {

struct SanityCheck {
  std::string user_turn;  // the prompt, as the seed writes it
  std::string expected;   // what passes, in words
};

// The seed's checks for a mode, in its order.
const std::vector<SanityCheck>& sanity_checks(data::DatasetMode mode);

struct SanityResult {
  std::string prompt, expected;
  std::string got;     // what the output was, in the check's terms
  std::string output;  // what the model wrote, without a think block (coach/think_block.hpp)
  std::string thinking;  // the think block's contents; empty when there was none
  bool pass = false;
};

// The verdict on one output: for the interpreter, the request the model
// wrote (parsed as the post-processor parses, before its fixups, which would
// hide a model's mistakes); for the explainer, its text as written. Both
// read the output as the athlete would see it: think blocks removed.
SanityResult judge(data::DatasetMode mode, size_t check, const std::string& output);

struct SanityOptions {
  std::filesystem::path model;    // .gguf or Hugging Face directory
  std::filesystem::path adapter;  // a GGUF LoRA adapter applied on model at run time; empty: none
  data::DatasetMode mode = data::DatasetMode::interpreter;
  std::optional<std::string> system_prompt;  // unset: Josi's own for the mode
  bool constrain = true;
  runtime::RoleSettings settings = runtime::interpreter_preset();  // the seed's: 0.45, top-p 0.9, 150 tokens
  uint64_t seed = 0;  // check i samples with seed + i
  size_t threads = 0;
};

struct SanityReport {
  std::string model, mode;
  size_t prefix_tokens = 0;  // the system-prompt prefix every check starts with
  std::vector<SanityResult> results;
  int passed() const;
  bool ok() const { return passed() == static_cast<int>(results.size()); }
  std::string score() const;  // "5/5"
};

// Throws josi::Error for a model that cannot be opened (one line naming it).
SanityReport run_sanity(const SanityOptions& options);

json::Json to_json(const SanityReport& report);
std::string to_table(const SanityReport& report);

}  // namespace josi::check
