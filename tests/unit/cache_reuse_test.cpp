// What a role keeps of its cache for the next prompt (runtime/cache_reuse):
// the common prefix, a later stretch moved over the oldest turns the budget
// dropped, and never the prompt's last token.
#include <gtest/gtest.h>

#include "runtime/cache_reuse.hpp"

using josi::runtime::CacheReuse;
using josi::runtime::kMinMovedTokens;
using josi::runtime::plan_reuse;

namespace {

constexpr int32_t kStart = 1;  // <|im_start|>

// A turn: the start token and `length - 1` tokens counting up from `first`.
std::vector<int32_t> message(int32_t first, int64_t length) {
  std::vector<int32_t> t = {kStart};
  for (int64_t i = 1; i < length; ++i) t.push_back(first + static_cast<int32_t>(i));
  return t;
}

std::vector<int32_t> join(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const std::vector<int32_t> kSystem = message(100, 20);

}  // namespace

TEST(CacheReuse, AConversationThatGoesOnKeepsEverythingItShares) {
  const auto t1 = message(1000, 50), r1 = message(2000, 40), t2 = message(3000, 60);
  const auto cached = join({kSystem, t1, r1});
  const CacheReuse reuse = plan_reuse(cached, join({kSystem, t1, r1, t2}), 20, kStart, true);
  EXPECT_EQ(reuse.kept, 110);
  EXPECT_EQ(reuse.moved, 0);
  EXPECT_EQ(reuse.dropped(), 0);
}

TEST(CacheReuse, AnEditedOrDifferentHistoryKeepsOnlyWhatComesBeforeIt) {
  const auto t1 = message(1000, 50), r1 = message(2000, 40), t2 = message(3000, 60), r2 = message(4000, 40);
  auto edited = r1;
  edited[10] = 7;
  const auto cached = join({kSystem, t1, r1, t2, r2});
  const CacheReuse reuse = plan_reuse(cached, join({kSystem, t1, edited, t2, r2}), 20, kStart, true);
  EXPECT_EQ(reuse.kept, 80) << "up to the edit; what follows was computed after the unedited reply";
  EXPECT_EQ(reuse.moved, 0);
  const CacheReuse other = plan_reuse(cached, join({kSystem, message(9000, 50)}), 20, kStart, true);
  EXPECT_EQ(other.reused(), 21);  // the system turn and the next <|im_start|>
}

TEST(CacheReuse, DroppedOldestTurnsMoveTheRestDown) {
  const auto t1 = message(1000, 50), r1 = message(2000, 40), t2 = message(3000, 60), r2 = message(4000, 40),
             t3 = message(5000, 60);
  const auto cached = join({kSystem, t1, r1, t2, r2});
  const CacheReuse reuse = plan_reuse(cached, join({kSystem, t2, r2, t3}), 20, kStart, true);
  EXPECT_EQ(reuse.kept, 20);
  EXPECT_EQ(reuse.moved_from, 110);
  EXPECT_EQ(reuse.moved, 100);
  EXPECT_EQ(reuse.dropped(), 90);
  EXPECT_EQ(reuse.reused(), 120);
  // Without shifting, or for a stretch too short to be worth it, only the system turn.
  EXPECT_EQ(plan_reuse(cached, join({kSystem, t2, r2, t3}), 20, kStart, false).reused(), 21);
  const auto short_turn = message(6000, kMinMovedTokens - 1);
  const auto with_short = join({kSystem, t1, r1, short_turn});
  EXPECT_EQ(plan_reuse(with_short, join({kSystem, short_turn, message(7000, 9)}), 20, kStart, true).moved, 0);
}

TEST(CacheReuse, ATurnDroppedInTheMiddleIsNotMoved) {
  // Only the oldest turns are ever dropped; a history with a turn cut from
  // its middle evaluates from the cut, since what follows attended to it.
  const auto t1 = message(1000, 50), r1 = message(2000, 40), t2 = message(3000, 60), r2 = message(4000, 40);
  const auto cached = join({kSystem, t1, r1, t2, r2});
  const CacheReuse reuse = plan_reuse(cached, join({kSystem, t1, t2, r2}), 20, kStart, true);
  EXPECT_EQ(reuse.kept, 71);
  EXPECT_EQ(reuse.moved, 0);
}

TEST(CacheReuse, ThePromptsLastTokenIsAlwaysEvaluated) {
  const auto t1 = message(1000, 50);
  const auto cached = join({kSystem, t1});
  EXPECT_EQ(plan_reuse(cached, cached, 20, kStart, true).reused(), 69);
  const auto prefix_only = std::vector<int32_t>(cached.begin(), cached.begin() + 30);
  EXPECT_EQ(plan_reuse(cached, prefix_only, 20, kStart, true).reused(), 29);
  // A moved stretch that reaches the prompt's end gives its last token back.
  const auto r1 = message(2000, 40), t2 = message(3000, 60);
  const auto moved = plan_reuse(join({kSystem, t1, r1, t2}), join({kSystem, r1, t2}), 20, kStart, true);
  EXPECT_EQ(moved.moved, 99);
  EXPECT_EQ(moved.reused(), 119);
  EXPECT_EQ(plan_reuse({}, cached, 20, kStart, true).reused(), 0);
  EXPECT_EQ(plan_reuse(cached, {}, 20, kStart, true).reused(), 0);
}
