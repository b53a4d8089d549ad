#pragma once
// The [KNOWLEDGE] block in a user turn, as the users' v6 training data has
// it and the runtime therefore writes it: the turn is split into
//   A  the athlete's words (before CONTEXT:)
//   C  from "CONTEXT:" on (PROFILE and MEMORY follow it)
//   H  from "HISTORY:" on
//   I  from "[INTERPRETER]" to the end
// the cards are selected from A with I's action and the sport of C's
// "Sport:" line, and the turn becomes A, C, H, the block, I, joined by blank
// lines. No card: the turn is left as it was. Training data
// (`josi data inject-knowledge`) and the runtime call the same function, so
// the block a model sees on the phone is the block it was trained with.
#include <string>
#include <string_view>
#include <vector>

#include "knowledge/selector.hpp"

namespace josi::knowledge {

// "[KNOWLEDGE]" then each card's content after a blank line; "" for none.
std::string knowledge_block(const std::vector<SelectedCard>& cards);

struct TurnParts {
  std::string_view athlete, context, history, interpreter;  // A, C, H, I; each may be empty
};
TurnParts split_user_turn(std::string_view user_turn);

// The action of an [INTERPRETER] part ("" when it is not a JSON object with one).
std::string interpreter_action(std::string_view interpreter);
// The sport of the first "Sport: <word>" in a CONTEXT part, as the cards name
// sports: running, run, hardlopen -> run; cycling, bike, fietsen -> bike;
// skiing -> ski; skating -> skate; any other word lower-cased; "" for none.
std::string context_sport(std::string_view context);

struct Injection {
  std::string user_turn;
  std::vector<SelectedCard> cards;
};
// `user_turn` with at most `max_cards` cards (2 in the users' training data).
Injection inject_cards(std::string_view user_turn, const KnowledgeBase& knowledge, size_t max_cards);

// `user_turn` without the block inject_cards put in: what the athlete and
// the app wrote, for rules that must not read the cards' text (a card on
// chest pain is not a red flag).
std::string without_cards(std::string_view user_turn);

}  // namespace josi::knowledge
