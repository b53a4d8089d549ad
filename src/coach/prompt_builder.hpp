#pragma once
// The prompt builder: the models were trained on user turns laid out exactly
// like this, so the runtime must produce the same bytes. Two layouts
// (docs/turn.md "Prompt layouts"):
//
// v5 (the seed's two Qwen2.5 models):
//   <message>\n\nCONTEXT:\n- Readiness: ...\n\nPROFILE:\n  Name: ...
//   \n\nMEMORY:\n- Facts: ...\n\nHISTORY:\n  [user]: ...
// v6 (one Qwen3 model, both roles): the same blocks with the engine-grounding
//   CONTEXT block and no HISTORY block; the coach gets earlier turns as chat
//   turns before its user turn (as `josi train` unrolls conversations), the
//   interpreter gets none.
//
// then, for the explainer (the coach), "\n\n[INTERPRETER]\n<json>", all
// wrapped in ChatML, with the [KNOWLEDGE] block of the role's cards before
// [INTERPRETER]. When the whole prompt would not leave room for the answer in
// the context, history is trimmed (oldest turns first), then cards, then
// memory; the system prompt and the current message are never cut.
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coach/memory.hpp"
#include "json/json.hpp"
#include "knowledge/selector.hpp"
#include "text/chat_template.hpp"

namespace josi::coach {

enum class PromptLayout { v5, v6 };
std::string_view layout_name(PromptLayout layout);  // "v5" | "v6"
std::optional<PromptLayout> layout_from_name(std::string_view name);

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

// The CONTEXT block of a ChatContext ("CONTEXT:\n- Readiness: Green (Recovered)\n...")
// in the layout's lines: v5's readiness, session, sport and level; v6's
// engine-grounding lines, in the order the v6 training data has them.
std::string context_block(const json::Json& context, PromptLayout layout = PromptLayout::v5);
// The PROFILE block, or "" when the profile has nothing to show.
std::string profile_block(const json::Json& context);
// The HISTORY block of the last `turns` history entries, or "" when none.
std::string history_block(const std::vector<HistoryTurn>& history, size_t turns);

// History entries from `start` on as the chat turns a v6 coach sees: a
// user entry as its "prompt" (the user turn the coach saw) when it has one,
// else its message; a reply as the assistant's turn.
std::vector<text::ChatMessage> history_turns(const std::vector<HistoryTurn>& history, size_t start = 0);

struct PromptRequest {
  std::string system;                    // the model's system prompt
  json::Json context;                    // a schema-valid ChatContext
  std::string message;                   // the athlete's message
  std::optional<AthleteMemory> memory;   // overrides context.athlete_memory when set
  std::optional<json::Json> interpreter; // the explainer's [INTERPRETER] request
  bool context_validated = false;        // the caller checked context against the schema: not again
  PromptLayout layout = PromptLayout::v5;
  // Coaching cards for this role (null: none), placed as training placed
  // them (knowledge/card_injection.hpp), at most max_cards.
  const knowledge::KnowledgeBase* knowledge = nullptr;
  size_t max_cards = 0;
};

struct Prompt {
  std::string user;    // the user turn
  std::vector<text::ChatMessage> messages;  // system, earlier turns (v6 coach), user
  std::string chatml;  // the messages + generation prompt
  size_t tokens = 0;   // by the counter used
  size_t history_turns = 0;  // history entries kept (in the HISTORY block, or as chat turns)
  bool memory_included = false;
  std::vector<knowledge::SelectedCard> cards;  // the cards in the user turn
};

// Validates the ChatContext (errors name their JSON paths), lays out the
// user turn and fits it to the budget. Throws josi::Error when even the
// system prompt plus the message do not fit.
Prompt build_prompt(const PromptRequest& request, const TokenCounter& count_tokens = approximate_token_count,
                    const PromptBudget& budget = {});

}  // namespace josi::coach
