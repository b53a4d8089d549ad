#pragma once
// The generation loop: the prompt in one batch, then the answer until a stop
// token, the token limit or the context cap, with text handed to the caller
// as soon as it is complete UTF-8. Two things make an answer take fewer
// forward passes without changing a token of it:
//  - forced tokens: when the constraint allows exactly one token, it is
//    taken without sampling and evaluated in one batch with the token before
//    (and when it allows only the end, the answer ends without a pass);
//  - speculation: tokens drafted from the constraint's fixed text (the
//    rest of a key, its `": "`), then the copy source where a string opens
//    or else from the prompt and the answer so far (prompt_lookup.hpp), are
//    evaluated in that batch too; each is kept while
//    it is the token the sampler chooses from the logits before it, so what
//    is kept is exactly what plain decoding would have chosen (a token's
//    logits do not depend on its batch, and the sampler draws once per
//    token, as it would without drafts).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "infer/context.hpp"
#include "infer/sampler.hpp"
#include "infer/token_constraint.hpp"
#include "text/tokenizer.hpp"

namespace josi::infer {

struct GenerateOptions {
  SamplingParams sampling;
  int32_t max_new_tokens = 150;
  std::vector<int32_t> stop_tokens;  // empty: the model's end-of-turn tokens (stop_tokens_of)
  // When set, only tokens it allows are sampled, and a stop token only when
  // it says the text may end. Not owned.
  TokenConstraint* constraint = nullptr;
  // When set, generation ends before the next token once it reads true
  // (another thread may set it at any time). Not owned.
  const std::atomic<bool>* cancel = nullptr;
  bool batch_forced = true;     // forced tokens in one batch (with a constraint)
  int32_t draft_tokens = 16;    // speculation: at most this many drafted per pass; 0: off
  // Text the answer's strings are likely to copy (the interpreter's
  // free_text and question repeat the athlete's message): drafted where the
  // constraint says a string opens.
  std::vector<int32_t> copy_source;
  // When set, these tokens are the answer, taken as if sampled (then a stop
  // token): the forward passes are run, and counted, as for a model that
  // wrote them. For benchmarks on real outputs, which random weights cannot
  // write. Not owned.
  const std::vector<int32_t>* replay = nullptr;
};

// How an answer's tokens were evaluated.
struct DecodingCounts {
  int64_t forward_passes = 0;         // evaluations after the prompt's
  int64_t forced_tokens = 0;          // taken from the constraint without sampling
  int64_t drafted_tokens = 0;         // evaluated as drafts
  int64_t accepted_draft_tokens = 0;  // of which kept
  int64_t fixed_text_tokens = 0;           // drafts from the constraint's fixed text (part of drafted_tokens)
  int64_t accepted_fixed_text_tokens = 0;  // of which kept
};

enum class StopReason { stop_token, max_tokens, context_full, cancelled };
std::string_view stop_reason_name(StopReason reason);

struct Generation {
  std::vector<int32_t> tokens;  // generated, without the stop token
  std::string text;
  StopReason stop = StopReason::max_tokens;
  int64_t prompt_tokens = 0;     // the whole prompt
  int64_t prompt_evaluated = 0;  // of which evaluated now (the rest was in the context already)
  double prompt_seconds = 0, generate_seconds = 0;
  double first_token_seconds = 0;  // from the start until the first answer token is chosen
  double sample_seconds = 0;      // choosing tokens from logits (part of generate_seconds)
  double constraint_seconds = 0;  // the output constraint's masks and bookkeeping (part of generate_seconds)
  DecodingCounts decoding;
};

// <|im_end|> and <|endoftext|> where the vocabulary has them, plus the end
// tokens the model's files name.
std::vector<int32_t> stop_tokens_of(const Model& model, const text::Tokenizer& tokenizer);

// Generates the answer to `prompt`. The context may already hold the first
// n_past() tokens of `prompt` (a cached system-prompt prefix): only the rest
// is evaluated. Throws josi::Error before any work when the prompt does not
// fit the context, or the context holds more than the prompt's prefix.
Generation generate(Context& context, const text::Tokenizer& tokenizer, const std::vector<int32_t>& prompt,
                    const GenerateOptions& options, const std::function<void(std::string_view)>& on_text = {});

}  // namespace josi::infer
