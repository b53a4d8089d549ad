#pragma once
// The deterministic flow of one turn around the two models (docs/turn.md): interpreter -> post-processor -> router -> explainer (or the
// engine, or a clarifying question) -> clean-up and governor -> memory.
// Each model sits behind a RoleRunner, so the flow also runs without models:
// the boundary fuzzer (fuzz/turn_fuzz.cpp) feeds it arbitrary model text.
#include <functional>
#include <string>

#include "coach/prompt_builder.hpp"
#include "runtime/turn.hpp"

namespace josi::runtime {

// Builds the role's prompt from `request`, generates and returns what the
// model wrote; sets `user_turn` to the prompt's user turn. on_text (the
// explainer's only) receives the text as it is generated.
using RoleRunner =
    std::function<RoleRun(coach::PromptRequest request, const TextCallback& on_text, std::string& user_turn)>;

// Runs `input` through the flow, its prompts in `layout`; leaves seed,
// constrained, preset, layout and total_ms to the caller.
TurnResult run_turn_flow(const TurnInput& input, const RoleRunner& interpreter, const RoleRunner& explainer,
                         const TextCallback& on_text, coach::PromptLayout layout = coach::PromptLayout::v5);

}  // namespace josi::runtime
