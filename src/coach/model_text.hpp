#pragma once
// Scanning helpers shared by the parsers of model output (interpreter JSON,
// legacy intents, explainer text): small models wrap JSON in markdown fences
// and prose, so the parsers look for braces while skipping string literals.
#include <string>
#include <string_view>

namespace josi::coach {

// Follows a scan through JSON-like text, telling string contents (with their
// backslash escapes) from structure.
class JsonStringTracker {
 public:
  // Feeds the next character; true when it is structural: outside any string
  // literal and not a quote.
  bool structural(char c) {
    if (in_string_) {
      if (escaped_) escaped_ = false;
      else if (c == '\\') escaped_ = true;
      else if (c == '"') in_string_ = false;
      return false;
    }
    if (c == '"') {
      in_string_ = true;
      return false;
    }
    return true;
  }

 private:
  bool in_string_ = false;
  bool escaped_ = false;
};

// One past the '}' that closes the object opening at `open`; npos when the
// text ends first. `depth_left` (if given) receives the braces still open then.
size_t balanced_object_end(std::string_view text, size_t open, int* depth_left = nullptr);

// `text` without the lines whose trimmed form starts with three backticks.
std::string drop_fence_lines(std::string_view text);

}  // namespace josi::coach
