#include "knowledge/selector.hpp"

#include <algorithm>
#include <array>

#include "knowledge/python_text.hpp"

namespace josi::knowledge {

namespace {

bool has(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

template <size_t N>
bool any_word(const std::set<std::string>& words, const std::array<std::string_view, N>& set) {
  for (auto w : set)
    if (words.count(std::string(w))) return true;
  return false;
}

// `found[i]`: the message holds keyword i of the knowledge base.
double score_of(const Entry& e, const std::vector<std::string>& keywords, const std::vector<bool>& found,
                const std::set<std::string>& words, std::string_view action, std::string_view sport) {
  double score = 0;
  if (!sport.empty() && e.sport) score += *e.sport == sport ? 3.0 : -5.0;
  double hits = 0;
  for (const size_t k : e.keyword_ids)
    if (found[k]) hits += keywords[k].find(' ') != std::string::npos ? 2 : 1;
  score += std::min(hits, 6.0);
  if (e.section == "overview" && hits > 0) score += 1.0;
  if (e.section == "safety" && hits > 0) score += 0.5;
  if (action == "answer_question" && (e.section == "overview" || e.section == "all_zones" || e.section == "models" ||
                                      e.section == "science_of_structure"))
    score += 0.5;
  if (action == "create_workout" && (has(e.topics, "workout_structure") || has(e.topics, "intervals"))) score += 1.0;
  // The persona and policy cards are never selected for content; the boosts
  // below still apply after the reset, as in the selector the data was made with.
  if (e.card == "josi_personas_v1" || e.card == "planner_policy_v4") score = 0.0;
  static constexpr std::array<std::string_view, 11> kPain = {"pain",    "injury", "sick",  "illness", "hurt", "stop",
                                                             "medical", "chest",  "dizzy", "pijn",    "ziek"};
  static constexpr std::array<std::string_view, 6> kBeginner = {"beginner", "new", "start", "first", "begin", "nieuw"};
  static constexpr std::array<std::string_view, 6> kSenior = {"senior", "elderly", "old", "70", "80", "90"};
  if (e.section == "safety" && any_word(words, kPain)) score += 2.0;
  if (has(e.topics, "beginner") && any_word(words, kBeginner)) score += 2.0;
  if (has(e.topics, "seniors") && any_word(words, kSenior)) score += 2.0;
  return score;
}

}  // namespace

std::vector<SelectedCard> select_cards(const KnowledgeBase& knowledge, std::string_view message, std::string_view action,
                                       std::string_view sport, size_t max_cards) {
  const std::string m = lower_for_keywords(message);
  const auto words = words_of(m);
  const auto& keywords = knowledge.keywords();
  std::vector<bool> found(keywords.size());
  for (size_t k = 0; k < keywords.size(); ++k) found[k] = m.find(keywords[k]) != std::string::npos;
  std::vector<SelectedCard> scored;
  for (const auto& e : knowledge.entries()) {
    const double s = score_of(e, keywords, found, words, action, sport);
    if (s > 0) scored.push_back({&e, s});
  }
  std::stable_sort(scored.begin(), scored.end(), [](const SelectedCard& a, const SelectedCard& b) {
    if (a.score != b.score) return a.score > b.score;
    return a.entry->section != "overview" && b.entry->section == "overview";
  });
  std::vector<SelectedCard> chosen;
  std::vector<std::string_view> cards;
  for (const auto& c : scored) {
    if (chosen.size() >= max_cards) break;
    if (c.score < 5 && std::find(cards.begin(), cards.end(), c.entry->card) != cards.end()) continue;
    chosen.push_back(c);
    cards.push_back(c.entry->card);
  }
  return chosen;
}

}  // namespace josi::knowledge
