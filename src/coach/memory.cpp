#include "coach/memory.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "base/error.hpp"
#include "base/regex.hpp"
#include "base/strings.hpp"

namespace josi::coach {

namespace {

using base::Regex;
using json::Json;

struct Rule {
  Regex pattern;
  std::string_view fact;  // "{0}" is replaced by the first capture group
};

struct RuleGroup {
  double confidence;
  std::vector<Rule> rules;
};

// The extraction table, in table order (which is also the order
// facts from one message come out in).
const std::vector<RuleGroup>& rule_groups() {
  static const std::vector<RuleGroup> groups = [] {
    auto group = [](double confidence, std::initializer_list<std::pair<std::string_view, std::string_view>> rows) {
      RuleGroup g{confidence, {}};
      for (const auto& [pattern, fact] : rows) g.rules.push_back({Regex(pattern), fact});
      return g;
    };
    std::vector<RuleGroup> g;
    g.push_back(group(0.8, {
        {R"(\b(?:run|running|jog|jogging)\b)", "primary sport: running"},
        {R"(\b(?:cycl|bike|biking|riding|ride)\w*\b)", "primary sport: cycling"},
        {R"(\b(?:ski|skiing|cross[- ]country)\b)", "primary sport: skiing"},
        {R"(\b(?:skat|skating|inline|rollerblad)\w*\b)", "primary sport: skating"},
        {R"(\b(?:strength|weights?|gym|lifting)\b)", "does strength training"},
    }));
    g.push_back(group(0.7, {
        {R"(\b(?:morning|before work|early|first thing|6\s*am|7\s*am)\b)", "prefers morning sessions"},
        {R"(\b(?:evening|after work|late|night|after dinner)\b)", "prefers evening sessions"},
        {R"(\b(?:lunch|midday|noon|middle of the day)\b)", "prefers midday sessions"},
    }));
    g.push_back(group(0.6, {
        {R"(\busually\s+(?:about\s+)?(\d+)\s*(?:min|minutes)\b)", "typical duration: {0} min"},
        {R"(\bnormally\s+(?:do|run|ride|train)\s+(?:for\s+)?(?:about\s+)?(\d+)\s*(?:min|minutes)\b)",
         "typical duration: {0} min"},
        {R"(\bonly\s+(?:have|got)\s+(\d+)\s*(?:min|minutes)\s+(?:usually|most days|normally)\b)",
         "typical duration: {0} min"},
    }));
    g.push_back(group(0.9, {
        {R"(\b(?:bad|injured|sore|weak|recovering)\s+(?:right\s+)?knee\b)", "has knee issue"},
        {R"(\bknee\s+(?:issue|injury|problem|pain)\b)", "has knee issue"},
        {R"(\b(?:bad|injured|sore|weak|recovering)\s+back\b)", "has back issue"},
        {R"(\bback\s+(?:issue|injury|problem|pain)\b)", "has back issue"},
        {R"(\b(?:bad|injured|sore|weak|recovering)\s+(?:right\s+|left\s+)?ankle\b)", "has ankle issue"},
        {R"(\b(?:bad|injured|sore|weak|recovering)\s+(?:right\s+|left\s+)?shoulder\b)", "has shoulder issue"},
        {R"(\b(?:plantar\s+fasci|shin\s+splint|achilles|it\s*band)\w*\b)", "has running-related injury"},
    }));
    g.push_back(group(0.7, {
        {R"(\b(?:night\s+shift|work\s+nights?|graveyard\s+shift)\b)", "works night shifts"},
        {R"(\b(?:kids?|children|toddler|baby|parent)\b)", "has young children"},
        {R"(\b(?:busy|hectic|crazy)\s+(?:work|schedule|week)\b)", "has busy work schedule"},
        {R"(\btrain(?:s|ing)?\s+(\d)\s*(?:x|times)\s*(?:a|per)\s*week\b)", "trains {0}x per week"},
    }));
    g.push_back(group(0.8, {
        {R"(\b(?:marathon|26\.2|42k)\b)", "goal: marathon"},
        {R"(\bhalf\s*marathon\b)", "goal: half marathon"},
        {R"(\b10k\b)", "goal: 10k"},
        {R"(\b5k\b)", "goal: 5k"},
        {R"(\btriathlon\b)", "goal: triathlon"},
        {R"(\biron\s*man\b)", "goal: ironman"},
    }));
    return g;
  }();
  return groups;
}

std::string fact_key(std::string_view fact) { return base::to_lower_ascii(base::trim(fact)); }

// +0.1 per repeat, capped at 1.0. Rounded to 1e-9 so that repeats land on the
// decimal a reader expects (0.7 + 0.1 is 0.8, not 0.7999999999999999), which
// also keeps the "<= 0.3 drops" and ">= 0.5 shows" thresholds exact.
double boosted(double confidence) { return std::min(1.0, std::round((confidence + 0.1) * 1e9) / 1e9); }

// Time-of-day facts are "prefers <when> sessions"; the others go by prefix.
std::string_view fact_category(std::string_view fact) {
  const std::string lower = base::to_lower_ascii(fact);
  static constexpr std::array<std::string_view, 4> prefixes{"primary sport:", "goal:", "typical duration:", "level:"};
  for (auto p : prefixes)
    if (lower.starts_with(p)) return p;
  if (lower.starts_with("prefers ") && lower.find("sessions") != std::string::npos) return "prefers sessions";
  return {};
}

// A de-duplicated union in first-seen order, capped.
std::vector<std::string> union_capped(const std::vector<std::string>& a, const std::vector<std::string>& b,
                                      size_t cap) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (const auto* list : {&a, &b})
    for (const auto& item : *list)
      if (out.size() < cap && seen.insert(item).second) out.push_back(item);
  return out;
}

// ---- JSON ----

[[noreturn]] void fail(const std::string& path, const std::string& what) { throw Error(path + ": " + what); }

std::string join_path(const std::string& prefix, std::string_view key) {
  return prefix.empty() ? std::string(key) : prefix + "." + std::string(key);
}

void reject_unknown_keys(const Json& object, const std::string& prefix, std::initializer_list<std::string_view> known) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end()) fail(join_path(prefix, key), "unknown field");
  }
}

const Json& required(const Json& object, const std::string& prefix, std::string_view key) {
  auto it = object.find(std::string(key));
  if (it == object.end()) fail(join_path(prefix, key), "missing");
  return *it;
}

std::string string_field(const Json& value, const std::string& path) {
  if (!value.is_string()) fail(path, "expected a string");
  return value.get<std::string>();
}

Fact fact_at(const Json& value, const std::string& path) {
  if (!value.is_object()) fail(path.empty() ? "key_fact" : path, "expected an object");
  reject_unknown_keys(value, path, {"fact", "source", "confidence"});
  Fact fact;
  fact.fact = string_field(required(value, path, "fact"), join_path(path, "fact"));
  fact.source = string_field(required(value, path, "source"), join_path(path, "source"));
  if (fact.source != "conversation" && fact.source != "behavior" && fact.source != "profile_change")
    fail(join_path(path, "source"), "expected one of conversation, behavior, profile_change");
  const Json& confidence = required(value, path, "confidence");
  if (!confidence.is_number()) fail(join_path(path, "confidence"), "expected a number");
  fact.confidence = confidence.get<double>();
  if (!(fact.confidence >= 0.0 && fact.confidence <= 1.0)) fail(join_path(path, "confidence"), "expected 0..1");
  return fact;
}

std::vector<std::string> string_list(const Json& object, std::string_view key) {
  std::vector<std::string> out;
  auto it = object.find(std::string(key));
  if (it == object.end()) return out;
  if (!it->is_array()) fail(std::string(key), "expected an array");
  for (size_t i = 0; i < it->size(); ++i)
    out.push_back(string_field((*it)[i], std::string(key) + "[" + std::to_string(i) + "]"));
  return out;
}

}  // namespace

std::vector<Fact> extract_facts(const std::vector<HistoryTurn>& history, double min_confidence) {
  std::vector<Fact> facts;
  std::unordered_map<std::string, size_t> index;  // fact key -> position in `facts`
  for (const auto& turn : history) {
    if (turn.role != "user") continue;
    for (const auto& group : rule_groups()) {
      for (const auto& rule : group.rules) {
        auto m = rule.pattern.find(turn.message);
        if (!m) continue;
        std::string text(rule.fact);
        if (auto at = text.find("{0}"); at != std::string::npos && !m->groups.empty() && m->groups[0])
          text.replace(at, 3, *m->groups[0]);
        std::string key = fact_key(text);
        if (auto it = index.find(key); it != index.end()) {
          facts[it->second].confidence = boosted(facts[it->second].confidence);
        } else {
          index.emplace(key, facts.size());
          facts.push_back({text, "conversation", group.confidence});
        }
      }
    }
  }
  std::erase_if(facts, [&](const Fact& f) { return f.confidence < min_confidence; });
  return facts;
}

AthleteMemory merge_memory(const AthleteMemory& existing, const std::vector<Fact>& facts,
                           const std::vector<std::string>& patterns, const std::vector<std::string>& notes) {
  // Facts in first-seen order, one per key. A key repeated inside `existing`
  // keeps its first place and its last value (a later record supersedes).
  std::vector<Fact> merged;
  auto find = [&merged](const std::string& key) {
    return std::find_if(merged.begin(), merged.end(), [&key](const Fact& f) { return fact_key(f.fact) == key; });
  };
  for (const auto& f : existing.key_facts) {
    if (auto it = find(fact_key(f.fact)); it != merged.end()) *it = f;
    else merged.push_back(f);
  }
  for (const auto& f : facts) {
    if (auto it = find(fact_key(f.fact)); it != merged.end()) {
      it->confidence = boosted(it->confidence);
      continue;
    }
    // A newer fact about the same category replaces the old ones
    // ("goal: 10k" replaces "goal: marathon").
    if (auto category = fact_category(f.fact); !category.empty())
      std::erase_if(merged, [&](const Fact& old) { return fact_category(old.fact) == category; });
    merged.push_back(f);
  }
  std::erase_if(merged, [](const Fact& f) { return f.confidence <= 0.3; });
  std::stable_sort(merged.begin(), merged.end(),
                   [](const Fact& a, const Fact& b) { return a.confidence > b.confidence; });
  if (merged.size() > 15) merged.resize(15);

  AthleteMemory out;
  out.key_facts = std::move(merged);
  out.patterns = union_capped(existing.patterns, patterns, 5);
  out.coaching_notes = union_capped(existing.coaching_notes, notes, 5);
  return out;
}

std::string serialize_memory(const AthleteMemory& memory) {
  std::vector<std::string> lines;
  std::vector<std::string> facts;
  for (const auto& f : memory.key_facts)
    if (f.confidence >= 0.5) facts.push_back(f.fact);
  if (!facts.empty()) lines.push_back("- Facts: " + base::join(facts, " | "));
  if (!memory.patterns.empty()) lines.push_back("- Patterns: " + base::join(memory.patterns, " | "));
  if (!memory.coaching_notes.empty()) lines.push_back("- Notes: " + base::join(memory.coaching_notes, " | "));
  if (lines.empty()) return "";
  return "MEMORY:\n" + base::join(lines, "\n");
}

std::vector<std::string> detect_patterns(const Json& activities, const std::vector<int>& skip_days) {
  static constexpr std::array<std::string_view, 7> days{"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                        "Friday", "Saturday", "Sunday"};
  std::vector<std::string> patterns;
  for (size_t i = 0; i < skip_days.size(); ++i) {
    int d = skip_days[i];
    if (d < 0 || d > 6)
      fail("skip_days[" + std::to_string(i) + "]", "expected a weekday 0..6 (0 = Monday), got " + std::to_string(d));
    std::string pattern = "often skips " + std::string(days[static_cast<size_t>(d)]) + "s";
    // The same day listed twice is one habit, not two.
    if (std::find(patterns.begin(), patterns.end(), pattern) == patterns.end()) patterns.push_back(pattern);
  }

  // null means "no activities"; anything else must be the documented array.
  if (!activities.is_null() && !activities.is_array()) fail("activities", "expected an array");
  size_t total = 0, hard = 0;
  if (activities.is_array()) {
    for (size_t i = 0; i < activities.size(); ++i) {
      const std::string path = "activities[" + std::to_string(i) + "]";
      const Json& a = activities[i];
      if (!a.is_object()) fail(path, "expected an object");
      ++total;
      auto it = a.find("intent");
      if (it == a.end()) continue;  // an activity without an intent is not a hard one, but still counts
      std::string intent = string_field(*it, path + ".intent");
      // Zone codes are upper-case in the data; lower-case is accepted like all coach text.
      if (base::starts_with_ci(intent, "Z4") || base::starts_with_ci(intent, "Z5")) ++hard;
    }
  }
  if (total >= 5) {
    double share = static_cast<double>(hard) / static_cast<double>(total);
    if (share > 0.5) patterns.push_back("tends to favor high-intensity sessions");
    else if (share < 0.15) patterns.push_back("prefers easy/moderate sessions");
  }
  if (patterns.size() > 5) patterns.resize(5);
  return patterns;
}

Json to_json(const Fact& fact) {
  return Json{{"fact", fact.fact}, {"source", fact.source}, {"confidence", fact.confidence}};
}

Json to_json(const AthleteMemory& memory) {
  Json facts = Json::array();
  for (const auto& f : memory.key_facts) facts.push_back(to_json(f));
  Json out = Json::object();
  out["key_facts"] = std::move(facts);
  out["patterns"] = memory.patterns;
  out["coaching_notes"] = memory.coaching_notes;
  return out;
}

Fact fact_from_json(const Json& value) { return fact_at(value, ""); }

AthleteMemory memory_from_json(const Json& value) {
  AthleteMemory memory;
  if (value.is_null()) return memory;  // an absent memory is an empty one
  if (!value.is_object()) fail("athlete_memory", "expected an object");
  reject_unknown_keys(value, "", {"key_facts", "patterns", "coaching_notes"});
  if (auto it = value.find("key_facts"); it != value.end()) {
    if (!it->is_array()) fail("key_facts", "expected an array");
    for (size_t i = 0; i < it->size(); ++i)
      memory.key_facts.push_back(fact_at((*it)[i], "key_facts[" + std::to_string(i) + "]"));
  }
  memory.patterns = string_list(value, "patterns");
  memory.coaching_notes = string_list(value, "coaching_notes");
  return memory;
}

std::vector<HistoryTurn> history_from_json(const Json& value) {
  std::vector<HistoryTurn> history;
  if (value.is_null()) return history;
  if (!value.is_array()) fail("history", "expected an array");
  for (size_t i = 0; i < value.size(); ++i) {
    const std::string path = "history[" + std::to_string(i) + "]";
    const Json& item = value[i];
    if (!item.is_object()) fail(path, "expected an object");
    reject_unknown_keys(item, path, {"role", "message", "ts", "prompt"});
    HistoryTurn turn;
    turn.role = string_field(required(item, path, "role"), path + ".role");
    if (turn.role != "user" && turn.role != "assistant") fail(path + ".role", "expected \"user\" or \"assistant\"");
    turn.message = string_field(required(item, path, "message"), path + ".message");
    // The timestamp is required by the ChatContext schema but read by nothing
    // here, so a turn without one is still usable.
    if (auto it = item.find("ts"); it != item.end()) turn.ts = string_field(*it, path + ".ts");
    if (auto it = item.find("prompt"); it != item.end()) turn.prompt = string_field(*it, path + ".prompt");
    history.push_back(std::move(turn));
  }
  return history;
}

}  // namespace josi::coach
