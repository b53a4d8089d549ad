#include "runtime/turn_flow.hpp"

#include "coach/explainer_output.hpp"
#include "coach/memory.hpp"
#include "coach/postprocessor.hpp"
#include "coach/router.hpp"
#include "knowledge/card_injection.hpp"
#include "scoring/grounding.hpp"

namespace josi::runtime {

namespace {

// Said when the interpreter's output cannot be made a valid request: the
// engine never gets an unvalidated one.
const char* const kFallbackClarify =
    "Sorry, I didn't quite catch that. Would you like a workout, a change to your plan, or an answer to a question?";
// Said when the explainer's text is empty after clean-up.
const char* const kFallbackExplanation = "Sorry, I couldn't put an answer together just now. Could you ask that another way?";

}  // namespace

TurnResult run_turn_flow(const TurnInput& input, const RoleRunner& interpreter, const RoleRunner& explainer,
                         const TextCallback& on_text, coach::PromptLayout layout) {
  TurnResult r;
  coach::PromptRequest request;
  request.context = input.context;
  request.message = input.message;
  request.layout = layout;
  request.context_validated = true;  // parse_turn checked it
  std::string user_turn, explainer_turn;
  r.interpreter = interpreter(request, {}, user_turn);

  // The post-processor reads what the athlete and the app wrote, not the cards.
  const auto processed = coach::postprocess(r.interpreter.text, knowledge::without_cards(user_turn));
  r.interpreter_valid = processed.valid;
  r.interpreter_errors = processed.errors;
  if (!processed.valid) {
    r.route = coach::route_name(coach::Route::clarify);
    r.action = "clarify";
    r.reply = kFallbackClarify;
  } else {
    const auto decision = coach::route_request(*processed.request);
    r.route = coach::route_name(decision.route);
    r.action = decision.action;
    r.request = *processed.request;
    if (decision.route == coach::Route::clarify) {
      r.reply = decision.clarify_message;
    } else if (decision.route == coach::Route::explainer) {
      request.interpreter = *processed.request;
      r.explainer = explainer(request, on_text, explainer_turn);
      const auto finished = coach::finish_explainer_text(r.explainer->text);
      r.reply = finished.text.empty() ? std::string(kFallbackExplanation) : finished.text;
      r.jargon = finished.jargon;
      r.grounding = scoring::check_grounding(explainer_turn, *r.reply);
    }
  }
  if (r.reply && !r.explainer && on_text) on_text(*r.reply);

  // The turn joins the conversation: in the v6 layout the coach will see
  // its own user turn again, as it saw it now.
  const std::string today = input.context.value("today", "");
  json::Json said = {{"role", "user"}, {"message", input.message}, {"ts", today}};
  if (layout == coach::PromptLayout::v6 && r.explainer) said["prompt"] = explainer_turn;
  r.history.push_back(said);
  if (r.reply) r.history.push_back({{"role", "assistant"}, {"message", *r.reply}, {"ts", today}});

  // What the athlete said this turn adds to what the coach remembers.
  coach::AthleteMemory memory;
  if (input.context.contains("athlete_memory")) memory = coach::memory_from_json(input.context.at("athlete_memory"));
  const auto facts = coach::extract_facts({{"user", input.message, ""}});
  r.memory = coach::to_json(coach::merge_memory(memory, facts, {}, {}));
  return r;
}

}  // namespace josi::runtime
