#include "coach/think_block.hpp"

#include <algorithm>

#include "base/strings.hpp"

namespace josi::coach {

namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";

void add_thinking(std::string& thinking, std::string_view part) {
  const std::string_view trimmed = base::trim(part);
  if (trimmed.empty()) return;
  if (!thinking.empty()) thinking += "\n\n";
  thinking += trimmed;
}

// The length of the longest end of `text` that begins `tag` (a tag cut off
// between two pieces).
size_t partial_tag(std::string_view text, std::string_view tag) {
  for (size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n)
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  return 0;
}

}  // namespace

ThinkSplit split_thinking(std::string_view text) {
  if (text.find(kOpen) == std::string_view::npos && text.find(kClose) == std::string_view::npos)
    return {std::string(text), ""};
  ThinkSplit out;
  // 1. Closed pairs, each opener with the first closer after it.
  std::string rest;
  size_t at = 0;
  for (;;) {
    const size_t open = text.find(kOpen, at);
    const size_t close = open == std::string_view::npos ? open : text.find(kClose, open + kOpen.size());
    if (close == std::string_view::npos) break;
    rest += text.substr(at, open - at);
    add_thinking(out.thinking, text.substr(open + kOpen.size(), close - open - kOpen.size()));
    // The whitespace after a block goes with it (Qwen3 writes "</think>\n\n").
    at = text.find_first_not_of(" \t\r\n", close + kClose.size());
    if (at == std::string_view::npos) at = text.size();
  }
  rest += text.substr(at);
  std::string_view shown = rest;
  // 2. A closer without an opener: what precedes it was thinking.
  if (const size_t close = shown.rfind(kClose); close != std::string_view::npos) {
    add_thinking(out.thinking, shown.substr(0, close));
    shown = shown.substr(close + kClose.size());
  }
  // 3. An opener without a closer: what follows it is thinking.
  if (const size_t open = shown.find(kOpen); open != std::string_view::npos) {
    add_thinking(out.thinking, shown.substr(open + kOpen.size()));
    shown = shown.substr(0, open);
  }
  out.shown = std::string(base::trim(shown));
  return out;
}

std::string ThinkFilter::push(std::string_view piece) {
  pending_ += piece;
  std::string out;
  for (;;) {
    if (inside_) {
      const size_t close = pending_.find(kClose);
      if (close == std::string::npos) {  // thinking: keep only what may start the closer
        pending_.erase(0, pending_.size() - partial_tag(pending_, kClose));
        return out;
      }
      pending_.erase(0, close + kClose.size());
      inside_ = false;
      after_block_ = true;
      continue;
    }
    if (after_block_) {
      const size_t text = pending_.find_first_not_of(" \t\r\n");
      pending_.erase(0, text == std::string::npos ? pending_.size() : text);
      if (pending_.empty()) return out;
      after_block_ = false;
    }
    const size_t open = pending_.find(kOpen), close = pending_.find(kClose);
    const size_t tag = std::min(open, close);
    if (tag == std::string::npos) {
      const size_t held = std::max(partial_tag(pending_, kOpen), partial_tag(pending_, kClose));
      out += pending_.substr(0, pending_.size() - held);
      pending_.erase(0, pending_.size() - held);
      return out;
    }
    out += pending_.substr(0, tag);
    if (tag == open) {
      pending_.erase(0, open + kOpen.size());
      inside_ = true;
    } else {  // a stray closer: hide the tag itself
      pending_.erase(0, close + kClose.size());
      after_block_ = true;
    }
  }
}

std::string ThinkFilter::finish() {
  std::string out = inside_ ? std::string() : std::move(pending_);
  pending_.clear();
  inside_ = false;
  after_block_ = false;
  return out;
}

}  // namespace josi::coach
