#include "data/conversation_file.hpp"

#include <algorithm>

#include "base/regex.hpp"
#include "base/strings.hpp"

namespace josi::data {

namespace {

bool starts_with_hash(std::string_view line) { return !line.empty() && line.front() == '#'; }

}  // namespace

ConversationFile parse_conversation_file(std::string_view text) {
  ConversationFile file;
  std::vector<std::string_view> lines;
  for (size_t start = 0;;) {
    const size_t end = text.find('\n', start);
    lines.push_back(text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  static const base::Regex metadata(R"(^#\s*(\w+)\s*:\s*(.+)$)", base::Regex::none);
  size_t i = 0;
  for (; i < lines.size(); ++i) {
    const std::string_view line = base::trim(lines[i]);
    if (line.empty()) continue;
    if (!starts_with_hash(line)) break;
    const auto m = metadata.find(line);
    if (!m) continue;
    const std::string key = *m->groups[0], value = *m->groups[1];
    if (key == "domain") {
      file.domain = value;
    } else if (key == "tags") {
      file.tags.clear();
      for (size_t at = 0; at <= value.size();) {
        const size_t comma = std::min(value.find(',', at), value.size());
        const std::string tag(base::trim(std::string_view(value).substr(at, comma - at)));
        if (!tag.empty()) file.tags.push_back(tag);
        at = comma + 1;
      }
    } else if (key == "system") {
      file.system = value;
    } else {
      file.extras[key] = value;
    }
  }
  Conversation current;
  std::string role;             // of the turn being written; empty before the first marker
  std::vector<std::string_view> turn;
  bool collected = false;
  const auto end_turn = [&] {
    if (!role.empty() && collected) {
      std::string content;
      for (size_t k = 0; k < turn.size(); ++k) content += (k ? "\n" : "") + std::string(turn[k]);
      current.messages.push_back({role, std::string(base::trim(content))});
    }
    turn.clear();
    collected = false;
  };
  const auto end_conversation = [&] {
    end_turn();
    role.clear();
    if (!current.messages.empty()) file.conversations.push_back(std::move(current));
    current = Conversation{};
  };
  for (; i < lines.size(); ++i) {
    const std::string_view stripped = base::trim(lines[i]);
    if (stripped == "---") {
      end_conversation();
    } else if (stripped == "USER:" || stripped == "JOSI:") {
      end_turn();
      if (current.messages.empty() && current.line == 0) current.line = i + 1;
      role = stripped == "USER:" ? "user" : "assistant";
    } else if (!role.empty()) {
      turn.push_back(lines[i]);
      collected = true;
    }
  }
  end_conversation();
  return file;
}

std::vector<std::string> conversation_problems(const Conversation& c) {
  std::vector<std::string> problems;
  if (c.messages.empty()) return {"no turns"};
  if (c.messages.front().role != "user") problems.push_back("the first turn is not USER");
  if (c.messages.back().role != "assistant") problems.push_back("the last turn is not JOSI");
  for (size_t k = 0; k < c.messages.size(); ++k) {
    if (c.messages[k].content.empty()) problems.push_back("turn " + std::to_string(k + 1) + " is empty");
    if (k > 0 && c.messages[k].role == c.messages[k - 1].role)
      problems.push_back("turns " + std::to_string(k) + " and " + std::to_string(k + 1) + " are both " +
                         (c.messages[k].role == "user" ? "USER" : "JOSI"));
  }
  return problems;
}

json::Json conversation_row(const ConversationFile& file, const Conversation& conversation) {
  json::Json messages = json::Json::array();
  for (const auto& m : conversation.messages) messages.push_back({{"role", m.role}, {"content", m.content}});
  json::Json row = {{"messages", messages}};
  if (!file.domain.empty()) row["domain"] = file.domain;
  if (!file.tags.empty()) row["tags"] = file.tags;
  return row;
}

}  // namespace josi::data
