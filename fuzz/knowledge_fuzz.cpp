// Fuzzes the knowledge reader and the card injection: any input is either a
// good knowledge file, which then selects cards for and injects them into a
// few user turns within the bounds the reader promises, or it is refused
// with problems (one line each) and josi::Error from KnowledgeBase::parse.
// The input's tail past the first NUL byte, if any, is used as a user turn
// too. Anything else (another exception, a crash, a sanitizer report) is a
// finding.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/error.hpp"
#include "knowledge/card_injection.hpp"
#include "knowledge/knowledge_base.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string_view file = input.substr(0, nul);
  const std::string_view turn = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  const auto problems = josi::knowledge::check_knowledge(file, "fuzz.json");
  for (const auto& p : problems)
    if (p.find('\n') != std::string::npos) std::abort();  // one line each
  try {
    const auto k = josi::knowledge::KnowledgeBase::parse(file, "fuzz.json");
    if (!problems.empty()) std::abort();  // parse must refuse what check finds
    if (k.entries().size() > josi::knowledge::kMaxEntries) std::abort();
    for (std::string_view t : {turn, std::string_view("Why? \n\nCONTEXT:\n- Sport: running\n\n[INTERPRETER]\n{\"action\": \"explain\"}")}) {
      const auto injected = josi::knowledge::inject_cards(t, k, 2);
      if (injected.cards.size() > 2) std::abort();
      if (injected.cards.empty() != (injected.user_turn == t)) std::abort();
      for (const auto& c : injected.cards)
        if (!(c.score > 0)) std::abort();
    }
  } catch (const josi::Error&) {
    if (problems.empty()) std::abort();  // parse refused what check passed
  }
  return 0;
}
