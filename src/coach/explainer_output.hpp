#pragma once
// Clean-up of the explainer's raw text beyond the reference governor: trim,
// drop a stray JSON object or code fence, and flag (not rewrite) the jargon
// the system prompt forbids.
#include <string>
#include <string_view>
#include <vector>

namespace josi::coach {

struct ExplainerText {
  std::string text;                 // cleaned and governed text
  std::vector<std::string> jargon;  // forbidden terms found, lower-case, first-seen order
};

ExplainerText finish_explainer_text(std::string_view raw);

// The forbidden terms found in `text` (word-bounded, case-insensitive).
std::vector<std::string> find_jargon(std::string_view text);

}  // namespace josi::coach
