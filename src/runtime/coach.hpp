#pragma once
// The coach runtime: one athlete turn through both models and the
// deterministic layers around them, in process (docs/turn.md):
//   prompt builder (the model's tokenizer counts the budget)
//   -> interpreter, its output constrained to a valid GATCRequest
//   -> post-processor and schema check -> router
//   -> for explain / answer_question: the explainer with the [INTERPRETER]
//      block, streamed -> explainer clean-up and governor
//   -> the athlete memory updated from the message.
// Both models are opened once (the same file serving both roles is loaded
// once, each role's adapter, if any, on top of it), share one thread pool, and keep each role's system-prompt prefix
// in their context between turns (and on disk with a cache directory). The
// coach's context also keeps the conversation: a turn whose history
// continues the last one evaluates only what is new (runtime/cache_reuse.hpp).
// One Coach serves one conversation at a time: turn() is not reentrant.
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "coach/prompt_builder.hpp"
#include "json/json.hpp"
#include "knowledge/knowledge_base.hpp"
#include "runtime/preset.hpp"
#include "runtime/role_session.hpp"
#include "runtime/turn.hpp"

namespace josi::runtime {

struct CoachOptions {
  std::filesystem::path interpreter_model;
  std::filesystem::path explainer_model;  // empty: the interpreter's file (one model, two prompts)
  // GGUF LoRA adapters applied at run time on each role's model (empty:
  // none). With both on one base file, one mapped base serves both roles.
  std::filesystem::path interpreter_adapter, explainer_adapter;
  std::optional<std::string> interpreter_prompt;  // system prompt text; unset: Josi's own
  std::optional<std::string> explainer_prompt;    // the sequential explainer prompt; unset: Josi's own
  std::optional<std::filesystem::path> cache_dir;  // unset: the prefix is kept in memory only
  // The coaching cards (knowledge.json), read once; unset: none. Each turn
  // gives the roles in card_roles at most max_cards, as training did (the
  // coach, 2); a turn's options.knowledge may change both.
  std::optional<std::filesystem::path> knowledge;
  size_t max_cards = 2;
  std::vector<std::string> card_roles = {"explainer"};
  size_t threads = 0;                              // 0: all cores
  // How the models are run (runtime/preset.hpp). Unset: the preset the
  // model file names (an adapter's first), else v5. A turn may override it.
  std::optional<std::string> preset;
  // Both roles' context; unset: the preset's (v5 2048; v6 4096, the interpreter's 2048).
  std::optional<int64_t> n_ctx;
  infer::KvType kv_type = infer::KvType::f16;      // both roles' KV caches
  bool prefix_cache = true;  // false: every turn evaluates its whole prompt (for measuring)
  // false: a turn reuses only the system prefix, not the conversation before it (for measuring)
  bool conversation_cache = true;
  // false: when the budget drops the coach's oldest turns, the rest of the
  // conversation is evaluated again instead of moved down in the cache
  bool cache_shift = true;
  bool constrain = true;     // false: the interpreter writes unconstrained (for measuring)
  // Each role's settings under the preset: the preset's sampling keys
  // replace these, the *_overrides (sampling keys, as a turn's options)
  // replace the preset's, and a turn's own options replace those.
  RoleSettings interpreter = interpreter_preset();
  RoleSettings explainer = explainer_preset();
  json::Json interpreter_overrides = json::Json::object();
  json::Json explainer_overrides = json::Json::object();
  std::optional<uint64_t> seed;  // turns without their own seed use seed, seed + 1, ...; unset: random
};

class Coach {
 public:
  // Opens the models and prepares both prefixes. Throws josi::Error naming
  // the file for a missing or unusable model (not qwen2/llama, no ChatML
  // tokens), and for prompts that do not fit the context.
  explicit Coach(CoachOptions options);
  ~Coach();
  Coach(const Coach&) = delete;
  Coach& operator=(const Coach&) = delete;

  // One turn from its JSON input to its JSON output. Throws josi::Error
  // (one line) for bad input, josi::Cancelled after cancel(): the turn
  // fails, the coach stays usable.
  json::Json turn(const json::Json& input, const TextCallback& on_text = {});
  TurnResult run(const TurnInput& input, const TextCallback& on_text = {});

  // Ends the running turn before its next token (from any thread). A cancel
  // while no turn runs is dropped: each turn starts uncancelled.
  void cancel() { cancel_.store(true, std::memory_order_relaxed); }

  // Drops the conversation the roles' caches hold (a new athlete, a
  // logout): the next turn reuses only the system prompts, and the memory
  // of the rest is given back. Not while a turn runs.
  void forget();

  // How each role's prefix was prepared when the coach opened.
  const std::vector<PrefixStatus>& prefixes() const { return prefixes_; }
  const CoachOptions& options() const { return options_; }
  // The preset the coach runs turns with unless a turn names another, and
  // the prompt layout of the model file (the preset's when the file says none).
  const Preset& preset() const { return *preset_; }
  // The coach's context, and the interpreter's.
  int64_t n_ctx() const { return n_ctx_; }
  int64_t interpreter_n_ctx() const { return interpreter_n_ctx_; }
  // Resident weights and caches: both model files (once when shared), the adapters and both KV caches
  // (at most: a cache's pages become resident as its positions are first written).
  uint64_t model_bytes() const;
  const knowledge::KnowledgeBase* knowledge() const { return knowledge_.get(); }
  uint64_t kv_bytes() const;

 private:
  struct Engines;
  // Builds the role's prompt for `request` and runs the model on it.
  RoleRun run_role(RoleSession& role, coach::PromptRequest request, const RoleSettings& settings, uint64_t seed,
                   bool constrain, const TextCallback& on_text, std::string& user_turn);
  // A role's settings for a turn under `preset`, with the options' and the turn's overrides.
  RoleSettings role_settings(bool interpreter, const Preset& preset, const json::Json& turn_overrides) const;

  void resolve_preset(const Engines& engines);

  CoachOptions options_;
  const Preset* preset_ = nullptr;
  std::unique_ptr<knowledge::KnowledgeBase> knowledge_;
  std::optional<coach::PromptLayout> file_layout_;  // the model file's, when the coach runs the file's preset
  int64_t n_ctx_ = 2048, interpreter_n_ctx_ = 2048;
  std::unique_ptr<Engines> engines_;
  std::vector<PrefixStatus> prefixes_;
  uint64_t next_seed_ = 0;
  std::atomic<bool> cancel_{false};
};

}  // namespace josi::runtime
