#include "coach/model_text.hpp"

#include "base/strings.hpp"

namespace josi::coach {

size_t balanced_object_end(std::string_view text, size_t open, int* depth_left) {
  JsonStringTracker tracker;
  int depth = 0;
  for (size_t i = open; i < text.size(); ++i) {
    char c = text[i];
    if (!tracker.structural(c)) continue;
    if (c == '{') ++depth;
    else if (c == '}' && --depth == 0) return i + 1;
  }
  if (depth_left) *depth_left = depth;
  return std::string_view::npos;
}

std::string drop_fence_lines(std::string_view text) {
  std::string out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t nl = text.find('\n', pos);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(pos, end - pos);
    if (!base::trim(line).starts_with("```")) {
      out.append(line);
      if (nl != std::string_view::npos) out += '\n';
    }
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return out;
}

}  // namespace josi::coach
