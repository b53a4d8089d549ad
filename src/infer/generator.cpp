#include "infer/generator.hpp"

#include <algorithm>
#include <cctype>
#include <fmt/format.h>

#include "base/error.hpp"
#include "infer/prompt_lookup.hpp"

namespace josi::infer {

// Fixed text looked at per draft token: JSON keys and separators run 2-4 bytes a token.
constexpr size_t kFixedTextBytesPerToken = 4;

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
  const auto vocab = static_cast<size_t>(context.model().hparams().n_vocab);
  // A model's rows past its tokenizer's tokens (Qwen pads 151,669 tokens to
  // 151,936 rows) are never sampled: no text stands for them.
  const size_t sampled = std::min(vocab, tokenizer.vocab_size());
  Sampler sampler(options.sampling);
  text::Tokenizer::StreamDecoder decoder(tokenizer);
  std::vector<int32_t> history = prompt;  // the prompt and every token taken
  TokenMask mask(options.constraint ? vocab : 0);
  bool mask_ready = false, may_end = false, only_end = false;  // mask is for the next token

  Generation out;
  out.prompt_tokens = static_cast<int64_t>(prompt.size());
  out.prompt_evaluated = out.prompt_tokens - context.n_past();

  const auto emit = [&](const std::string& piece) {
    if (piece.empty()) return;
    out.text += piece;
    if (on_text) on_text(piece);
  };
  const auto generated = [&] { return static_cast<int32_t>(out.tokens.size()); };
  // Fills the constraint's mask for the next token, once.
  const auto constrain = [&] {
    if (mask_ready) return;
    // This token and, each after one more evaluation, those the context still holds.
    const int64_t room = context.n_ctx() - static_cast<int64_t>(history.size()) + 1;
    const auto remaining = static_cast<int32_t>(std::min<int64_t>(options.max_new_tokens - generated(), room));
    const auto t = clock::now();
    may_end = options.constraint->allowed(remaining, mask);
    only_end = may_end && mask.count() == 0;
    if (may_end)
      for (int32_t stop : stops) mask.set(stop);
    out.constraint_seconds += seconds_since(t);
    mask_ready = true;
  };
  // Takes a token into the answer; false when the context has no room to
  // evaluate it (generation ends).
  const auto take = [&](int32_t token) {
    if (options.constraint) {
      const auto t = clock::now();
      options.constraint->accept(token);
      out.constraint_seconds += seconds_since(t);
      mask_ready = false;
    }
    out.tokens.push_back(token);
    history.push_back(token);
    emit(decoder.push(token));
    if (static_cast<int64_t>(history.size()) - 1 >= context.n_ctx()) {
      out.stop = StopReason::context_full;
      return false;
    }
    return true;
  };
  const auto stopped_early = [&] {
    if (generated() >= options.max_new_tokens) {
      out.stop = StopReason::max_tokens;
      return true;
    }
    if (options.cancel && options.cancel->load(std::memory_order_relaxed)) {
      out.stop = StopReason::cancelled;
      return true;
    }
    return false;
  };

  // With a replay, the next token of the given answer stands in for the
  // sampler's choice; past its end, or where the constraint refuses it, the
  // answer stops.
  const auto replayed = [&](const TokenMask* allowed) {
    const auto& answer = *options.replay;
    const auto i = static_cast<size_t>(generated());
    if (i < answer.size() && (!allowed || allowed->test(answer[i]))) return answer[i];
    if (stops.empty()) throw Error("replay: the model has no stop token to end the answer with");
    return stops.front();
  };

  // The drafts evaluated after a batch of `batch_size` tokens: the
  // constraint's fixed text, then where a string opens the copy source,
  // otherwise a lookup in the history as if the fixed text were written.
  std::vector<int32_t> drafts, batch;
  // A copy's last token is left out when it ends in punctuation: the string's
  // closing quote merges with it into another token (`?",`).
  std::vector<int32_t> copy = options.copy_source;
  if (!copy.empty()) {
    const std::string last = tokenizer.decode({copy.back()});
    if (last.empty() || std::ispunct(static_cast<unsigned char>(last.back()))) copy.pop_back();
  }
  size_t fixed_drafts = 0, looked_up_from = 0;  // drafts [0, fixed) are fixed text, [looked_up_from, end) looked up
  DraftBudget budget(options.draft_tokens);
  const auto plan_drafts = [&](size_t batch_size) {
    drafts.clear();
    fixed_drafts = looked_up_from = 0;
    const int32_t wanted = budget.next();
    // A draft is worth evaluating only when a token may still follow it.
    const int64_t room = context.n_ctx() - context.n_past() - static_cast<int64_t>(batch_size);
    const int64_t left = options.max_new_tokens - generated() - 1;
    const auto most = static_cast<size_t>(std::max<int64_t>(0, std::min<int64_t>({options.draft_tokens, room, left})));
    if (most == 0) return;
    bool copied = false;
    if (options.constraint) {
      // The schema's fixed text, in the tokens a model trained on such text writes.
      const FixedText fixed = options.constraint->fixed_text(kFixedTextBytesPerToken * most);
      drafts = tokenizer.encode(fixed.text);
      if (drafts.size() > most) drafts.resize(most);
      fixed_drafts = drafts.size();
      out.decoding.fixed_text_tokens += static_cast<int64_t>(fixed_drafts);
      if (fixed.string_opens && !copy.empty() && drafts.size() < most) {
        const size_t n = std::min(copy.size(), most - drafts.size());
        drafts.insert(drafts.end(), copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(n));
        copied = true;
      }
    }
    looked_up_from = drafts.size();
    if (!copied && wanted > 0 && drafts.size() < most) {
      history.insert(history.end(), drafts.begin(), drafts.end());
      const auto more = draft_from_history(history, static_cast<int32_t>(std::min<size_t>(wanted, most - drafts.size())));
      history.resize(history.size() - drafts.size());
      drafts.insert(drafts.end(), more.begin(), more.end());
    }
    if (options.constraint) drafts.resize(options.constraint->accepts(drafts));
    out.decoding.drafted_tokens += static_cast<int64_t>(drafts.size());
  };

  // `logits` holds rows for the last evaluated token and for each draft
  // after it: row r chooses the token at the position of drafts[r]. The
  // prompt's pass carries drafts too (the answer's opening fixed text).
  const auto start = clock::now();
  batch.assign(prompt.begin() + context.n_past(), prompt.end());
  plan_drafts(batch.size());
  batch.insert(batch.end(), drafts.begin(), drafts.end());
  auto logits = context.eval_last(batch, static_cast<int64_t>(1 + drafts.size()));
  const auto prompt_done = clock::now();
  out.prompt_seconds = std::chrono::duration<double>(prompt_done - start).count();
  for (;;) {
    bool done = false;
    size_t row = 0;
    int32_t chosen = -1;
    for (;; ++row) {
      if (stopped_early()) {
        done = true;
        break;
      }
      const TokenMask* allowed = nullptr;
      if (options.constraint) {
        constrain();
        allowed = &mask;
      }
      const auto t = clock::now();
      const int32_t token = options.replay ? replayed(allowed) : sampler.sample(logits.subspan(row * vocab, sampled), history, allowed);
      out.sample_seconds += seconds_since(t);
      if (generated() == 0) out.first_token_seconds = seconds_since(start);
      if (std::find(stops.begin(), stops.end(), token) != stops.end()) {
        out.stop = StopReason::stop_token;
        done = true;
        break;
      }
      if (!take(token)) {
        done = true;
        break;
      }
      if (row < drafts.size() && token == drafts[row]) {
        ++out.decoding.accepted_draft_tokens;  // its keys and values are in already
        if (row < fixed_drafts) ++out.decoding.accepted_fixed_text_tokens;
        continue;
      }
      chosen = token;
      break;
    }
    // Drafts after the first one not chosen leave the cache.
    if (drafts.size() > row) context.set_n_past(context.n_past() - static_cast<int64_t>(drafts.size() - row));
    // The budget follows the looked-up drafts only.
    const size_t kept = std::min(row, drafts.size());
    budget.record(static_cast<int32_t>(drafts.size() - looked_up_from),
                  static_cast<int32_t>(kept > looked_up_from ? kept - looked_up_from : 0));
    if (done) break;

    batch.assign(1, chosen);
    if (options.constraint && options.batch_forced) {
      while (!done && generated() < options.max_new_tokens) {
        constrain();
        if (only_end) {  // every token allowed ends the answer: no pass needed to choose one
          out.stop = StopReason::stop_token;
          done = true;
          break;
        }
        const int32_t forced = may_end ? -1 : mask.only();
        if (forced < 0) break;
        ++out.decoding.forced_tokens;
        done = !take(forced);
        batch.push_back(forced);
      }
      if (done) break;
    }
    if (generated() >= options.max_new_tokens) {  // nothing would read the pass's logits
      out.stop = StopReason::max_tokens;
      break;
    }
    plan_drafts(batch.size());
    batch.insert(batch.end(), drafts.begin(), drafts.end());
    logits = context.eval_last(batch, static_cast<int64_t>(1 + drafts.size()));
    ++out.decoding.forward_passes;
  }
  emit(decoder.flush());
  out.generate_seconds = std::chrono::duration<double>(clock::now() - prompt_done).count();
  return out;
}

}  // namespace josi::infer
