#include "runtime/cache_reuse.hpp"

#include <algorithm>

namespace josi::runtime {
namespace {

int64_t common_length(const std::vector<int32_t>& a, int64_t a_from, const std::vector<int32_t>& b, int64_t b_from) {
  const auto n = std::min(static_cast<int64_t>(a.size()) - a_from, static_cast<int64_t>(b.size()) - b_from);
  int64_t i = 0;
  while (i < n && a[static_cast<size_t>(a_from + i)] == b[static_cast<size_t>(b_from + i)]) ++i;
  return i;
}

}  // namespace

CacheReuse plan_reuse(const std::vector<int32_t>& cached, const std::vector<int32_t>& prompt, int64_t system_tokens,
                      int32_t message_start, bool shift) {
  CacheReuse reuse;
  reuse.kept = common_length(cached, 0, prompt, 0);
  const auto n_cached = static_cast<int64_t>(cached.size());
  // Only the oldest turns are ever dropped (the prompt builder's rule), so
  // the stretch to move starts with a turn and lands right after the system turn.
  if (shift && reuse.kept >= system_tokens && reuse.kept < n_cached && system_tokens < static_cast<int64_t>(prompt.size()) &&
      prompt[static_cast<size_t>(system_tokens)] == message_start) {
    for (int64_t from = system_tokens + 1; from < n_cached; ++from) {
      if (cached[static_cast<size_t>(from)] != message_start) continue;
      const int64_t length = common_length(cached, from, prompt, system_tokens);
      if (length > reuse.moved) {
        reuse.moved_from = from;
        reuse.moved = length;
      }
    }
    if (reuse.moved >= kMinMovedTokens && reuse.moved > reuse.kept - system_tokens) {
      reuse.kept = system_tokens;
    } else {
      reuse.moved = reuse.moved_from = 0;
    }
  }
  // The last prompt token is evaluated whatever the cache holds.
  const int64_t most = std::max<int64_t>(static_cast<int64_t>(prompt.size()) - 1, 0);
  if (reuse.kept > most) reuse.kept = most;
  reuse.moved = std::clamp<int64_t>(most - reuse.kept, 0, reuse.moved);
  if (reuse.moved == 0) reuse.moved_from = 0;
  return reuse;
}

}  // namespace josi::runtime
