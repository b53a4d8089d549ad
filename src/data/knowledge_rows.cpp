#include "data/knowledge_rows.hpp"

#include "base/error.hpp"
#include "data/chat_example.hpp"
#include "knowledge/card_injection.hpp"

namespace josi::data {

std::vector<json::Json> inject_knowledge_rows(const std::vector<JsonlRecord>& rows, const std::string& source,
                                              const knowledge::KnowledgeBase& knowledge, size_t max_cards,
                                              KnowledgeRowsSummary& summary) {
  std::vector<json::Json> out;
  for (const auto& r : rows) {
    const std::string where = source + ":" + std::to_string(r.line);
    if (!r.ok()) throw Error(where + ": " + r.error);
    std::string problem;
    if (!chat_example_from_json(r.value, r.line, problem)) throw Error(where + ": " + problem);
    json::Json row = r.value;
    ++summary.rows;
    auto& messages = row["messages"];
    const bool interpreter = messages[0]["role"] == "system" && is_interpreter_prompt(messages[0]["content"].get<std::string>());
    if (!interpreter) {
      ++summary.coach_rows;
      for (auto& m : messages) {
        if (m["role"] != "user") continue;
        ++summary.messages;
        auto injected = knowledge::inject_cards(m["content"].get<std::string>(), knowledge, max_cards);
        if (injected.cards.empty()) continue;
        m["content"] = std::move(injected.user_turn);
        ++summary.messages_with_cards;
      }
    }
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace josi::data
