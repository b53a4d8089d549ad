#pragma once
// The dialogue governor: answer first, at most one question,
// prefer none. Applied to the explainer's text before the athlete sees it.
#include <string>
#include <string_view>
#include <vector>

namespace josi::coach {

std::vector<std::string> split_sentences(std::string_view text);
bool is_question(std::string_view sentence);
bool is_rhetorical(std::string_view sentence);
int question_score(std::string_view sentence);

// Rules 1-3 of the governor. `response_type` is the legacy response type when
// known; SafetyWarning and Decline pass unchanged.
std::string govern(std::string_view text, std::string_view response_type = "");

}  // namespace josi::coach
