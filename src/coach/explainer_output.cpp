#include "coach/explainer_output.hpp"

#include <algorithm>
#include <utility>

#include "base/regex.hpp"
#include "base/strings.hpp"
#include "coach/model_text.hpp"
#include "coach/governor.hpp"
#include "json/json.hpp"

namespace josi::coach {

namespace {

using base::Regex;

// The explainer prompts' BOUNDARIES: internal systems, then technical jargon.
// Each term is reported under its canonical (prompt) spelling.
struct JargonTerm {
  std::string_view name;
  Regex pattern;
};

const std::vector<JargonTerm>& jargon_terms() {
  // Multi-word terms also match with a hyphen or several spaces, and the
  // countable nouns in the plural, because the model writes both.
  // "hmm" matches only as the upper-case acronym HMM: the lower-case word is
  // an everyday interjection ("Hmm, let's see") and not the forbidden model name.
  static const std::vector<JargonTerm> terms = [] {
    std::vector<JargonTerm> t;
    auto add = [&t](std::string_view name, std::string_view body, unsigned flags = Regex::caseless) {
      t.push_back({name, Regex("\\b(?:" + std::string(body) + ")\\b", flags)});
    };
    add("algorithm", "algorithms?");
    add("viterbi", "viterbi");
    add("hmm", "HMMs?", Regex::none);
    add("hidden markov", R"(hidden[\s-]+markov)");
    add("acwr", "acwr");
    add("gatc", "gatc");
    add("ewma", "ewma");
    add("tss", "tss");
    add("ctl", "ctl");
    add("atl", "atl");
    add("tsb", "tsb");
    add("periodization", "periodi[sz]ation");
    add("mesocycle", R"(meso[\s-]*cycles?)");
    add("microcycle", R"(micro[\s-]*cycles?)");
    add("macrocycle", R"(macro[\s-]*cycles?)");
    add("supercompensation", R"(super[\s-]*compensation)");
    add("vo2max", R"(vo2[\s-]*max)");
    add("lactate threshold", R"(lactate[\s-]+thresholds?)");
    add("ftp", "ftp");
    add("threshold power", R"(threshold[\s-]+power)");
    add("anaerobic capacity", R"(anaerobic[\s-]+capacity)");
    return t;
  }();
  return terms;
}

// Removes JSON objects the model echoed into its text (usually the
// [INTERPRETER] block it was shown), and a JSON object cut off by the token
// limit at the end. Braces that do not hold JSON ("{compliance}%") stay.
std::string drop_json_objects(std::string_view text) {
  static const Regex interpreter_label(R"(\[INTERPRETER\]\s*$)");
  static const Regex json_start(R"(\{\s*")");
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find('{', pos);
    if (open == std::string_view::npos) break;
    size_t close = balanced_object_end(text, open);
    bool remove = false;
    if (close == std::string_view::npos) {
      // Truncated: only when it plainly starts like a JSON object.
      auto m = json_start.find(text, open);
      remove = m && m->begin == open;
      if (remove) close = text.size();
    } else {
      json::Json parsed;
      remove = json::try_parse(text.substr(open, close - open), parsed) && parsed.is_object();
    }
    if (!remove) {
      out.append(text.substr(pos, open + 1 - pos));
      pos = open + 1;
      continue;
    }
    std::string before(text.substr(pos, open - pos));
    if (auto m = interpreter_label.find(before)) before.erase(m->begin);
    out += before;
    // Keep the two sides apart, but with one separator rather than the object.
    while (!out.empty() && (out.back() == ' ' || out.back() == '\t')) out.pop_back();
    size_t next = close;
    while (next < text.size() && (text[next] == ' ' || text[next] == '\t')) ++next;
    if (!out.empty() && next < text.size() && !base::is_space(out.back()) && !base::is_space(text[next])) out += ' ';
    pos = next;
  }
  if (pos < text.size()) out.append(text.substr(pos));
  return out;
}

// A reply that is nothing but a legacy LLMIntent-style object carries the
// athlete's text in "message": show that rather than nothing.
bool whole_object_message(std::string_view text, std::string& message) {
  json::Json parsed;
  if (!json::try_parse(text, parsed) || !parsed.is_object()) return false;
  auto it = parsed.find("message");
  if (it == parsed.end() || !it->is_string()) return false;
  message = it->get<std::string>();
  return true;
}

}  // namespace

std::vector<std::string> find_jargon(std::string_view text) {
  std::vector<std::pair<size_t, std::string_view>> found;
  for (const auto& term : jargon_terms())
    if (auto m = term.pattern.find(text)) found.emplace_back(m->begin, term.name);
  // First-seen = position in the text; the prompt's order breaks ties.
  std::stable_sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<std::string> names;
  for (const auto& f : found) names.emplace_back(f.second);
  return names;
}

ExplainerText finish_explainer_text(std::string_view raw) {
  std::string text(base::trim(raw));
  text = std::string(base::trim(drop_fence_lines(text)));
  std::string message;
  if (whole_object_message(text, message)) {
    text = std::string(base::trim(message));
  } else {
    text = std::string(base::trim(drop_json_objects(text)));
  }
  ExplainerText out;
  out.text = govern(text);
  out.jargon = find_jargon(out.text);
  return out;
}

}  // namespace josi::coach
