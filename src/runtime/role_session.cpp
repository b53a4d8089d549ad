#include "runtime/role_session.hpp"

#include <algorithm>

#include "coach/think_block.hpp"
#include "base/error.hpp"
#include "base/utf8.hpp"
#include "infer/generator.hpp"
#include "kernels/cpu_features.hpp"
#include "text/chat_template.hpp"

namespace josi::runtime {

// The kernels' path is part of it: keys and values computed by another path
// differ in their last bits, and a turn should not depend on which ran first.
std::string engine_cache_version(infer::KvType kv_type) {
  return std::string("josi ") + JOSI_VERSION + " kv " + std::string(infer::kv_type_name(kv_type)) + " v1 " +
         std::string(kernels::isa_name(kernels::active_isa()));
}

LoadedModel::LoadedModel(const std::filesystem::path& p, const LoadedModel* share_with)
    : path(p), model(p), identity(model_identity(p)) {
  // A GGUF file carries its vocabulary; a Hugging Face directory has tokenizer.json.
  auto words = model.gguf() ? text::vocabulary_from_gguf(*model.gguf())
                            : text::vocabulary_from_tokenizer_json(p / "tokenizer.json");
  vocabulary = text::fingerprint(words);
  if (model.gguf()) trained_as = formats::trained_as(*model.gguf(), p.string());
  if (share_with && share_with->vocabulary == vocabulary) {
    tokenizer = share_with->tokenizer;
  } else {
    try {
      tokenizer = std::make_shared<const text::Tokenizer>(std::move(words));
    } catch (const Error& e) {
      throw Error(p.string() + ": " + e.what(), e.code());
    }
  }
  for (const char* key : text::kGgufVocabularyArrays) model.release_metadata(key);
  for (const char* marker : {"<|im_start|>", "<|im_end|>"}) {
    const auto id = tokenizer->token_id(marker);
    if (!id || !tokenizer->is_control(*id))
      throw Error(p.string() + ": the model has no " + marker + " control token (a ChatML model is needed)");
  }
}

RoleSession::RoleSession(std::string role, const LoadedModel& model, const infer::Adapter* adapter, base::ThreadPool& pool,
                         int64_t n_ctx, std::string system_prompt, infer::KvType kv_type,
                         std::shared_ptr<infer::Workspace> workspace)
    : role_(std::move(role)),
      model_(model),
      identity_(adapter ? model.identity + "\nadapter " + model_identity(adapter->path()) : model.identity),
      system_(std::move(system_prompt)),
      context_(model.model, pool, n_ctx, adapter, kv_type, std::move(workspace)) {
  // The system turn, then the start of the user turn up to its line break.
  prefix_ = text::encode_chatml(*model.tokenizer, {{"system", system_}}, false);
  system_tokens_ = static_cast<int64_t>(prefix_.size());
  prefix_.push_back(*model.tokenizer->token_id("<|im_start|>"));
  const auto user = model.tokenizer->encode("user\n");
  prefix_.insert(prefix_.end(), user.begin(), user.end());
  if (static_cast<int64_t>(prefix_.size()) >= n_ctx)
    throw Error(role_ + " system prompt: " + std::to_string(prefix_.size()) + " tokens do not fit the context of " +
                std::to_string(n_ctx));
}

PrefixStatus RoleSession::prepare(const std::optional<std::filesystem::path>& cache_dir) {
  const auto start = std::chrono::steady_clock::now();
  PrefixStatus status{role_, static_cast<int64_t>(prefix_.size()), "evaluated", "", 0};
  std::optional<PrefixCache> cache;
  if (cache_dir) {
    cache.emplace(*cache_dir,
                  engine_cache_version(context_.kv_cache().type()) + "\nmodel " + identity_ + "\nprompt " + system_);
    if (cache->load(prefix_, context_, status.note)) {
      status.source = "cache file";
      status.note.clear();
    }
  }
  if (status.source != "cache file") {
    context_.reset();
    context_.eval(prefix_);
    // The prefix's batch needed the largest buffers this context will see;
    // a turn's own batch is far smaller.
    context_.release_buffers();
    if (cache) cache->save(prefix_, context_);
  }
  cached_ = prefix_;
  status.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return status;
}

CacheReuse RoleSession::start_turn(const std::vector<int32_t>& prompt, bool use_cache) {
  if (!use_cache) {
    context_.reset();
    cached_.clear();
    return {};
  }
  // A message starting with spaces or a line break merges with "user\n" into
  // other tokens: then only the common part is reused.
  if (reuse_ == Reuse::prefix) keep_prefix();
  const auto start = *model_.tokenizer->token_id("<|im_start|>");
  const CacheReuse reuse = plan_reuse(cached_, prompt, system_tokens_, start, shift_ && reuse_ == Reuse::conversation);
  context_.set_n_past(static_cast<int64_t>(cached_.size()));
  if (reuse.moved > 0) {
    context_.shift(reuse.moved_from, reuse.kept, reuse.moved);
    cached_.erase(cached_.begin() + reuse.kept, cached_.begin() + reuse.moved_from);
  }
  // Until the turn's prompt is in, what follows is being overwritten.
  cached_.resize(static_cast<size_t>(reuse.reused()));
  context_.set_n_past(reuse.reused());
  return reuse;
}

int64_t RoleSession::keep_prefix() {
  const auto in_prefix = std::mismatch(prefix_.begin(), prefix_.end(), cached_.begin(), cached_.end()).first - prefix_.begin();
  cached_.resize(static_cast<size_t>(in_prefix));
  return static_cast<int64_t>(in_prefix);
}

void RoleSession::forget() {
  const int64_t kept = keep_prefix();
  context_.set_n_past(kept);
  context_.kv_cache().discard(kept);
}

RoleRun RoleSession::run(const std::vector<text::ChatMessage>& turns, const RoleSettings& settings, uint64_t seed,
                         infer::TokenConstraint* constraint, bool use_cache, const TextCallback& on_text) {
  const auto& tokenizer = *model_.tokenizer;
  std::vector<text::ChatMessage> messages = {{"system", system_}};
  messages.insert(messages.end(), turns.begin(), turns.end());
  RoleRun run;
  run.prompt = text::render_chatml(messages, true);
  run.prompt_ids = text::encode_chatml(tokenizer, messages, true);
  run.messages = std::move(messages);
  run.prompt_tokens = static_cast<int64_t>(run.prompt_ids.size());
  infer::GenerateOptions gen;
  gen.sampling = settings.sampling;
  gen.sampling.seed = seed;
  gen.max_new_tokens = settings.max_tokens;
  gen.constraint = constraint;
  gen.cancel = cancel_;
  gen.batch_forced = settings.batch_forced;
  gen.draft_tokens = settings.draft_tokens;
  gen.copy_source = tokenizer.encode(settings.copy_source);
  std::vector<int32_t> replay;
  if (settings.replay) {
    replay = tokenizer.encode(*settings.replay);
    gen.replay = &replay;
  }
  const auto start = std::chrono::steady_clock::now();
  const CacheReuse reuse = start_turn(run.prompt_ids, use_cache);
  const double placed_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  run.reused_tokens = reuse.reused();
  run.moved_tokens = reuse.moved;
  run.dropped_tokens = reuse.dropped();
  // A model may write bytes that are not UTF-8 (a token can end inside a
  // character, a random one anywhere): what leaves the runtime is made valid.
  // A think block is never shown (coach/think_block.hpp).
  coach::ThinkFilter shown;
  std::function<void(std::string_view)> stream;
  if (on_text) {
    stream = [&](std::string_view piece) {
      if (const std::string text = shown.push(piece); !text.empty()) on_text(base::valid_utf8(text));
    };
  }
  const auto result = infer::generate(context_, tokenizer, run.prompt_ids, gen, stream);
  // The context now holds the prompt and the answer's tokens evaluated so
  // far (a cancelled turn's too): the next turn starts from them.
  cached_ = run.prompt_ids;
  cached_.insert(cached_.end(), result.tokens.begin(), result.tokens.end());
  cached_.resize(static_cast<size_t>(context_.n_past()));
  if (result.stop == infer::StopReason::cancelled) throw Cancelled(role_ + ": the turn was cancelled");
  if (on_text) {
    if (const std::string rest = shown.finish(); !rest.empty()) on_text(base::valid_utf8(rest));
  }
  run.set_output(result.text);
  run.tokens = static_cast<int64_t>(result.tokens.size());
  run.prompt_ms = placed_ms + result.prompt_seconds * 1000;
  run.first_token_ms = placed_ms + result.first_token_seconds * 1000;
  run.generate_ms = result.generate_seconds * 1000;
  run.sample_ms = result.sample_seconds * 1000;
  run.constraint_ms = result.constraint_seconds * 1000;
  run.stop = std::string(infer::stop_reason_name(result.stop));
  run.decoding = result.decoding;
  return run;
}

}  // namespace josi::runtime
