#include "data/chat_example.hpp"

#include "base/strings.hpp"

namespace josi::data {

bool ChatExample::is_single_turn() const {
  size_t assistants = 0;
  for (const auto& m : messages) assistants += m.role == "assistant";
  return assistants == 1 && !messages.empty() && messages.back().role == "assistant" && first("user") != nullptr;
}

std::vector<TurnExample> unroll(const ChatExample& row) {
  std::vector<TurnExample> out;
  std::vector<Message> context;
  // Every message before an assistant turn is its prompt, in order: the
  // leading system run, users, earlier answers and later system messages.
  for (const auto& m : row.messages) {
    if (m.role == "assistant") out.push_back({context, m.content});
    context.push_back(m);
  }
  return out;
}

const Message* ChatExample::first(std::string_view role) const {
  for (const auto& m : messages)
    if (m.role == role) return &m;
  return nullptr;
}

const Message* ChatExample::last(std::string_view role) const {
  for (auto it = messages.rbegin(); it != messages.rend(); ++it)
    if (it->role == role) return &*it;
  return nullptr;
}

std::optional<ChatExample> chat_example_from_json(const json::Json& value, size_t line, std::string& problem) {
  if (!value.is_object()) {
    problem = "expected a JSON object, got " + json::type_name(value);
    return std::nullopt;
  }
  auto it = value.find("messages");
  if (it == value.end()) {
    problem = "missing \"messages\"";
    return std::nullopt;
  }
  if (!it->is_array() || it->empty()) {
    problem = "\"messages\" must be a non-empty array";
    return std::nullopt;
  }
  ChatExample example;
  example.line = line;
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& m = (*it)[i];
    std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) {
      problem = where + ": expected an object";
      return std::nullopt;
    }
    auto role = m.find("role");
    auto content = m.find("content");
    if (role == m.end() || !role->is_string()) {
      problem = where + ".role: expected a string";
      return std::nullopt;
    }
    if (*role != "system" && *role != "user" && *role != "assistant") {
      problem = where + ".role: expected one of system, user, assistant";
      return std::nullopt;
    }
    if (content == m.end() || !content->is_string()) {
      problem = where + ".content: expected a string";
      return std::nullopt;
    }
    example.messages.push_back({role->get<std::string>(), content->get<std::string>()});
  }
  return example;
}

json::Json to_json(const ChatExample& example) {
  json::Json messages = json::Json::array();
  for (const auto& m : example.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
  return json::Json{{"messages", std::move(messages)}};
}

bool is_request_target(std::string_view target) {
  json::Json value;
  return json::try_parse(target, value) && value.is_object() && value.contains("action") && value["action"].is_string();
}

bool is_interpreter_prompt(std::string_view system_prompt) {
  return base::to_lower_ascii(system_prompt).find("gatcrequest") != std::string::npos;
}

}  // namespace josi::data
