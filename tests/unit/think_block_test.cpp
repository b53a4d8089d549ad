// Think blocks are split from what the athlete sees by the rules of
// coach/think_block.hpp, whole or streamed in any pieces.
#include <gtest/gtest.h>

#include "base/strings.hpp"
#include "coach/think_block.hpp"

using josi::coach::split_thinking;
using josi::coach::ThinkFilter;

TEST(ThinkBlock, TextWithoutATagIsShownAsWritten) {
  const auto s = split_thinking("  Easy run today. \n");
  EXPECT_EQ(s.shown, "  Easy run today. \n");
  EXPECT_EQ(s.thinking, "");
}

TEST(ThinkBlock, ClosedBlocksAreRemovedAndTheRestTrimmed) {
  auto s = split_thinking("<think>\nThe athlete is tired.\n</think>\n\nTake an easy day.");
  EXPECT_EQ(s.shown, "Take an easy day.");
  EXPECT_EQ(s.thinking, "The athlete is tired.");
  s = split_thinking("Yes. <think>a</think>Rest <think> b </think>well.");
  EXPECT_EQ(s.shown, "Yes. Rest well.");
  EXPECT_EQ(s.thinking, "a\n\nb");
  // An empty block (Qwen3's "no thinking" form) leaves nothing behind.
  s = split_thinking("<think>\n\n</think>\n\n{\"action\": \"explain\"}");
  EXPECT_EQ(s.shown, "{\"action\": \"explain\"}");
  EXPECT_EQ(s.thinking, "");
}

TEST(ThinkBlock, AStrayCloserMakesWhatPrecedesItThinking) {
  const auto s = split_thinking("the prompt opened the block\n</think>\n\nGreat session!");
  EXPECT_EQ(s.shown, "Great session!");
  EXPECT_EQ(s.thinking, "the prompt opened the block");
}

TEST(ThinkBlock, AnUnclosedOpenerMakesWhatFollowsItThinking) {
  auto s = split_thinking("Good question. <think>maybe zone 2, but the athlete");
  EXPECT_EQ(s.shown, "Good question.");
  EXPECT_EQ(s.thinking, "maybe zone 2, but the athlete");
  s = split_thinking("<think>ran out of tokens");
  EXPECT_EQ(s.shown, "");
  EXPECT_EQ(s.thinking, "ran out of tokens");
}

// Streamed in pieces cut anywhere (inside a tag too), the shown text is the
// whole text's, up to surrounding whitespace.
TEST(ThinkBlock, AStreamShowsWhatTheWholeTextShows) {
  const std::string texts[] = {
      "<think>\nplan: easy\n</think>\n\nKeep it easy today.",
      "Answer first. <think>hidden</think> Then more.",
      "No tags at all, just < and > and </thin k>.",
      "Start <think>never closed",
      "a<think>b</think>c<think>d</think>e",
      "<thi",
  };
  for (const auto& text : texts) {
    const std::string expected = split_thinking(text).shown;
    for (size_t piece = 1; piece <= text.size(); ++piece) {
      ThinkFilter filter;
      std::string shown;
      for (size_t at = 0; at < text.size(); at += piece) shown += filter.push(std::string_view(text).substr(at, piece));
      shown += filter.finish();
      EXPECT_EQ(std::string(josi::base::trim(shown)), std::string(josi::base::trim(expected)))
          << text << " in pieces of " << piece;
      EXPECT_EQ(shown.find("<think>"), std::string::npos);
      EXPECT_EQ(shown.find("hidden"), std::string::npos);
    }
  }
}

TEST(ThinkBlock, AStrayCloserIsNotShownInAStream) {
  ThinkFilter filter;
  std::string shown = filter.push("thinking aloud </th");
  shown += filter.push("ink>\n\nHello");
  shown += filter.finish();
  EXPECT_EQ(shown, "thinking aloud Hello");  // the stream cannot take back what it showed
  EXPECT_EQ(split_thinking("thinking aloud </think>\n\nHello").shown, "Hello");
}
