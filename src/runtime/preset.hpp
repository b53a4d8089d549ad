#pragma once
// Presets: how a model is run, as it was trained (docs/turn.md "Presets").
//   v5: the seed's two Qwen2.5 models: 0.45 / top-p 0.9 / 150 tokens for
//       both roles, context 2048, the v5 prompt layout.
//   v6: the users' one Qwen3 model for both roles: interpreter 0.3 / 200
//       tokens, coach 0.5 / 200 tokens, or 400 for a complex question
//       (is_complex_question), top-p 0.9, context 4096 (the interpreter's
//       2048: see interpreter_n_ctx), the v6 layout.
// The release pipeline writes a model's preset into its GGUF metadata
// (formats/josi_metadata.hpp), so the runtime needs no one to name it.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coach/prompt_builder.hpp"
#include "json/json.hpp"

namespace josi::runtime {

struct Preset {
  std::string name;
  coach::PromptLayout layout = coach::PromptLayout::v5;
  int64_t n_ctx = 2048;
  // The interpreter's context when it needs less than n_ctx (0: n_ctx). On
  // the users' v7 validation split an interpreter prompt and its 200-token
  // answer take 1,366..1,467 tokens (the coach's, with cards and 400
  // tokens: up to 2,689): 2048 holds them with 40% to spare, and a longer
  // history is trimmed oldest first, so a phone never keeps a second
  // 4096-token cache the interpreter cannot fill.
  int64_t interpreter_n_ctx = 0;
  int64_t role_n_ctx(bool interpreter) const { return interpreter && interpreter_n_ctx ? interpreter_n_ctx : n_ctx; }
  // Sampling keys (as a turn's options take them) the preset sets for each
  // role over Josi's defaults, which are v5's.
  json::Json interpreter = json::Json::object();
  json::Json explainer = json::Json::object();
  // The coach's answer length for a complex question; 0: no such rule.
  int32_t complex_max_tokens = 0;
};

// "v5" or "v6"; throws josi::Error naming the known presets.
const Preset& preset_named(std::string_view name, const std::string& where = "preset");
std::vector<std::string> preset_names();

// The coach's rule for a long answer: "explain" always; "answer_question"
// when its question (or else free_text), lower-cased, contains one of the
// English or Dutch words that ask why, what to do, about pain or injury, or
// about the plan.
bool is_complex_question(const json::Json& request);

}  // namespace josi::runtime
