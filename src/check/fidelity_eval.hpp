#pragma once
// `josi eval --criteria`: the knowledge-fidelity cases (check/fidelity_criteria.hpp)
// run as athlete turns through the real coach on the model that would ship
// (a GGUF, a merged directory, or a base with its adapter), under the v6
// preset and with the coaching cards the model ships with; or, with
// --replay, answers written elsewhere scored the same way.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include "check/fidelity_criteria.hpp"
#include "infer/kv_cache.hpp"
#include "json/json.hpp"

namespace josi::check {

// A case's CONTEXT lines ("- Sport: running\n- Readiness: green (Productive)")
// as the ChatContext the app would send for them: readiness level (amber is
// Yellow) and state; sport and level in the profile; age, max zone
// allowed, phase, meso position, zone cap reason and weekly load in the
// grounding facts (when valid there); any other line ("- Session: Z2
// Continuous 45min") kept as it is among the grounding's extra lines. Throws josi::Error naming `where` for a line that
// is not "- Name: value".
json::Json context_of_case_lines(const std::string& lines, const std::string& where);

struct FidelityEvalOptions {
  std::filesystem::path criteria;
  std::filesystem::path model;
  std::filesystem::path adapter;  // a GGUF LoRA adapter on model, for both roles; empty: none
  // The coach's own file and adapter when it is not the interpreter's (a
  // release of two files); empty: the model (and adapter) above.
  std::filesystem::path explainer_model, explainer_adapter;
  std::optional<std::filesystem::path> knowledge;  // the cards the model ships with
  std::string preset = "v6";
  uint64_t seed = 0;  // case i runs with seed + i
  size_t threads = 0;
  infer::KvType kv_type = infer::KvType::f16;
  bool progress = false;  // a line per case on standard error
};

// Each case as one turn. A turn that does not reach the coach (the
// interpreter sent it to the engine or asked back) has no coach answer: the
// case fails for that, and its rules are scored on the reply the athlete
// got ("" for the engine).
FidelityReport run_fidelity_eval(const FidelityEvalOptions& options);

// The answers of a --replay file, scored.
FidelityReport score_replayed_answers(const std::filesystem::path& criteria, const std::filesystem::path& replay);

}  // namespace josi::check
