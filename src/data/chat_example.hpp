#pragma once
// A training row: {"messages": [{"role": ..., "content": ...}, ...]}, one
// exchange or a whole conversation, and the examples training takes from
// it: one per assistant turn (unroll()).
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

// A target the interpreter writes: a JSON object with a string "action"
// (anything else is a coach's text).
bool is_request_target(std::string_view target);

// The interpreter's system prompt asks for GATCRequest JSON; the coach's
// mentions the interpreter too (its [INTERPRETER] block), never that.
bool is_interpreter_prompt(std::string_view system_prompt);

// What one assistant turn is trained on: every message before it, and it.
struct TurnExample {
  std::vector<Message> prompt;
  std::string target;
};

// A row's examples, as the users' trainer unrolls conversations: with no
// assistant message, none; with exactly one, last, one (prompt: every
// message before it); otherwise the leading system messages, then for each
// assistant turn an example whose prompt is everything before it (earlier
// answers are context, not loss), messages after the last answer dropped.
// No system prompt is added to a row without one.
std::vector<TurnExample> unroll(const ChatExample& row);

}  // namespace josi::data
