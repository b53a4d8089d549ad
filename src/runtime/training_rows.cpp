#include "runtime/training_rows.hpp"

#include "coach/prompt_builder.hpp"

namespace josi::runtime {

using json::Json;

namespace {

Json row_of(const std::vector<text::ChatMessage>& messages) {
  Json out = Json::array();
  for (const auto& m : messages) out.push_back({{"role", m.role}, {"content", m.content}});
  return {{"messages", out}};
}

}  // namespace

Json training_row(const RoleRun& run, const std::string& answer) {
  auto messages = run.messages;
  messages.push_back({"assistant", answer});
  return row_of(messages);
}

Json conversation_row(const std::string& system, const Json& history) {
  std::vector<text::ChatMessage> messages = {{"system", system}};
  for (auto& turn : coach::history_turns(coach::history_from_json(history))) messages.push_back(std::move(turn));
  return row_of(messages);
}

}  // namespace josi::runtime
