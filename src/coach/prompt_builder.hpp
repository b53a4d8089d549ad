#pragma once
// The prompt builder (coach.md §1): the models were trained on user turns laid
// out exactly like this, so the runtime must produce the same bytes.
//
//   <message>\n\nCONTEXT:\n- Readiness: ...\n\nPROFILE:\n  Name: ...
//   \n\nMEMORY:\n- Facts: ...\n\nHISTORY:\n  [user]: ...
//
// then, for the explainer, "\n\n[INTERPRETER]\n<json>", all wrapped in ChatML.
// When the whole prompt would not leave room for the answer in the context,
// history is trimmed (oldest first), then memory; the system prompt and the
// current message are never cut.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coach/memory.hpp"
#include "json/json.hpp"
#include "text/chat_template.hpp"

namespace josi::coach {

// Counts the tokens of a conversation as the model will see it (ChatML with
// the generation prompt). The runtime counts with the model's tokenizer;
// approximate_token_count stands in where no model is loaded.
using TokenCounter = std::function<size_t(const std::vector<text::ChatMessage>&)>;

// About four bytes per token of the rendered ChatML, rounded up: the Qwen2
// vocabulary's average on English coaching text. An estimate only.
size_t approximate_token_count(const std::vector<text::ChatMessage>& messages);

struct PromptBudget {
  size_t context_tokens = 2048;  // the seed's context cap
  size_t max_new_tokens = 150;   // room kept for the answer
};

// The CONTEXT block of a ChatContext ("CONTEXT:\n- Readiness: Green (Recovered)\n...").
std::string context_block(const json::Json& context);
// The PROFILE block, or "" when the profile has nothing to show.
std::string profile_block(const json::Json& context);
// The HISTORY block of the last `turns` history entries, or "" when none.
std::string history_block(const std::vector<HistoryTurn>& history, size_t turns);

struct PromptRequest {
  std::string system;                    // the model's system prompt
  json::Json context;                    // a schema-valid ChatContext
  std::string message;                   // the athlete's message
  std::optional<AthleteMemory> memory;   // overrides context.athlete_memory when set
  std::optional<json::Json> interpreter; // the explainer's [INTERPRETER] request
  bool context_validated = false;        // the caller checked context against the schema: not again
};

struct Prompt {
  std::string user;    // the user turn
  std::string chatml;  // system + user + generation prompt
  size_t tokens = 0;   // by the counter used
  size_t history_turns = 0;  // history entries kept
  bool memory_included = false;
};

// Validates the ChatContext (errors name their JSON paths), lays out the
// user turn and fits it to the budget. Throws josi::Error when even the
// system prompt plus the message do not fit.
Prompt build_prompt(const PromptRequest& request, const TokenCounter& count_tokens = approximate_token_count,
                    const PromptBudget& budget = {});

}  // namespace josi::coach
