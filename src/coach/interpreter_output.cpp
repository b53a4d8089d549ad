#include "coach/interpreter_output.hpp"

#include <string>
#include <vector>

#include "base/strings.hpp"
#include "coach/model_text.hpp"

namespace josi::coach {

namespace {

// Step 1: the base model's instruct tuning leaks ```json fences the adapter
// cannot fully suppress; every fence line goes, whatever follows the backticks.
std::string strip_markdown_fences(std::string_view raw) {
  std::string_view cleaned = base::trim(raw);
  if (!cleaned.starts_with("```")) return std::string(cleaned);
  return std::string(base::trim(drop_fence_lines(cleaned)));
}

bool parse_object(std::string_view text, json::Json& out) {
  json::Json value;
  if (!json::try_parse(text, value) || !value.is_object()) return false;
  out = std::move(value);
  return true;
}

// Step 4: output cut off by the token limit. The recovery walks back from the end
// trying, at each ',', the text before it plus '}' and, at each '{', the text
// through it plus '}'; the first that parses wins. Here only candidates that
// can parse are tried, with the same result and linear cost on long output:
// one '}' closes the object only at a ',' outside strings with just the outer
// object open (a nested '{' leaves the outer one unclosed), and no candidate
// that keeps the first syntax error can parse. The opening '{' itself is not a
// candidate, as in the reference: "{}" would carry nothing the model said.
std::optional<json::Json> repair_truncated(std::string_view text) {
  size_t start = text.find('{');
  if (start == std::string_view::npos) return std::nullopt;
  std::string_view fragment = text.substr(start);

  std::vector<size_t> cuts;  // commas at depth 1, in text order
  // Every candidate that keeps the whole prefix a parser reads before its
  // first syntax error fails the same way.
  const size_t limit = json::syntax_error_offset(fragment);
  int depth = 0;
  JsonStringTracker tracker;
  for (size_t i = 0; i < fragment.size() && i <= limit; ++i) {
    char c = fragment[i];
    if (!tracker.structural(c)) continue;
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == ',' && depth == 1) {
      cuts.push_back(i);
    }
  }

  json::Json out;
  for (auto it = cuts.rbegin(); it != cuts.rend(); ++it) {
    std::string candidate(fragment.substr(0, *it));
    candidate += '}';
    if (parse_object(candidate, out)) return out;
  }
  return std::nullopt;
}

}  // namespace

std::optional<json::Json> parse_interpreter_output(std::string_view raw) {
  const std::string cleaned = strip_markdown_fences(raw);
  json::Json out;

  // Step 2. The first step that parses decides: a whole text that is valid
  // JSON but not an object (a list, a string) is a failure, not a hint to dig
  // inside it.
  if (json::try_parse(cleaned, out)) {
    if (out.is_object()) return out;
    return std::nullopt;
  }

  // Step 3: prose around the object.
  size_t first = cleaned.find('{');
  size_t last = cleaned.rfind('}');
  if (first != std::string::npos && last != std::string::npos && last > first &&
      parse_object(std::string_view(cleaned).substr(first, last - first + 1), out))
    return out;

  return repair_truncated(cleaned);
}

}  // namespace josi::coach
