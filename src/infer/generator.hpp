#pragma once
// The generation loop: the prompt in one batch, then one token at a time
// until a stop token, the token limit or the context cap, with text handed to
// the caller as soon as it is complete UTF-8.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "infer/context.hpp"
#include "infer/sampler.hpp"
#include "text/tokenizer.hpp"

namespace josi::infer {

struct GenerateOptions {
  SamplingParams sampling;
  int32_t max_new_tokens = 150;
  std::vector<int32_t> stop_tokens;  // empty: the model's end-of-turn tokens (stop_tokens_of)
};

enum class StopReason { stop_token, max_tokens, context_full };
std::string_view stop_reason_name(StopReason reason);

struct Generation {
  std::vector<int32_t> tokens;  // generated, without the stop token
  std::string text;
  StopReason stop = StopReason::max_tokens;
  int64_t prompt_tokens = 0;
  double prompt_seconds = 0, generate_seconds = 0;
};

// <|im_end|> and <|endoftext|> where the vocabulary has them, plus the file's
// tokenizer.ggml.eos_token_id.
std::vector<int32_t> stop_tokens_of(const Model& model, const text::Tokenizer& tokenizer);

// Runs `prompt` from the context's current position (usually 0) and generates.
// Throws josi::Error before any work when the prompt does not fit the context.
Generation generate(Context& context, const text::Tokenizer& tokenizer, const std::vector<int32_t>& prompt,
                    const GenerateOptions& options, const std::function<void(std::string_view)>& on_text = {});

}  // namespace josi::infer
