#include "knowledge/card_injection.hpp"

#include <map>

#include "base/error.hpp"
#include "base/strings.hpp"
#include "json/json.hpp"
#include "knowledge/python_text.hpp"

namespace josi::knowledge {

std::string knowledge_block(const std::vector<SelectedCard>& cards) {
  if (cards.empty()) return "";
  std::string block = "[KNOWLEDGE]";
  for (const auto& c : cards) block += "\n\n" + c.entry->content;
  return block;
}

namespace {

// Where `label` starts its first match of `label\s*\n` (a heading on its own
// line's end), or npos.
size_t heading(std::string_view text, std::string_view label) {
  for (size_t at = text.find(label); at != std::string_view::npos; at = text.find(label, at + 1)) {
    for (size_t i = at + label.size(); i < text.size();) {
      const auto cp = code_point_at(text, i);
      if (cp.value == '\n') return at;
      if (!is_space(cp.value)) break;
      i += cp.bytes;
    }
  }
  return std::string_view::npos;
}

}  // namespace

TurnParts split_user_turn(std::string_view turn) {
  TurnParts p;
  std::string_view before = turn;
  if (const size_t i = turn.find("[INTERPRETER]"); i != std::string_view::npos) {
    p.interpreter = turn.substr(i);
    before = turn.substr(0, i);
  }
  before = rstrip(before);
  std::string_view rest = before;
  if (const size_t h = heading(before, "HISTORY:"); h != std::string_view::npos) {
    p.history = rstrip(before.substr(h));
    rest = before.substr(0, h);
  }
  if (const size_t c = heading(rest, "CONTEXT:"); c != std::string_view::npos) {
    p.context = rstrip(rest.substr(c));
    rest = rest.substr(0, c);
  }
  p.athlete = rstrip(rest);
  return p;
}

std::string interpreter_action(std::string_view interpreter) {
  std::string text(interpreter);
  for (size_t at = text.find("[INTERPRETER]"); at != std::string::npos; at = text.find("[INTERPRETER]", at)) {
    size_t end = at + 13;
    while (end < text.size()) {
      const auto cp = code_point_at(text, end);
      if (!is_space(cp.value)) break;
      end += cp.bytes;
    }
    text.erase(at, end - at);
  }
  json::Json request;
  try {
    request = json::parse(strip(text), "[INTERPRETER]");
  } catch (const Error&) {
    return "";
  }
  if (!request.is_object()) return "";
  const auto action = request.find("action");
  return action != request.end() && action->is_string() ? action->get<std::string>() : "";
}

std::string context_sport(std::string_view context) {
  const std::string lowered = base::to_lower_ascii(context);  // (?i) on the ASCII label
  for (size_t at = lowered.find("sport:"); at != std::string::npos; at = lowered.find("sport:", at + 1)) {
    size_t i = at + 6;
    while (i < context.size()) {
      const auto cp = code_point_at(context, i);
      if (!is_space(cp.value)) break;
      i += cp.bytes;
    }
    size_t end = i;
    while (end < context.size()) {
      const auto cp = code_point_at(context, end);
      if (!is_word_char(cp.value)) break;
      end += cp.bytes;
    }
    if (end == i) continue;
    const std::string word = lower_for_keywords(context.substr(i, end - i));
    static const std::map<std::string, std::string> kSports = {
        {"running", "run"}, {"run", "run"},     {"hardlopen", "run"}, {"cycling", "bike"},  {"bike", "bike"},
        {"fietsen", "bike"}, {"skiing", "ski"}, {"ski", "ski"},       {"skating", "skate"}, {"skate", "skate"},
        {"strength", "strength"}};
    const auto mapped = kSports.find(word);
    return mapped != kSports.end() ? mapped->second : word;
  }
  return "";
}

Injection inject_cards(std::string_view user_turn, const KnowledgeBase& knowledge, size_t max_cards) {
  const TurnParts p = split_user_turn(user_turn);
  Injection out;
  out.cards = select_cards(knowledge, p.athlete, interpreter_action(p.interpreter), context_sport(p.context), max_cards);
  if (out.cards.empty()) {
    out.user_turn = std::string(user_turn);
    return out;
  }
  out.user_turn = std::string(p.athlete);
  for (std::string_view part : {p.context, p.history})
    if (!part.empty()) out.user_turn += "\n\n" + std::string(part);
  out.user_turn += "\n\n" + knowledge_block(out.cards);
  if (!p.interpreter.empty()) out.user_turn += "\n\n" + std::string(p.interpreter);
  return out;
}

std::string without_cards(std::string_view user_turn) {
  const size_t start = user_turn.find("\n\n[KNOWLEDGE]");
  if (start == std::string_view::npos) return std::string(user_turn);
  const size_t end = user_turn.find("\n\n[INTERPRETER]", start);
  return std::string(user_turn.substr(0, start)) + std::string(end == std::string_view::npos ? "" : user_turn.substr(end));
}

}  // namespace josi::knowledge
