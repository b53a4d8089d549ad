#include "coach/prompt_builder.hpp"

#include <cmath>

#include "base/error.hpp"
#include "coach/router.hpp"
#include "json/python_dumps.hpp"
#include "json/schema.hpp"

namespace josi::coach {

size_t approximate_token_count(const std::vector<text::ChatMessage>& messages) {
  return (text::render_chatml(messages, true).size() + 3) / 4;
}

namespace {

std::string text_of(const json::Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "30" for 30.0, "42.5" for 42.5: whole durations print as integers.
std::string duration_text(const json::Json& value) {
  if (value.is_number_integer() || value.is_number_unsigned()) return value.dump();
  double d = value.get<double>();
  if (d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
  return json::python_float_repr(d);
}

}  // namespace

std::string context_block(const json::Json& context) {
  std::string out = "CONTEXT:";
  const auto& readiness = context.at("readiness");
  out += "\n- Readiness: " + text_of(readiness, "level") + " (" + text_of(readiness, "state") + ")";
  if (context.value("has_session_context", false) && context.contains("planned_session")) {
    const auto& s = context.at("planned_session");
    out += "\n- Session: " + text_of(s, "target_zone") + " " + duration_text(s.at("target_duration_min")) + "min \"" +
           text_of(s, "structure_label") + "\"";
    if (!text_of(s, "phase").empty()) out += " (" + text_of(s, "phase") + " phase)";
  }
  if (context.contains("profile_summary")) {
    const auto& p = context.at("profile_summary");
    if (!text_of(p, "sport").empty()) out += "\n- Sport: " + text_of(p, "sport");
    if (!text_of(p, "level").empty()) out += "\n- Level: " + text_of(p, "level");
  }
  return out;
}

std::string profile_block(const json::Json& context) {
  if (!context.contains("profile_summary")) return "";
  const auto& p = context.at("profile_summary");
  std::string lines;
  if (!text_of(p, "name").empty()) lines += "\n  Name: " + text_of(p, "name");
  if (!text_of(p, "goal_type").empty()) lines += "\n  Goal: " + text_of(p, "goal_type");
  if (!text_of(p, "current_phase").empty()) lines += "\n  Phase: " + text_of(p, "current_phase");
  return lines.empty() ? "" : "PROFILE:" + lines;
}

std::string history_block(const std::vector<HistoryTurn>& history, size_t turns) {
  if (turns == 0 || history.empty()) return "";
  std::string out = "HISTORY:";
  for (size_t i = history.size() - std::min(turns, history.size()); i < history.size(); ++i)
    out += "\n  [" + history[i].role + "]: " + history[i].message;
  return out;
}

namespace {

std::string user_turn(const PromptRequest& r, const std::string& memory_text, const std::vector<HistoryTurn>& history,
                      size_t turns) {
  std::string out = r.message + "\n\n" + context_block(r.context);
  for (const std::string& block : {profile_block(r.context), memory_text, history_block(history, turns)})
    if (!block.empty()) out += "\n\n" + block;
  return r.interpreter ? explainer_user_turn(out, *r.interpreter) : out;
}

}  // namespace

Prompt build_prompt(const PromptRequest& request, const TokenCounter& count_tokens, const PromptBudget& budget) {
  const auto errors =
      request.context_validated ? std::vector<std::string>{} : json::Schema::chat_context().validate(request.context);
  if (!errors.empty()) {
    std::string line = "ChatContext " + errors.front();
    if (errors.size() > 1) line += " (+" + std::to_string(errors.size() - 1) + " more)";
    throw Error(line);
  }
  if (budget.max_new_tokens >= budget.context_tokens) throw Error("prompt budget: max new tokens must be below the context size");
  const size_t limit = budget.context_tokens - budget.max_new_tokens;

  AthleteMemory memory = request.memory ? *request.memory
                         : request.context.contains("athlete_memory")
                             ? memory_from_json(request.context.at("athlete_memory"))
                             : AthleteMemory{};
  const std::string memory_text = serialize_memory(memory);
  const auto history = history_from_json(request.context.at("history"));

  Prompt prompt;
  auto attempt = [&](bool with_memory, size_t turns) {
    prompt.user = user_turn(request, with_memory ? memory_text : "", history, turns);
    const std::vector<text::ChatMessage> messages = {{"system", request.system}, {"user", prompt.user}};
    prompt.chatml = text::render_chatml(messages, true);
    prompt.tokens = count_tokens(messages);
    prompt.history_turns = turns;
    prompt.memory_included = with_memory && !memory_text.empty();
    return prompt.tokens <= limit;
  };
  // History goes first (oldest turns first), then memory.
  for (size_t turns = history.size() + 1; turns-- > 0;)
    if (attempt(true, turns)) return prompt;
  if (attempt(false, 0)) return prompt;
  throw Error("prompt does not fit: the system prompt and message need " + std::to_string(prompt.tokens) +
              " tokens, the budget is " + std::to_string(limit) + " (context " +
              std::to_string(budget.context_tokens) + " minus " + std::to_string(budget.max_new_tokens) +
              " for the answer)");
}

}  // namespace josi::coach
