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
    case StopReason::cancelled: return "cancelled";
  }
  return "?";
}

std::vector<int32_t> stop_tokens_of(const Model& model, const text::Tokenizer& tokenizer) {
  std::vector<int32_t> stops;
  for (const char* name : {"<|im_end|>", "<|endoftext|>"}) {
    if (auto id = tokenizer.token_id(name)) stops.push_back(*id);
  }
  for (const int32_t id : model.eos_tokens())
    if (std::find(stops.begin(), stops.end(), id) == stops.end()) stops.push_back(id);
  return stops;
}

Generation generate(Context& context, const text::Tokenizer& tokenizer, const std::vector<int32_t>& prompt,
                    const GenerateOptions& options, const std::function<void(std::string_view)>& on_text) {
  using clock = std::chrono::steady_clock;
  const auto seconds_since = [](clock::time_point t) { return std::chrono::duration<double>(clock::now() - t).count(); };
  if (prompt.empty()) throw Error("the prompt is empty", ExitCode::usage);
  if (options.max_new_tokens < 0) throw Error("max new tokens must be >= 0", ExitCode::usage);
  if (static_cast<int64_t>(prompt.size()) >= context.n_ctx()) {
    throw Error(fmt::format("the prompt has {} tokens but the context holds {} (one more is needed to answer)",
                            prompt.size(), context.n_ctx()));
  }
  if (context.n_past() > static_cast<int64_t>(prompt.size()))
    throw Error(fmt::format("the context holds {} tokens, more than the prompt's {}", context.n_past(), prompt.size()));
  // The last prompt token is always evaluated: its logits choose the first answer token.
  context.set_n_past(std::min<int64_t>(context.n_past(), static_cast<int64_t>(prompt.size()) - 1));
  const auto stops = options.stop_tokens.empty() ? stop_tokens_of(context.model(), tokenizer) : options.stop_tokens;
  Sampler sampler(options.sampling);
  text::Tokenizer::StreamDecoder decoder(tokenizer);
  std::vector<int32_t> history = prompt;
  TokenMask mask(options.constraint ? static_cast<size_t>(context.model().hparams().n_vocab) : 0);

  Generation out;
  out.prompt_tokens = static_cast<int64_t>(prompt.size());
  out.prompt_evaluated = out.prompt_tokens - context.n_past();
  const auto start = clock::now();
  auto logits = context.eval(std::span<const int32_t>(prompt).subspan(static_cast<size_t>(context.n_past())));
  const auto prompt_done = clock::now();
  out.prompt_seconds = std::chrono::duration<double>(prompt_done - start).count();

  const auto emit = [&](const std::string& piece) {
    if (piece.empty()) return;
    out.text += piece;
    if (on_text) on_text(piece);
  };
  for (;;) {
    const auto generated = static_cast<int32_t>(out.tokens.size());
    if (generated >= options.max_new_tokens) {
      out.stop = StopReason::max_tokens;
      break;
    }
    if (options.cancel && options.cancel->load(std::memory_order_relaxed)) {
      out.stop = StopReason::cancelled;
      break;
    }
    const TokenMask* allowed = nullptr;
    if (options.constraint) {
      // This token and, each after one more evaluation, those the context still holds.
      const int64_t room = context.n_ctx() - context.n_past() + 1;
      const auto remaining = static_cast<int32_t>(std::min<int64_t>(options.max_new_tokens - generated, room));
      const auto t = clock::now();
      if (options.constraint->allowed(remaining, mask))
        for (int32_t stop : stops) mask.set(stop);
      out.constraint_seconds += seconds_since(t);
      allowed = &mask;
    }
    const auto t = clock::now();
    const int32_t token = sampler.sample(logits, history, allowed);
    out.sample_seconds += seconds_since(t);
    if (generated == 0) out.first_token_seconds = seconds_since(start);
    if (std::find(stops.begin(), stops.end(), token) != stops.end()) {
      out.stop = StopReason::stop_token;
      break;
    }
    if (options.constraint) {
      const auto t2 = clock::now();
      options.constraint->accept(token);
      out.constraint_seconds += seconds_since(t2);
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
