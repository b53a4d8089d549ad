#include "runtime/coach.hpp"

#include <algorithm>
#include <chrono>
#include <random>

#include "base/error.hpp"
#include "base/strings.hpp"
#include "base/thread_pool.hpp"
#include "base/utf8.hpp"
#include "data/system_prompts.hpp"
#include "infer/generator.hpp"
#include "json/schema.hpp"
#include "runtime/request_constraint.hpp"
#include "runtime/turn_flow.hpp"
#include "text/chat_template.hpp"

namespace josi::runtime {

using json::Json;

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// The explainer's seed differs from the interpreter's, so the two roles do
// not draw the same random numbers.
constexpr uint64_t kExplainerSeedOffset = 0x9E3779B97F4A7C15ull;

}  // namespace

struct Coach::Engines {
  explicit Engines(size_t threads) : pool(threads) {}
  base::ThreadPool pool;
  std::unique_ptr<LoadedModel> interpreter_model, explainer_model;  // explainer_model null: shared
  std::unique_ptr<infer::Adapter> interpreter_adapter, explainer_adapter;  // null: none
  std::unique_ptr<RoleSession> interpreter, explainer;
  std::unique_ptr<RequestConstraint> constraint;  // built on the first constrained turn, or at open

  const RequestConstraint& request_constraint() {
    if (!constraint) {
      const auto& m = *interpreter_model;
      constraint = std::make_unique<RequestConstraint>(*m.tokenizer, static_cast<size_t>(m.model.hparams().n_vocab));
    }
    return *constraint;
  }
};

// The preset a coach runs: the options', else the one its files name (the
// interpreter's adapter, the explainer's, the model files), else v5.
void Coach::resolve_preset(const Engines& e) {
  std::vector<std::pair<formats::TrainedAs, std::string>> named;
  for (const infer::Adapter* a : {e.interpreter_adapter.get(), e.explainer_adapter.get()})
    if (a) named.push_back({a->trained_as(), a->path().string()});
  for (const LoadedModel* m : {e.interpreter_model.get(), e.explainer_model.get()})
    if (m) named.push_back({m->trained_as, m->path.string()});
  for (const auto& [as, file] : named) {
    if (!as.prompt_layout.empty() && !coach::layout_from_name(as.prompt_layout))
      throw Error(file + ": " + formats::kPromptLayoutKey + " " + base::quoted(as.prompt_layout) + " is not v5 or v6");
    if (!as.preset.empty()) preset_named(as.preset, file + ": " + formats::kPresetKey);
  }
  preset_ = &preset_named("v5");
  if (options_.preset) {
    preset_ = &preset_named(*options_.preset);
  } else {
    for (const auto& [as, file] : named) {
      if (as.preset.empty()) continue;
      preset_ = &preset_named(as.preset);
      if (!as.prompt_layout.empty()) file_layout_ = coach::layout_from_name(as.prompt_layout);
      break;
    }
  }
  n_ctx_ = options_.n_ctx.value_or(preset_->n_ctx);
  interpreter_n_ctx_ = options_.n_ctx.value_or(preset_->role_n_ctx(true));
}

Coach::Coach(CoachOptions options) : options_(std::move(options)) {
  if (options_.interpreter_model.empty()) throw Error("coach: no interpreter model given", ExitCode::usage);
  if (options_.explainer_model.empty()) options_.explainer_model = options_.interpreter_model;
  if (options_.n_ctx && (*options_.n_ctx < 64 || *options_.n_ctx > 32768))
    throw Error("coach: context size must be 64..32768", ExitCode::usage);
  with_overrides(options_.interpreter, options_.interpreter_overrides, "interpreter");
  with_overrides(options_.explainer, options_.explainer_overrides, "explainer");
  if (options_.preset) {
    try {
      preset_named(*options_.preset);
    } catch (const Error& e) {
      throw Error(e.what(), ExitCode::usage);
    }
  }
  if (options_.max_cards > 8) throw Error("coach: at most 8 cards a turn", ExitCode::usage);
  for (const auto& role : options_.card_roles)
    if (role != "interpreter" && role != "explainer")
      throw Error("coach: card roles are interpreter and explainer, not " + base::quoted(role), ExitCode::usage);
  if (options_.knowledge) knowledge_ = std::make_unique<knowledge::KnowledgeBase>(knowledge::KnowledgeBase::load(*options_.knowledge));
  engines_ = std::make_unique<Engines>(options_.threads);
  auto& e = *engines_;
  e.interpreter_model = std::make_unique<LoadedModel>(options_.interpreter_model);
  std::error_code ec;
  const bool shared = std::filesystem::equivalent(options_.interpreter_model, options_.explainer_model, ec);
  if (!shared) e.explainer_model = std::make_unique<LoadedModel>(options_.explainer_model, e.interpreter_model.get());
  const LoadedModel& explainer_model = shared ? *e.interpreter_model : *e.explainer_model;
  if (!options_.interpreter_adapter.empty())
    e.interpreter_adapter = std::make_unique<infer::Adapter>(options_.interpreter_adapter, e.interpreter_model->model);
  if (!options_.explainer_adapter.empty())
    e.explainer_adapter = std::make_unique<infer::Adapter>(options_.explainer_adapter, explainer_model.model);

  resolve_preset(e);

  const std::string interpreter_prompt = options_.interpreter_prompt.value_or(
      std::string(data::default_system_prompt(data::PromptRole::interpreter)));
  const std::string explainer_prompt = options_.explainer_prompt.value_or(
      std::string(data::default_system_prompt(data::PromptRole::explainer_sequential)));
  // The roles take turns, so they share the forward pass's working buffers.
  const auto workspace = std::make_shared<infer::Workspace>();
  e.interpreter = std::make_unique<RoleSession>("interpreter", *e.interpreter_model, e.interpreter_adapter.get(), e.pool,
                                                interpreter_n_ctx_, interpreter_prompt, options_.kv_type, workspace);
  e.explainer = std::make_unique<RoleSession>("explainer", explainer_model, e.explainer_adapter.get(), e.pool, n_ctx_,
                                              explainer_prompt, options_.kv_type, workspace);
  if (options_.constrain) e.request_constraint();
  // The interpreter gets no history, so nothing of its cache ever moves.
  const auto reuse = options_.conversation_cache ? RoleSession::Reuse::conversation : RoleSession::Reuse::prefix;
  e.interpreter->set_reuse(reuse, false);
  e.explainer->set_reuse(reuse, options_.cache_shift);
  for (RoleSession* role : {e.interpreter.get(), e.explainer.get()}) {
    role->set_cancel_flag(&cancel_);
    if (options_.prefix_cache) {
      prefixes_.push_back(role->prepare(options_.cache_dir));
    } else {
      prefixes_.push_back({role->role(), static_cast<int64_t>(role->prefix().size()), "off", "", 0});
    }
  }
  next_seed_ = options_.seed ? *options_.seed : std::random_device{}() * 0x100000001ull;
}

Coach::~Coach() = default;

void Coach::forget() {
  engines_->interpreter->forget();
  engines_->explainer->forget();
}

uint64_t Coach::model_bytes() const {
  uint64_t total = engines_->interpreter_model->model.file_bytes();
  if (engines_->explainer_model) total += engines_->explainer_model->model.file_bytes();
  for (const auto* adapter : {engines_->interpreter_adapter.get(), engines_->explainer_adapter.get()})
    if (adapter) total += adapter->bytes();
  return total;
}

uint64_t Coach::kv_bytes() const {
  return engines_->interpreter->context().kv_bytes() + engines_->explainer->context().kv_bytes();
}

Json Coach::turn(const Json& input, const TextCallback& on_text) { return to_json(run(parse_turn(input), on_text)); }

RoleRun Coach::run_role(RoleSession& role, coach::PromptRequest request, const RoleSettings& settings, uint64_t seed,
                        bool constrain, const TextCallback& on_text, std::string& user_turn) {
  const auto& tokenizer = *role.model().tokenizer;
  request.system = role.system_prompt();
  const auto count = [&](const std::vector<text::ChatMessage>& m) { return text::encode_chatml(tokenizer, m, true).size(); };
  coach::Prompt prompt;
  try {
    prompt = coach::build_prompt(request, count,
                                 {static_cast<size_t>(role.context().n_ctx()), static_cast<size_t>(settings.max_tokens)});
  } catch (const Error& e) {
    throw Error(role.role() + " " + e.what(), e.code());
  }
  user_turn = prompt.user;
  std::unique_ptr<constrain::SchemaConstraint> constraint;
  RoleSettings run_settings = settings;
  if (constrain) {
    constraint = engines_->request_constraint().start(settings.max_tokens);
    run_settings.copy_source = request.message;  // free_text and question repeat it
  }
  RoleRun run = role.run({prompt.messages.begin() + 1, prompt.messages.end()}, run_settings, seed, constraint.get(),
                         options_.prefix_cache, on_text);
  run.max_tokens = settings.max_tokens;
  run.history_turns = static_cast<int64_t>(prompt.history_turns);
  for (const auto& card : prompt.cards) run.cards.push_back({card.entry->id, card.score});
  return run;
}

RoleSettings Coach::role_settings(bool interpreter, const Preset& preset, const Json& turn_overrides) const {
  const char* role = interpreter ? "interpreter" : "explainer";
  RoleSettings s = with_overrides(interpreter ? options_.interpreter : options_.explainer,
                                  interpreter ? preset.interpreter : preset.explainer, role);
  s = with_overrides(s, interpreter ? options_.interpreter_overrides : options_.explainer_overrides, role);
  return with_overrides(s, turn_overrides, role);
}

TurnResult Coach::run(const TurnInput& input, const TextCallback& on_text) {
  const auto start = Clock::now();
  cancel_.store(false, std::memory_order_relaxed);
  auto& e = *engines_;
  const uint64_t seed = input.seed ? *input.seed : next_seed_++;
  const bool constrained = input.constrain.value_or(options_.constrain);
  const Preset& preset = input.preset ? preset_named(*input.preset) : *preset_;
  const coach::PromptLayout layout = !input.preset && file_layout_ ? *file_layout_ : preset.layout;
  const RoleSettings interpreter = role_settings(true, preset, input.interpreter_overrides);
  RoleSettings explainer = role_settings(false, preset, input.explainer_overrides);
  // A complex question gets the preset's longer answer, unless a length was asked for.
  const bool length_given =
      options_.explainer_overrides.contains("max_tokens") || input.explainer_overrides.contains("max_tokens");
  const size_t max_cards = input.max_cards.value_or(options_.max_cards);
  const auto& card_roles = input.card_roles ? *input.card_roles : options_.card_roles;
  if (!knowledge_ && (input.max_cards.value_or(0) > 0 || (input.card_roles && !input.card_roles->empty())))
    throw Error("\"options.knowledge\": this coach has no coaching cards (open it with a knowledge file)");
  const auto with_cards = [&](coach::PromptRequest& request, const char* role) {
    if (!knowledge_ || std::find(card_roles.begin(), card_roles.end(), role) == card_roles.end()) return;
    request.knowledge = knowledge_.get();
    request.max_cards = max_cards;
  };
  TurnResult r = run_turn_flow(
      input,
      [&](coach::PromptRequest request, const TextCallback& stream, std::string& user_turn) {
        with_cards(request, "interpreter");
        return run_role(*e.interpreter, std::move(request), interpreter, seed, constrained, stream, user_turn);
      },
      [&](coach::PromptRequest request, const TextCallback& stream, std::string& user_turn) {
        with_cards(request, "explainer");
        RoleSettings settings = explainer;
        if (preset.complex_max_tokens && !length_given && request.interpreter && is_complex_question(*request.interpreter))
          settings.max_tokens = preset.complex_max_tokens;
        return run_role(*e.explainer, std::move(request), settings, seed + kExplainerSeedOffset, false, stream, user_turn);
      },
      on_text, layout);
  r.preset = preset.name;
  r.layout = std::string(coach::layout_name(layout));
  r.seed = seed;
  r.constrained = constrained;
  r.total_ms = ms_since(start);
  return r;
}

}  // namespace josi::runtime
