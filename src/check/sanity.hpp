#pragma once
// The sanity checks (docs/release_checks.md): for v5 models the seed's five
// interpreter prompts whose request must have the right action and field and
// two explainer prompts whose answer must be plain text; for v6 models the
// users' v6 set (I1-I6 and C1-C3, then the 16 + 6 tests). They run through the runtime's path, the one
// the app uses (the role's ChatML prompt, stop tokens, the interpreter's
// output constraint), on a GGUF file or a Hugging Face directory, so the
// file that ships is the one checked.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "data/validate.hpp"
#include "infer/kv_cache.hpp"
#include "json/json.hpp"
#include "runtime/turn.hpp"

namespace josi::check {

// One check: a user turn and the rule its output must meet.
struct SanityCheck {
  std::string name;       // "I1", "T12", "C2": the set's own names
  std::string group;      // "sanity" (the training run's checks) | "tests" (the v6 test set)
  std::string user_turn;  // the prompt, as the set writes it
  std::string expected;   // what passes, in words
  // Interpreter rules: the request's action is one of `actions`, with
  // `sport` and `replan_type` when set, and a "missing" entry containing
  // `missing_has`; `request_shape` adds the v6 test set's request rules
  // (action and free_text, a known action, create_workout's sport, replan's
  // replan_type, clarify's missing and clarify_message, no unknown key).
  std::vector<std::string> actions;
  std::string sport, replan_type, missing_has;
  bool request_shape = false;
  // Coach rules: plain text over 20 characters without a '{' (the sanity
  // checks), or (`text_at_least_20`) at least 20 characters that are not a
  // JSON object (the test set).
  bool text_at_least_20 = false;
};

// The checks of a mode under a preset, in the set's order: v5 is the seed's
// 5 interpreter and 2 explainer checks; v6 the users' I1-I6 and C1-C3, then
// their test set's 16 interpreter and 6 coach tests (English and Dutch).
const std::vector<SanityCheck>& sanity_checks(data::DatasetMode mode, const std::string& preset = "v5");

struct SanityResult {
  std::string name, group;
  std::string prompt, expected;
  std::string got;       // what the output was, in the check's terms
  std::string output;    // what the model wrote, without a think block (coach/think_block.hpp)
  std::string thinking;  // the think block's contents; empty when there was none
  bool pass = false;
};

// The verdict on one output: for the interpreter, the request the model
// wrote (parsed as the post-processor parses, before its fixups, which would
// hide a model's mistakes); for the coach, its text as written. Both read
// the output as the athlete would see it: think blocks removed.
SanityResult judge(const SanityCheck& check, const std::string& output);
// The v5 check `check` of `mode`.
SanityResult judge(data::DatasetMode mode, size_t check, const std::string& output);

struct SanityOptions {
  std::filesystem::path model;    // .gguf or Hugging Face directory
  std::filesystem::path adapter;  // a GGUF LoRA adapter applied on model at run time; empty: none
  data::DatasetMode mode = data::DatasetMode::interpreter;
  std::optional<std::string> system_prompt;  // unset: Josi's own for the mode
  bool constrain = true;
  // "v5": the seed's checks, settings (0.45, top-p 0.9, 150 tokens) and
  // context (2048); "v6": the v6 set under the v6 preset's settings for the
  // role (interpreter 0.3, coach 0.5, 200 tokens) and context (4096).
  std::string preset = "v5";
  bool greedy = false;  // the most likely token instead of the preset's sampling
  uint64_t seed = 0;  // check i samples with seed + i
  size_t threads = 0;
  infer::KvType kv_type = infer::KvType::f16;
};

struct SanityReport {
  std::string model, mode, preset;
  size_t prefix_tokens = 0;  // the system-prompt prefix every check starts with
  std::vector<SanityResult> results;
  int passed() const;
  bool ok() const { return passed() == static_cast<int>(results.size()); }
  std::string score() const;  // "5/5"
  std::string score(const std::string& group) const;  // "6/6" for the group's checks
  std::vector<std::string> groups() const;            // in the order the checks ran
};

// Throws josi::Error for a model that cannot be opened (one line naming it).
SanityReport run_sanity(const SanityOptions& options);

json::Json to_json(const SanityReport& report);
std::string to_table(const SanityReport& report);

}  // namespace josi::check
