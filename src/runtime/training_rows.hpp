#pragma once
// What the coach ran, as rows `josi train` takes ({"messages": [...]}): each
// row, unrolled as training unrolls it (data/chat_example.hpp), gives back the
// very prompts the runtime evaluated, byte for byte, because both are
// rendered by the same ChatML code. `josi chat --training_rows` writes them,
// so a conversation held with a model can become its training data.
#include <string>

#include "json/json.hpp"
#include "runtime/turn.hpp"

namespace josi::runtime {

// One role's call as a one-answer row: the conversation it answered and
// `answer` (the interpreter's text; the v5 explainer's reply).
json::Json training_row(const RoleRun& run, const std::string& answer);

// A v6 coach's conversation as one row: its system prompt, then `history`
// (a ChatContext history with the entries of each turn's result): user
// entries as the coach saw them ("prompt", else "message"), the replies as
// its answers.
json::Json conversation_row(const std::string& system, const json::Json& history);

}  // namespace josi::runtime
