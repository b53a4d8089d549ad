#include "infer/generator.hpp"

#include <algorithm>
#include <fmt/format.h>

#include "base/error.hpp"

namespace josi::infer {

std::string_view stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::stop_token: return "stop_token";
    case StopReason::max_tokens: return "max_tokens";
    case StopReason::context_full: return "context_full";
  }
  return "?";
}

std::vector<int32_t> stop_tokens_of(const Model& model, const text::Tokenizer& tokenizer) {
  std::vector<int32_t> stops;
  for (const char* name : {"<|im_end|>", "<|endoftext|>"}) {
    if (auto id = tokenizer.token_id(name)) stops.push_back(*id);
  }
  const std::string key = "tokenizer.ggml.eos_token_id";
  if (const auto* eos = model.file().find(key)) {
    const auto id = static_cast<int32_t>(eos->as_uint(key));
    if (std::find(stops.begin(), stops.end(), id) == stops.end()) stops.push_back(id);
  }
  return stops;
}

Generation generate(Context& context, const text::Tokenizer& tokenizer, const std::vector<int32_t>& prompt,
                    const GenerateOptions& options, const std::function<void(std::string_view)>& on_text) {
  using clock = std::chrono::steady_clock;
  if (prompt.empty()) throw Error("the prompt is empty", ExitCode::usage);
  if (options.max_new_tokens < 0) throw Error("max new tokens must be >= 0", ExitCode::usage);
  const int64_t free = context.n_ctx() - context.n_past();
  if (static_cast<int64_t>(prompt.size()) >= free) {
    throw Error(fmt::format("the prompt has {} tokens but the context holds {} (one more is needed to answer)",
                            prompt.size(), free));
  }
  const auto stops = options.stop_tokens.empty() ? stop_tokens_of(context.model(), tokenizer) : options.stop_tokens;
  Sampler sampler(options.sampling);
  text::Tokenizer::StreamDecoder decoder(tokenizer);
  std::vector<int32_t> history = prompt;

  Generation out;
  out.prompt_tokens = static_cast<int64_t>(prompt.size());
  const auto start = clock::now();
  auto logits = context.eval(prompt);
  const auto prompt_done = clock::now();
  out.prompt_seconds = std::chrono::duration<double>(prompt_done - start).count();

  const auto emit = [&](const std::string& piece) {
    if (piece.empty()) return;
    out.text += piece;
    if (on_text) on_text(piece);
  };
  for (;;) {
    if (static_cast<int32_t>(out.tokens.size()) >= options.max_new_tokens) {
      out.stop = StopReason::max_tokens;
      break;
    }
    const int32_t token = sampler.sample(logits, history);
    if (std::find(stops.begin(), stops.end(), token) != stops.end()) {
      out.stop = StopReason::stop_token;
      break;
    }
    out.tokens.push_back(token);
    history.push_back(token);
    emit(decoder.push(token));
    if (context.n_past() >= context.n_ctx()) {
      out.stop = StopReason::context_full;
      break;
    }
    logits = context.eval(std::span<const int32_t>(&token, 1));
  }
  emit(decoder.flush());
  out.generate_seconds = std::chrono::duration<double>(clock::now() - prompt_done).count();
  return out;
}

}  // namespace josi::infer
