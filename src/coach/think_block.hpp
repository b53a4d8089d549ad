#pragma once
// Qwen3 may reason in a think block, "<think>...</think>", before its
// answer. The athlete never sees it: the runtime splits every generated text
// into what is shown and the thinking, which the turn result reports apart.
// The rules, on the text as decoded (<think> and </think> are ordinary
// tokens of the Qwen3 vocabulary, not special ones):
//   1. every closed pair <think>...</think> is removed with the whitespace
//      after it, its content kept as thinking;
//   2. a </think> left without an opener (the prompt opened the block) makes
//      everything before it thinking;
//   3. a <think> left without a closer (the answer ran out while thinking)
//      makes everything after it thinking;
//   4. the rest, trimmed of surrounding whitespace, is shown.
// Text with no think tag at all is shown exactly as written.
#include <string>
#include <string_view>

namespace josi::coach {

struct ThinkSplit {
  std::string shown;     // what the athlete sees
  std::string thinking;  // the think blocks' contents, trimmed, one blank line apart; empty when none
};

ThinkSplit split_thinking(std::string_view text);

// The same rules for text that arrives in pieces (a streamed answer): push
// returns what may be shown now, holding back anything that might still turn
// out to be a think tag; finish returns the rest. What was shown before a
// stray </think> (rule 2) cannot be taken back: the stream is provisional,
// split_thinking's `shown` is the answer.
class ThinkFilter {
 public:
  std::string push(std::string_view piece);
  std::string finish();

 private:
  std::string pending_;
  bool inside_ = false;      // within <think>...
  bool after_block_ = false; // a block just closed: its trailing whitespace is not shown
};

}  // namespace josi::coach
