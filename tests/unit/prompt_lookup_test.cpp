// Drafting from the text so far, and how much to draft.
#include <gtest/gtest.h>

#include <vector>

#include "infer/prompt_lookup.hpp"

using josi::infer::DraftBudget;
using josi::infer::draft_from_history;

TEST(PromptLookup, DraftsWhatFollowedTheLatestEarlierOccurrenceOfTheLongestSuffix) {
  // ... 7 8 9 | 1 2 3 ... 1 2 3 | 4 5 ... 1 2 3  -> the latest "1 2 3" before the end is followed by 4 5.
  const std::vector<int32_t> h = {7, 8, 9, 1, 2, 3, 6, 1, 2, 3, 4, 5, 0, 1, 2, 3};
  EXPECT_EQ(draft_from_history(h, 3), (std::vector<int32_t>{4, 5, 0}));
  EXPECT_EQ(draft_from_history(h, 1), (std::vector<int32_t>{4}));
  EXPECT_EQ(draft_from_history(h, 50), (std::vector<int32_t>{4, 5, 0, 1, 2, 3}));
  EXPECT_TRUE(draft_from_history(h, 0).empty());
}

TEST(PromptLookup, PrefersLongerMatchesAndNeedsAtLeastTwoTokens) {
  // "5 3" occurs later than "4 5 3", but the 3-token match wins.
  const std::vector<int32_t> h = {4, 5, 3, 10, 11, 5, 3, 20, 4, 5, 3};
  EXPECT_EQ(draft_from_history(h, 2), (std::vector<int32_t>{10, 11}));
  // Only the last token recurs: no draft.
  EXPECT_TRUE(draft_from_history(std::vector<int32_t>{1, 9, 2, 9}, 4).empty());
  EXPECT_TRUE(draft_from_history(std::vector<int32_t>{}, 4).empty());
  EXPECT_TRUE(draft_from_history(std::vector<int32_t>{1}, 4).empty());
  // A repeated run drafts its own continuation.
  EXPECT_EQ(draft_from_history(std::vector<int32_t>{3, 3, 3, 3}, 5), (std::vector<int32_t>{3}));
}

TEST(DraftBudget, GrowsWhileKeptShrinksOnMissesAndPausesAfterFullMisses) {
  DraftBudget b(8);
  EXPECT_EQ(b.next(), 4);
  b.record(4, 4);
  EXPECT_EQ(b.next(), 8);
  b.record(8, 8);
  EXPECT_EQ(b.next(), 8);  // capped
  b.record(8, 2);
  EXPECT_EQ(b.next(), 3);  // one more than were kept
  b.record(3, 0);          // a full miss: half the length, one pass paused
  EXPECT_EQ(b.next(), 0);
  EXPECT_EQ(b.next(), 1);
  b.record(1, 0);  // the second in a row: two passes
  EXPECT_EQ(b.next(), 0);
  EXPECT_EQ(b.next(), 0);
  EXPECT_EQ(b.next(), 1);
  b.record(0, 0);  // nothing drafted (no match) changes nothing
  EXPECT_EQ(b.next(), 1);
  b.record(1, 1);
  EXPECT_EQ(b.next(), 2);
  DraftBudget off(0);
  EXPECT_EQ(off.next(), 0);
}
