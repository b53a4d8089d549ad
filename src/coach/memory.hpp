#pragma once
// Athlete memory (docs/turn.md "Memory"): facts extracted from what the athlete says,
// merged across conversations, and serialised into the MEMORY prompt block.
#include <string>
#include <vector>

#include "json/json.hpp"

namespace josi::coach {

struct Fact {
  std::string fact;
  std::string source = "conversation";  // conversation | behavior | profile_change
  double confidence = 0.0;
};

struct AthleteMemory {
  std::vector<Fact> key_facts;
  std::vector<std::string> patterns;
  std::vector<std::string> coaching_notes;
  bool empty() const { return key_facts.empty() && patterns.empty() && coaching_notes.empty(); }
};

struct HistoryTurn {
  std::string role;  // user | assistant
  std::string message;
  std::string ts;
  std::string prompt{};  // user entries: the user turn as the coach saw it ("" when not given)
};

// Facts from the user turns of `history`, first-seen order, deduplicated.
std::vector<Fact> extract_facts(const std::vector<HistoryTurn>& history, double min_confidence = 0.5);

// Merges new facts/patterns/notes into `existing` (which may be empty).
AthleteMemory merge_memory(const AthleteMemory& existing, const std::vector<Fact>& facts,
                           const std::vector<std::string>& patterns, const std::vector<std::string>& notes);

// The MEMORY block ("MEMORY:\n- Facts: ..."), or "" when there is nothing to say.
std::string serialize_memory(const AthleteMemory& memory);

// Behaviour patterns from activities ({"intent": "Z4", ...}) and skipped weekdays (0 = Monday).
std::vector<std::string> detect_patterns(const json::Json& activities, const std::vector<int>& skip_days);

// JSON in the ChatContext `athlete_memory` shape; from_json throws josi::Error naming the bad field.
json::Json to_json(const AthleteMemory& memory);
AthleteMemory memory_from_json(const json::Json& value);
json::Json to_json(const Fact& fact);
Fact fact_from_json(const json::Json& value);
std::vector<HistoryTurn> history_from_json(const json::Json& value);

}  // namespace josi::coach
