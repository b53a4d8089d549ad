#pragma once
// The generation loop: the prompt in one batch, then one token at a time
// until a stop token, the token limit or the context cap, with text handed to
// the caller as soon as it is complete UTF-8.
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
