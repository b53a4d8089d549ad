#pragma once
// A training example: {"messages": [{"role": ..., "content": ...}, ...]}.
// Training uses single-turn examples: exactly one assistant message, last,
// after at least one user message.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json/json.hpp"

namespace josi::data {

struct Message {
  std::string role;  // system | user | assistant
  std::string content;
};

struct ChatExample {
  size_t line = 0;
  std::vector<Message> messages;

  bool is_single_turn() const;
  // The first message with `role`, or nullptr.
  const Message* first(std::string_view role) const;
  const Message* last(std::string_view role) const;
};

// Checks the shape; on a problem returns nullopt and sets `problem` to one
// line such as "messages[2].role: expected one of system, user, assistant".
std::optional<ChatExample> chat_example_from_json(const json::Json& value, size_t line, std::string& problem);

json::Json to_json(const ChatExample& example);

}  // namespace josi::data
