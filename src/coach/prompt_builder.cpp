#include "coach/prompt_builder.hpp"

#include <cmath>
#include <cstdio>

#include "base/error.hpp"
#include "coach/router.hpp"
#include "json/python_dumps.hpp"
#include "json/schema.hpp"
#include "knowledge/card_injection.hpp"

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

std::string_view layout_name(PromptLayout layout) { return layout == PromptLayout::v6 ? "v6" : "v5"; }

std::optional<PromptLayout> layout_from_name(std::string_view name) {
  if (name == "v5") return PromptLayout::v5;
  if (name == "v6") return PromptLayout::v6;
  return std::nullopt;
}

namespace {

std::string v5_context_block(const json::Json& context) {
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

const json::Json& member_or_empty(const json::Json& object, const char* key) {
  static const json::Json empty = json::Json::object();
  auto it = object.find(key);
  return it != object.end() && it->is_object() ? *it : empty;
}

// The v6 engine-grounding block: the lines the v6 training data was
// generated with, in its order, each only when the context has its value
// (a confidence of 0 and the data tier "None" have none).
std::string v6_context_block(const json::Json& context) {
  const auto& readiness = context.at("readiness");
  const auto& grounding = member_or_empty(context, "grounding");
  const auto& profile = member_or_empty(context, "profile_summary");
  const bool has_session = context.value("has_session_context", false) && context.contains("planned_session");
  const auto& session = has_session ? context.at("planned_session") : member_or_empty(context, "planned_session");
  std::string out = "CONTEXT:";
  const auto line = [&](const char* name, const std::string& value) {
    if (!value.empty()) out += std::string("\n- ") + name + ": " + value;
  };
  line("Readiness", text_of(readiness, "level") + " (" + text_of(readiness, "state") + ")");
  if (const double c = readiness.value("confidence", 0.0); c > 0) {
    char pct[16];
    std::snprintf(pct, sizeof(pct), "%.0f%%", c * 100.0);
    line("Readiness confidence", pct);
  }
  if (text_of(readiness, "data_tier") != "None") line("Data tier", text_of(readiness, "data_tier"));
  line("Max zone allowed", text_of(grounding, "max_zone_allowed"));
  line("Zone cap reason", text_of(grounding, "zone_cap_reason"));
  if (has_session) line("Session", text_of(session, "target_zone") + " \"" + text_of(session, "structure_label") + "\"");
  if (grounding.contains("zone_load_factor"))
    line("Zone load factor", json::python_float_repr(grounding.at("zone_load_factor").get<double>()));
  line("Sport", text_of(profile, "sport"));
  line("Level", text_of(profile, "level"));
  if (grounding.contains("age")) line("Age", grounding.at("age").dump());
  line("Phase", !text_of(grounding, "phase").empty() ? text_of(grounding, "phase") : text_of(session, "phase"));
  line("Meso position", text_of(grounding, "meso_position"));
  const json::Json& meso_day = grounding.contains("meso_day") ? grounding.at("meso_day") : session.value("meso_day", json::Json());
  if (!meso_day.is_null()) line("Meso day", meso_day.dump());
  line("Weekly load", text_of(grounding, "weekly_load"));
  if (grounding.contains("extra_lines"))
    for (const auto& extra : grounding.at("extra_lines")) out += "\n" + extra.get<std::string>();
  return out;
}

}  // namespace

std::string context_block(const json::Json& context, PromptLayout layout) {
  return layout == PromptLayout::v6 ? v6_context_block(context) : v5_context_block(context);
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

std::vector<text::ChatMessage> history_turns(const std::vector<HistoryTurn>& history, size_t start) {
  std::vector<text::ChatMessage> turns;
  for (size_t i = start; i < history.size(); ++i) {
    const HistoryTurn& h = history[i];
    turns.push_back({h.role, h.role == "user" && !h.prompt.empty() ? h.prompt : h.message});
  }
  return turns;
}

namespace {

// The user turn: the message and its blocks; v5 carries history in a
// HISTORY block, v6 never does (the coach's history is chat turns).
std::string user_turn(const PromptRequest& r, const std::string& memory_text, const std::vector<HistoryTurn>& history,
                      size_t turns) {
  std::string out = r.message + "\n\n" + context_block(r.context, r.layout);
  const std::string history_text = r.layout == PromptLayout::v5 ? history_block(history, turns) : "";
  for (const std::string& block : {profile_block(r.context), memory_text, history_text})
    if (!block.empty()) out += "\n\n" + block;
  return r.interpreter ? explainer_user_turn(out, *r.interpreter) : out;
}

// The history entries a prompt may keep, longest first: every entry, then
// from each later user entry on (whole turns go, oldest first), then none.
std::vector<size_t> history_starts(const PromptRequest& r, const std::vector<HistoryTurn>& history) {
  const bool chat_turns = r.layout == PromptLayout::v6;
  if (chat_turns && !r.interpreter) return {history.size()};  // the interpreter gets no history
  std::vector<size_t> starts;
  for (size_t s = 0; s <= history.size(); ++s)
    if (!chat_turns || s == 0 || s == history.size() || history[s].role == "user") starts.push_back(s);
  return starts;
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
  auto attempt = [&](bool with_memory, size_t start, size_t cards) {
    const size_t turns = history.size() - start;
    prompt.user = user_turn(request, with_memory ? memory_text : "", history, turns);
    prompt.cards.clear();
    if (request.knowledge && cards > 0) {
      auto injected = knowledge::inject_cards(prompt.user, *request.knowledge, cards);
      prompt.user = std::move(injected.user_turn);
      prompt.cards = std::move(injected.cards);
    }
    prompt.messages = {{"system", request.system}};
    if (request.layout == PromptLayout::v6) {
      const auto earlier = history_turns(history, start);
      prompt.messages.insert(prompt.messages.end(), earlier.begin(), earlier.end());
    }
    prompt.messages.push_back({"user", prompt.user});
    prompt.chatml = text::render_chatml(prompt.messages, true);
    prompt.tokens = count_tokens(prompt.messages);
    prompt.history_turns = turns;
    prompt.memory_included = with_memory && !memory_text.empty();
    return prompt.tokens <= limit;
  };
  // History goes first (oldest turns first), then cards, then memory.
  const size_t cards = request.knowledge ? request.max_cards : 0;
  for (size_t start : history_starts(request, history))
    if (attempt(true, start, cards)) return prompt;
  for (size_t fewer = cards; fewer-- > 0;)
    if (attempt(true, history.size(), fewer)) return prompt;
  if (attempt(false, history.size(), 0)) return prompt;
  throw Error("prompt does not fit: the system prompt and message need " + std::to_string(prompt.tokens) +
              " tokens, the budget is " + std::to_string(limit) + " (context " +
              std::to_string(budget.context_tokens) + " minus " + std::to_string(budget.max_new_tokens) +
              " for the answer)");
}

}  // namespace josi::coach
