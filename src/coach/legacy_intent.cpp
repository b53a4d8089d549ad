#include "coach/legacy_intent.hpp"

#include <set>
#include <string>

#include "base/strings.hpp"
#include "coach/model_text.hpp"
#include "embedded/schemas.hpp"

namespace josi::coach {

namespace {

using json::Json;


struct AllowedValues {
  std::set<std::string> intents;
  std::set<std::string> response_types;
};

// The allowed sets come from the LLMIntent contract itself, so the parser and
// the schema cannot drift apart.
const AllowedValues& allowed_values() {
  static const AllowedValues allowed = [] {
    Json schema = Json::parse(embedded::schemas::llm_intent());
    AllowedValues a;
    for (const auto& v : schema.at("properties").at("intent").at("enum")) a.intents.insert(v.get<std::string>());
    for (const auto& v : schema.at("properties").at("response_type").at("enum"))
      a.response_types.insert(v.get<std::string>());
    return a;
  }();
  return allowed;
}

bool string_in(const Json& object, const char* key, const std::set<std::string>& allowed) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() && allowed.count(it->get<std::string>()) > 0;
}

// Validity: source_cards is not checked here (it is backfilled).
bool is_valid_intent(const Json& v) {
  if (!v.is_object()) return false;
  const auto& allowed = allowed_values();
  if (!string_in(v, "intent", allowed.intents) || !string_in(v, "response_type", allowed.response_types)) return false;
  auto message = v.find("message");
  if (message == v.end() || !message->is_string() || message->get_ref<const std::string&>().empty()) return false;
  auto guardrail = v.find("guardrail_triggered");
  return guardrail != v.end() && guardrail->is_boolean();
}

// Missing optional keys are appended in this order, then source_cards is
// backfilled (in place when present but not a non-empty list).
Json with_defaults(Json v) {
  for (const char* key : {"guardrail_reason", "replan_request", "tool_call"})
    if (!v.contains(key)) v[key] = nullptr;
  auto cards = v.find("source_cards");
  if (cards == v.end() || !cards->is_array() || cards->empty()) v["source_cards"] = Json::array({"josi_explanations"});
  return v;
}

std::optional<Json> accept(std::string_view text) {
  Json value;
  if (json::try_parse(text, value) && is_valid_intent(value)) return with_defaults(std::move(value));
  return std::nullopt;
}

// One pass of the small model's JavaScript habit `"a" + "b"` -> `"ab"`, leftmost
// first and non-overlapping. Quote-naive on purpose: the reference looks only
// at '"' characters, not at JSON string boundaries.
std::string merge_concatenations_once(const std::string& text) {
  std::string out;
  size_t pos = 0;
  while (true) {
    size_t open = text.find('"', pos);
    if (open == std::string::npos) break;
    size_t close = text.find('"', open + 1);
    if (close == std::string::npos) break;
    size_t i = close + 1;
    while (i < text.size() && base::is_space(text[i])) ++i;
    bool joined = false;
    if (i < text.size() && text[i] == '+') {
      ++i;
      while (i < text.size() && base::is_space(text[i])) ++i;
      if (i < text.size() && text[i] == '"') {
        size_t close2 = text.find('"', i + 1);
        if (close2 != std::string::npos) {
          out.append(text, pos, close - pos);                // up to and including the first part
          out.append(text, i + 1, close2 - i - 1);           // the second part's content
          out += '"';
          pos = close2 + 1;
          joined = true;
        }
      }
    }
    if (!joined) {
      // No match starting at `open`; the next attempt starts at the next quote.
      out.append(text, pos, close - pos);
      pos = close;
    }
  }
  out.append(text, pos, std::string::npos);
  return out;
}

std::string merge_concatenations(std::string text) {
  // Repeat until stable: chains of three or more parts merge one pair per pass.
  while (true) {
    std::string merged = merge_concatenations_once(text);
    if (merged == text) return text;
    text = std::move(merged);
  }
}

// 'value' -> "value" where it follows ':' ',' '[' or '{' (optionally after
// whitespace, which becomes one space). The preceding character is read from
// the original text, as a regex substitution would.
std::string double_quote_single_quoted(const std::string& text) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    if (i > 0) {
      char before = text[i - 1];
      if (before == ':' || before == ',' || before == '[' || before == '{') {
        size_t j = i;
        while (j < text.size() && base::is_space(text[j])) ++j;
        if (j < text.size() && text[j] == '\'') {
          size_t close = text.find('\'', j + 1);
          if (close != std::string::npos) {
            out += " \"";
            out.append(text, j + 1, close - j - 1);
            out += '"';
            i = close + 1;
            continue;
          }
        }
      }
    }
    out += text[i++];
  }
  return out;
}

// The first balanced {...}, aware of strings and backslash escapes. Text that
// ends with braces still open is closed with that many '}' and kept only if
// the result parses.
std::optional<std::string> first_object(const std::string& text) {
  size_t start = text.find('{');
  if (start == std::string::npos) return std::nullopt;
  int depth = 0;
  size_t end = balanced_object_end(text, start, &depth);
  if (end != std::string::npos) return text.substr(start, end - start);
  if (depth <= 0) return std::nullopt;
  std::string candidate = text.substr(start) + std::string(static_cast<size_t>(depth), '}');
  Json ignored;
  if (json::try_parse(candidate, ignored)) return candidate;
  return std::nullopt;
}

}  // namespace

std::optional<json::Json> parse_legacy_intent(std::string_view raw) {
  std::string text(base::trim(raw));
  if (text.empty()) return std::nullopt;

  if (auto intent = accept(text)) return intent;

  text = double_quote_single_quoted(merge_concatenations(std::move(text)));
  auto candidate = first_object(text);
  if (!candidate) return std::nullopt;
  if (auto intent = accept(*candidate)) return intent;

  // Single-quote repair can expose new "a" + "b" pairs inside the candidate.
  std::string merged = merge_concatenations(*candidate);
  if (merged != *candidate) return accept(merged);
  return std::nullopt;
}

}  // namespace josi::coach
