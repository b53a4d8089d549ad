#include "infer/prompt_lookup.hpp"

#include <algorithm>

namespace josi::infer {

std::vector<int32_t> draft_from_history(std::span<const int32_t> history, int32_t max_tokens,
                                        const PromptLookup& lookup) {
  const auto size = static_cast<int64_t>(history.size());
  if (max_tokens <= 0) return {};
  for (int64_t n = std::min<int64_t>(lookup.max_ngram, size - 1); n >= std::max(1, lookup.min_ngram); --n) {
    const auto suffix = history.subspan(static_cast<size_t>(size - n));
    // The latest earlier start i with history[i, i + n) == suffix and a
    // token after it.
    for (int64_t i = size - n - 1; i >= 0; --i) {
      if (!std::equal(suffix.begin(), suffix.end(), history.begin() + i)) continue;
      const int64_t from = i + n, to = std::min(size, from + max_tokens);
      return {history.begin() + from, history.begin() + to};
    }
  }
  return {};
}

DraftBudget::DraftBudget(int32_t max_tokens) : max_(std::max(0, max_tokens)), length_(std::max(1, max_ / 2)) {}

int32_t DraftBudget::next() {
  if (max_ == 0) return 0;
  if (pause_ > 0) {
    --pause_;
    return 0;
  }
  return length_;
}

void DraftBudget::record(int32_t drafted, int32_t kept) {
  if (drafted <= 0) return;
  if (kept == drafted) {
    length_ = std::min(2 * length_, max_);
    misses_ = 0;
  } else if (kept > 0) {
    length_ = std::min(kept + 1, max_);
    misses_ = 0;
  } else {
    length_ = std::max(1, length_ / 2);
    pause_ = 1 << std::min(misses_, 4);
    ++misses_;
  }
}

}  // namespace josi::infer
