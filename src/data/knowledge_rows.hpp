#pragma once
// Training rows given coaching cards as the users' v6 preparation gave them:
// every user message of every coach-side row (a row whose system prompt is
// not the interpreter's) through knowledge::inject_cards, the function the
// runtime uses, so a model trains on the blocks the phone will write.
#include <cstddef>
#include <vector>

#include "data/jsonl.hpp"
#include "knowledge/knowledge_base.hpp"

namespace josi::data {

struct KnowledgeRowsSummary {
  size_t rows = 0, coach_rows = 0, messages = 0, messages_with_cards = 0;
};

// The rows with cards; a line that is not a chat row throws "<source>:<line>: ...".
std::vector<json::Json> inject_knowledge_rows(const std::vector<JsonlRecord>& rows, const std::string& source,
                                              const knowledge::KnowledgeBase& knowledge, size_t max_cards,
                                              KnowledgeRowsSummary& summary);

}  // namespace josi::data
