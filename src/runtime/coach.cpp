#include "runtime/coach.hpp"

#include <chrono>
#include <random>

#include "base/error.hpp"
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

Coach::Coach(CoachOptions options) : options_(std::move(options)) {
  if (options_.interpreter_model.empty()) throw Error("coach: no interpreter model given", ExitCode::usage);
  if (options_.explainer_model.empty()) options_.explainer_model = options_.interpreter_model;
  if (options_.n_ctx < 64 || options_.n_ctx > 32768) throw Error("coach: context size must be 64..32768", ExitCode::usage);
  with_overrides(options_.interpreter, Json::object(), "interpreter");
  with_overrides(options_.explainer, Json::object(), "explainer");
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

  const std::string interpreter_prompt = options_.interpreter_prompt.value_or(
      std::string(data::default_system_prompt(data::PromptRole::interpreter)));
  const std::string explainer_prompt = options_.explainer_prompt.value_or(
      std::string(data::default_system_prompt(data::PromptRole::explainer_sequential)));
  e.interpreter = std::make_unique<RoleSession>("interpreter", *e.interpreter_model, e.interpreter_adapter.get(), e.pool,
                                                options_.n_ctx, interpreter_prompt);
  e.explainer = std::make_unique<RoleSession>("explainer", explainer_model, e.explainer_adapter.get(), e.pool, options_.n_ctx,
                                              explainer_prompt);
  if (options_.constrain) e.request_constraint();
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
    prompt = coach::build_prompt(request, count, {static_cast<size_t>(options_.n_ctx), static_cast<size_t>(settings.max_tokens)});
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
  return role.run(prompt.user, run_settings, seed, constraint.get(), options_.prefix_cache, on_text);
}

TurnResult Coach::run(const TurnInput& input, const TextCallback& on_text) {
  const auto start = Clock::now();
  cancel_.store(false, std::memory_order_relaxed);
  auto& e = *engines_;
  const uint64_t seed = input.seed ? *input.seed : next_seed_++;
  const bool constrained = input.constrain.value_or(options_.constrain);
  const RoleSettings interpreter = with_overrides(options_.interpreter, input.interpreter_overrides, "interpreter");
  const RoleSettings explainer = with_overrides(options_.explainer, input.explainer_overrides, "explainer");
  TurnResult r = run_turn_flow(
      input,
      [&](coach::PromptRequest request, const TextCallback& stream, std::string& user_turn) {
        return run_role(*e.interpreter, std::move(request), interpreter, seed, constrained, stream, user_turn);
      },
      [&](coach::PromptRequest request, const TextCallback& stream, std::string& user_turn) {
        return run_role(*e.explainer, std::move(request), explainer, seed + kExplainerSeedOffset, false, stream, user_turn);
      },
      on_text);
  r.seed = seed;
  r.constrained = constrained;
  r.total_ms = ms_since(start);
  return r;
}

}  // namespace josi::runtime
