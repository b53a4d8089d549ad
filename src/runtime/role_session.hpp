#pragma once
// One role (interpreter or explainer) on its model: the system prompt, the
// tokens of the prefix every turn of the role starts with,
//   <|im_start|>system\n{prompt}<|im_end|>\n<|im_start|>user\n
// and the context whose KV cache keeps, between turns, what the role last
// evaluated: the prefix, then the last turn's prompt and answer. A turn
// evaluates only where its prompt parts from that (runtime/cache_reuse.hpp):
// the interpreter its user turn, the coach its conversation's new turn.
#include <chrono>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "formats/josi_metadata.hpp"
#include "infer/context.hpp"
#include "infer/token_constraint.hpp"
#include "runtime/cache_reuse.hpp"
#include "runtime/prefix_cache.hpp"
#include "runtime/turn.hpp"
#include "text/chat_template.hpp"
#include "text/tokenizer.hpp"

namespace josi::runtime {

// A model file opened for the runtime: its weights, its tokenizer, and what
// identifies the file for cache keys. The tokenizer is built from the
// model's own metadata, whose vocabulary arrays are then freed, and is
// shared with `share_with` when both vocabularies are the same (two
// fine-tunes of one base: ~40 MB saved per model on a phone).
struct LoadedModel {
  explicit LoadedModel(const std::filesystem::path& path, const LoadedModel* share_with = nullptr);
  std::filesystem::path path;
  infer::Model model;
  uint64_t vocabulary = 0;  // text::fingerprint of the vocabulary
  std::shared_ptr<const text::Tokenizer> tokenizer;
  std::string identity;
  formats::TrainedAs trained_as;  // the preset and prompt layout the file names
};

// How a role's prefix got into its context.
struct PrefixStatus {
  std::string role;
  int64_t tokens = 0;
  std::string source;  // evaluated | cache file | off
  std::string note;    // why a cache file was not used, when one was expected
  double seconds = 0;
};

class RoleSession {
 public:
  // `adapter` (may be null) is applied on `model` for this role.
  RoleSession(std::string role, const LoadedModel& model, const infer::Adapter* adapter, base::ThreadPool& pool,
              int64_t n_ctx, std::string system_prompt, infer::KvType kv_type = infer::KvType::f16,
              std::shared_ptr<infer::Workspace> workspace = nullptr);

  const std::string& role() const { return role_; }
  const std::string& system_prompt() const { return system_; }
  const LoadedModel& model() const { return model_; }
  infer::Context& context() { return context_; }
  const std::vector<int32_t>& prefix() const { return prefix_; }
  // A flag another thread may raise to end the running generation (not owned).
  void set_cancel_flag(const std::atomic<bool>* cancel) { cancel_ = cancel; }
  // How much of the cache a turn may reuse: the system prefix only, or the
  // last turn's prompt and answer too; with `shift`, also a later stretch
  // of them moved over the oldest turns the prompt builder dropped.
  enum class Reuse { prefix, conversation };
  void set_reuse(Reuse reuse, bool shift) {
    reuse_ = reuse;
    shift_ = shift;
  }
  // Drops the conversation from the cache (a new athlete): the next turn
  // reuses the system prefix only, and the memory of the rest is given back.
  void forget();

  // Puts the prefix into the context: from the cache file in `cache_dir` when
  // it holds it, otherwise by evaluating it (then saving it there).
  PrefixStatus prepare(const std::optional<std::filesystem::path>& cache_dir);
  // The model's answer to `turns`, the conversation after the system prompt
  // (ChatML, the model's stop tokens); it ends with the user turn. With
  // `use_cache` what the context holds is reused (set_reuse), otherwise
  // the whole prompt is evaluated;
  // `constraint` (may be null) restricts the tokens; `on_text` gets the text
  // as it is written. What the model wrote comes back as valid UTF-8.
  // Throws josi::Cancelled when the cancel flag was raised meanwhile.
  RoleRun run(const std::vector<text::ChatMessage>& turns, const RoleSettings& settings, uint64_t seed,
              infer::TokenConstraint* constraint, bool use_cache, const TextCallback& on_text = {});

 private:
  // Positions the context for a prompt: what it keeps of the cache (the
  // turn then overwrites what follows).
  CacheReuse start_turn(const std::vector<int32_t>& prompt, bool use_cache);
  // Cuts the cached tokens to the part of the system prefix they hold; returns its length.
  int64_t keep_prefix();

  std::string role_;
  const LoadedModel& model_;
  std::string identity_;  // the model's, and the adapter's file when there is one
  std::string system_;
  std::vector<int32_t> prefix_;
  infer::Context context_;
  int64_t system_tokens_ = 0;     // the system turn's, before <|im_start|>user
  std::vector<int32_t> cached_;   // the tokens whose keys and values the context holds, from position 0
  Reuse reuse_ = Reuse::conversation;
  bool shift_ = false;
  const std::atomic<bool>* cancel_ = nullptr;
};

// The engine's version and cache layout, part of every prefix cache key.
std::string engine_cache_version(infer::KvType kv_type);

}  // namespace josi::runtime
