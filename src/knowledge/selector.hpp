#pragma once
// The card selector: which coaching cards fit an athlete's message. One
// selector, the one the users' training data was made with (so a model sees
// on the phone the cards it was trained with), used by training-data
// preparation, `josi knowledge select`, the runtime and the C API.
//
// Each entry scores: sport (+3 same, -5 other, when both are known),
// keyword hits (a phrase 2, a word 1, substring matches in the lower-cased
// message, at most 6), +1 for an overview and +0.5 for a safety section with
// hits, +0.5 for a general section of an answer_question and +1 for a
// structure card of a create_workout; the persona and planner-policy cards
// score 0; then +2 each for a safety section on pain words, a beginner card
// on beginner words, a seniors card on age words. Entries above 0, best
// first (at a tie, other sections before overviews, then file order), at
// most `max_cards`, a second section of a card only when it scores 5 or more.
#include <string>
#include <string_view>
#include <vector>

#include "knowledge/knowledge_base.hpp"

namespace josi::knowledge {

struct SelectedCard {
  const Entry* entry;
  double score;  // a multiple of 0.5
};

// `action` and `sport` empty: not known.
std::vector<SelectedCard> select_cards(const KnowledgeBase& knowledge, std::string_view message, std::string_view action,
                                       std::string_view sport, size_t max_cards);

}  // namespace josi::knowledge
