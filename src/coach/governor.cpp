#include "coach/governor.hpp"

#include <array>

#include "base/regex.hpp"
#include "base/strings.hpp"

namespace josi::coach {

namespace {

using base::Regex;

std::string join_sentences(const std::vector<std::string>& sentences) { return base::join(sentences, " "); }

// Rule 1: answer first. Returns the text untouched when nothing moves.
std::string answer_first(std::string_view text) {
  auto sentences = split_sentences(text);
  if (sentences.size() <= 1 || !is_question(sentences[0])) return std::string(text);
  size_t statement = 0;
  for (size_t i = 1; i < sentences.size(); ++i) {
    if (!is_question(sentences[i])) {
      statement = i;
      break;
    }
  }
  if (statement == 0) return std::string(text);  // all questions: nothing to lead with
  std::vector<std::string> reordered{sentences[statement]};
  for (size_t i = 1; i < sentences.size(); ++i)
    if (i != statement) reordered.push_back(sentences[i]);
  reordered.push_back(sentences[0]);
  return join_sentences(reordered);
}

// Rule 2: at most one question; rhetorical questions always go.
std::string at_most_one_question(std::string_view text) {
  auto sentences = split_sentences(text);
  if (sentences.empty()) return std::string(text);
  // Index of the one real question to keep; the highest score, first on ties.
  size_t best = sentences.size();
  int best_score = 0;
  std::vector<bool> drop(sentences.size(), false);
  for (size_t i = 0; i < sentences.size(); ++i) {
    if (!is_question(sentences[i])) continue;
    if (is_rhetorical(sentences[i])) {
      drop[i] = true;
      continue;
    }
    int score = question_score(sentences[i]);
    if (best == sentences.size() || score > best_score) {
      if (best != sentences.size()) drop[best] = true;
      best = i;
      best_score = score;
    } else {
      drop[i] = true;
    }
  }
  std::vector<std::string> kept;
  for (size_t i = 0; i < sentences.size(); ++i)
    if (!drop[i]) kept.push_back(sentences[i]);
  // Keeping nothing would leave the athlete with an empty reply: keep the text as it was.
  return kept.empty() ? std::string(text) : join_sentences(kept);
}

// Rule 3: with enough substance, a weak trailing question goes.
std::string prefer_zero_questions(std::string_view text) {
  auto sentences = split_sentences(text);
  if (sentences.empty()) return std::string(text);
  size_t statements = 0;
  for (const auto& s : sentences)
    if (!is_question(s)) ++statements;
  if (statements < 2) return std::string(text);
  const std::string trailing = sentences.back();
  if (!is_question(trailing) || question_score(trailing) >= 3) return std::string(text);
  std::vector<std::string> kept;
  for (const auto& s : sentences)
    if (s != trailing) kept.push_back(s);
  return join_sentences(kept);
}

bool contains_any(std::string_view haystack, std::initializer_list<std::string_view> needles) {
  for (auto n : needles)
    if (haystack.find(n) != std::string_view::npos) return true;
  return false;
}

}  // namespace

std::vector<std::string> split_sentences(std::string_view text) {
  // "Z2." names a zone, not a sentence end: its dot never splits.
  static const Regex zone_dot(R"(\bZ\d+\.)");
  std::string_view body = base::trim(text);
  std::vector<bool> protected_dot(body.size(), false);
  for (const auto& m : zone_dot.find_all(body)) protected_dot[m.end - 1] = true;

  std::vector<std::string> sentences;
  auto push = [&](std::string_view part) {
    part = base::trim(part);
    if (!part.empty()) sentences.emplace_back(part);
  };
  size_t start = 0;
  for (size_t i = 0; i + 1 < body.size(); ++i) {
    char c = body[i];
    bool terminator = (c == '!' || c == '?' || (c == '.' && !protected_dot[i]));
    if (!terminator || !base::is_space(body[i + 1])) continue;
    push(body.substr(start, i + 1 - start));
    size_t j = i + 1;
    while (j < body.size() && base::is_space(body[j])) ++j;
    start = j;
    i = j - 1;
  }
  push(body.substr(start));
  return sentences;
}

bool is_question(std::string_view sentence) {
  std::string_view s = base::trim(sentence);
  return !s.empty() && s.back() == '?';
}

bool is_rhetorical(std::string_view sentence) {
  // Whole-sentence filler: closers and offers to continue that ask the athlete nothing.
  static const Regex closers(
      R"(^(?:sound good|does that make sense|make sense|right|okay|got it|ready to go|ready|shall we|)"
      R"(what do you think|how does that sound|fair enough|does that help|anything else|any questions|clear)\??$)");
  static const Regex offers(
      R"(^(?:would you like me to|want me to|shall i|need me to) )"
      R"((?:elaborate|explain|go into|break that down|walk you through).*\??$)");
  static const Regex more(R"(^(?:would you like to|want to) (?:know|hear|learn) more.*\??$)");
  static const Regex help(R"(^(?:can|may) i help (?:you )?with anything else\??$)");
  static const Regex anything(R"(^is there anything else.*\??$)");
  std::string_view s = base::trim(sentence);
  for (const Regex* r : {&closers, &offers, &more, &help, &anything})
    if (r->search(s)) return true;
  return false;
}

int question_score(std::string_view sentence) {
  const std::string q = base::to_lower_ascii(base::trim(sentence));
  int score = 0;
  if (contains_any(q, {"how are you", "how do you feel", "how's your", "what's your", "how did", "how was"})) score += 3;
  if (contains_any(q, {"what time", "which day", "what goal", "how many", "how long", "what kind"})) score += 3;
  if (contains_any(q, {"what ", "how ", "why ", "when "})) score += 2;
  // Yes/no openers; "should " keeps its space so "shouldn't" is not one.
  static constexpr std::array<std::string_view, 8> yes_no{"do you",  "are you", "can you",  "would you",
                                                          "is there", "did you", "have you", "should "};
  for (auto opener : yes_no) {
    if (q.starts_with(opener)) {
      score += 1;
      break;
    }
  }
  if (is_rhetorical(q)) score -= 5;
  return score;
}

std::string govern(std::string_view text, std::string_view response_type) {
  // Safety warnings and declines must reach the athlete exactly as written.
  if (response_type == "SafetyWarning" || response_type == "Decline") return std::string(text);
  if (text.empty()) return std::string(text);
  std::string out = answer_first(text);
  out = at_most_one_question(out);
  return prefer_zero_questions(out);
}

}  // namespace josi::coach
