#pragma once
// Which of a role's cached positions a new prompt can keep. A coach's
// conversation grows by a turn each time, so its next prompt starts with
// what the cache holds (the longest common prefix of token ids is kept and
// only the rest evaluated); when the prompt builder drops the oldest turns
// to fit the budget, the prompt is the system turn followed by a later
// stretch of the cache, which is moved down over the dropped turns
// (infer::Context::shift) instead of evaluated again.
#include <cstdint>
#include <vector>

namespace josi::runtime {

struct CacheReuse {
  int64_t kept = 0;        // cached tokens [0, kept) the prompt starts with
  int64_t moved_from = 0;  // then cached tokens [moved_from, moved_from + moved),
  int64_t moved = 0;       // which are the prompt's next ones
  int64_t reused() const { return kept + moved; }
  int64_t dropped() const { return moved > 0 ? moved_from - kept : 0; }
};

// A moved stretch shorter than this is evaluated instead.
constexpr int64_t kMinMovedTokens = 32;

// The reuse of `cached` for `prompt`. `system_tokens`: the length of the
// system turn, after which whole turns may have been dropped;
// `message_start`: the token that opens a turn (<|im_start|>). With `shift`
// false only the common prefix is kept. The prompt's last token is never
// reused (its logits choose the answer's first token).
CacheReuse plan_reuse(const std::vector<int32_t>& cached, const std::vector<int32_t>& prompt, int64_t system_tokens,
                      int32_t message_start, bool shift);

}  // namespace josi::runtime
