#include "coach/red_flags.hpp"

#include <vector>

#include "base/regex.hpp"

namespace josi::coach {

namespace {

// One pattern per red flag. `[^\n]` stands for Python's
// `.`, which does not cross a line break. The apostrophe in "can't" may also be
// the typographic ’ that phone keyboards insert: the same phrase, as typed.
// Safety widening beyond the reference list (a missed red flag is the costly
// error): inflections "breathing problems/difficulty/troubles", "blackout",
// "blacking out", and "passed out"/"passing out".
const std::vector<base::Regex>& red_flag_patterns() {
  static const std::vector<base::Regex> patterns = [] {
    std::vector<base::Regex> p;
    for (const char* pattern : {
             R"(\bchest\s+pain\b)",
             R"(\bheart\s+(?:pain|feels?\s+weird|racing|pounding)\b)",
             R"(\bdizz(?:y|iness)\b)",
             R"(\blight[- ]?headed\b)",
             R"(\bblack(?:ed|ing)?\s*out\b)",
             R"(\bpass(?:ed|ing)\s+out\b)",
             R"(\bfaint(?:ed)?\b)",
             R"(\blost\s+consciousness\b)",
             R"(\bcan['\x{2019}]?t\s+breathe\b)",
             R"(\bbreathing\s+(?:problems?|difficult(?:y|ies)?|troubles?)\b)",
             R"(\bnumb(?:ness)?\b)",
             R"(\btingling\b)",
             R"(\b(?:hurt|pain)\w*\s+for\s+\d+\s+day)",
             R"(\bbeen\s+(?:hurt|pain)ing\b)",
             R"(\bsharp\s+pain\b)",
             R"(\bshooting\s+pain\b)",
             R"(\bpain\s+in\s+my\s+(?:chest|heart)\b)",
             R"(\b(?:knee|back|shin|shoulder|hip|ankle)\s+(?:has\s+been|been)\s+(?:hurt|pain)ing\b)",
             R"(\b(?:knee|back|shin|shoulder|hip|ankle)\b[^\n]{0,20}\bhurt(?:s|ing)\b[^\n]{0,20}\b\d+\s+day)",
         })
      p.emplace_back(pattern);
    return p;
  }();
  return patterns;
}

}  // namespace

bool has_medical_red_flag(std::string_view text) {
  for (const auto& pattern : red_flag_patterns())
    if (pattern.search(text)) return true;
  return false;
}

}  // namespace josi::coach
