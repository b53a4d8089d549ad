#pragma once
// The users' `.conv` files, how they author conversations for training:
//
//   # domain: zones            metadata: "# key: value" lines at the top
//   # tags: hr, basics         (domain, tags, system; others kept as extras)
//
//   USER:
//   What is Zone 2?
//
//   JOSI:
//   The intensity where ...
//
//   ---                        ends the conversation
//
// Lines are split on "\n" only. The metadata is read from the top, blank
// lines skipped, up to the first line that does not start with '#'. From
// the first non-blank line that does not start with '#', a line that is
// "USER:" or "JOSI:" (surrounding whitespace aside) starts a turn, "---"
// ends the conversation, and any other line belongs to the turn being
// written ('#' lines too), or is ignored before the first marker. A turn
// that collected no line is dropped; its text is its lines joined by "\n",
// trimmed. Converted rows carry no system message (the file's "# system:"
// is read but, as in the users' converter, never added).
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "data/chat_example.hpp"
#include "json/json.hpp"

namespace josi::data {

struct Conversation {
  size_t line = 0;                // where it starts in the file (1-based)
  std::vector<Message> messages;  // user / assistant
};

struct ConversationFile {
  std::string domain;
  std::vector<std::string> tags;
  std::string system;  // read, never added to a row
  std::map<std::string, std::string> extras;
  std::vector<Conversation> conversations;
};

ConversationFile parse_conversation_file(std::string_view text);

// What keeps a conversation from training as the users' converter checks it:
// the first turn the athlete's, the last Josi's, no empty turn, the two
// alternating. Empty when it is fine.
std::vector<std::string> conversation_problems(const Conversation& conversation);

// {"messages": [...], "domain"?, "tags"?}: the row the users' converter writes.
json::Json conversation_row(const ConversationFile& file, const Conversation& conversation);

}  // namespace josi::data
