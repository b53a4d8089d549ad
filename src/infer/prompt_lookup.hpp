#pragma once
// Drafts for speculative decoding from the text itself ("prompt lookup"):
// the athlete's message, the context block and the interpreter JSON the
// explainer receives are often copied into the answer, so the tokens that
// followed the last earlier occurrence of the answer's latest few tokens are
// a likely continuation. The generator verifies a draft in one batch and
// keeps what the model itself would have chosen.
#include <cstdint>
#include <span>
#include <vector>

namespace josi::infer {

struct PromptLookup {
  int32_t max_ngram = 4;  // the longest suffix looked for
  int32_t min_ngram = 2;  // the shortest: one token alone matches too often
};

// Up to `max_tokens` tokens that followed the most recent earlier
// occurrence of the longest suffix of `history` (max_ngram down to
// min_ngram tokens) found earlier in it; empty when none is.
std::vector<int32_t> draft_from_history(std::span<const int32_t> history, int32_t max_tokens,
                                        const PromptLookup& lookup = {});

// How many tokens to draft on the next pass, from how the last drafts fared.
// A rejected draft still costs its rows of the batch (on two cores a 1.5b
// model is nearly compute-bound, so about a third of a pass per token):
// the length doubles while every drafted token is kept, falls to one more
// than were kept after a partial miss, and after drafts of which none was
// kept drafting pauses for 1, 2, 4 ... 16 passes.
class DraftBudget {
 public:
  explicit DraftBudget(int32_t max_tokens);
  int32_t next();  // tokens to draft now; 0 while paused
  void record(int32_t drafted, int32_t kept);

 private:
  int32_t max_, length_, misses_ = 0, pause_ = 0;
};

}  // namespace josi::infer
