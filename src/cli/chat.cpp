// josi chat: the phone's dual-model coach on a desktop. Interactively, a
// conversation on the terminal (history and memory kept between turns); with
// --jsonl, a filter of one turn input per line to one turn output per line
// (--conversation: the lines are one conversation, history and memory carried
// from each turn to the next). --training_rows writes what the coach ran as
// rows `josi train` takes (runtime/training_rows.hpp).
#include <chrono>
#include <ctime>
#include <iostream>
#include <unistd.h>

#include "base/error.hpp"
#include "base/files.hpp"
#include "base/strings.hpp"
#include "cli/commands.hpp"
#include "cli/jsonl_filter.hpp"
#include "cli/kv_type_option.hpp"
#include "cli/options.hpp"
#include "coach/memory.hpp"
#include "data/sample_context.hpp"
#include "data/system_prompts.hpp"
#include "json/python_dumps.hpp"
#include "json/schema.hpp"
#include "runtime/coach.hpp"
#include "runtime/training_rows.hpp"

namespace josi::cli {

namespace {

using json::Json;

struct Options {
  std::string interpreter, explainer, base, interpreter_adapter, explainer_adapter;
  std::string context, memory, interpreter_prompt, explainer_prompt, cache_dir, knowledge;
  std::optional<size_t> max_cards;
  std::string input = "-";
  std::string preset, training_rows, kv_type = "f16";
  size_t threads = 0;
  std::optional<uint64_t> seed;
  std::optional<int64_t> n_ctx;
  std::optional<int32_t> max_tokens;
  std::optional<float> temperature, top_p, explainer_repeat_penalty;
  bool jsonl = false, conversation = false, no_cache = false, no_conversation_cache = false, no_cache_shift = false,
       no_constrain = false, no_forced_batch = false, no_speculation = false;
};

// The ChatContext the conversation starts from: the file, or Josi's sample,
// with --memory as its athlete_memory.
Json starting_context(const Options& o) {
  Json context = o.context.empty() ? json::parse(data::sample_chat_context(), "the sample ChatContext")
                                   : json::parse(base::read_file(o.context), o.context);
  if (!o.memory.empty()) {
    const Json memory = json::parse(base::read_file(o.memory), o.memory);
    try {
      coach::memory_from_json(memory);
    } catch (const Error& e) {
      throw Error(o.memory + ": " + e.what());
    }
    context["athlete_memory"] = memory;
  }
  const auto errors = json::Schema::chat_context().validate(context);
  if (!errors.empty()) throw Error((o.context.empty() ? std::string("context") : o.context) + ": ChatContext " + errors.front());
  return context;
}

runtime::CoachOptions coach_options(const Options& o) {
  runtime::CoachOptions c;
  if (o.interpreter.empty() == o.base.empty())
    throw Error("chat: give --interpreter (and --explainer) or --base with the adapters", ExitCode::usage);
  // One base for both roles, each with its adapter; or a model file per role.
  c.interpreter_model = o.base.empty() ? o.interpreter : o.base;
  c.explainer_model = o.base.empty() ? o.explainer : o.base;
  c.interpreter_adapter = o.interpreter_adapter;
  c.explainer_adapter = o.explainer_adapter;
  if (!o.interpreter_prompt.empty()) c.interpreter_prompt = data::load_system_prompt(o.interpreter_prompt);
  if (!o.explainer_prompt.empty()) c.explainer_prompt = data::load_system_prompt(o.explainer_prompt);
  if (!o.cache_dir.empty()) c.cache_dir = o.cache_dir;
  if (!o.knowledge.empty()) c.knowledge = o.knowledge;
  if (o.max_cards) {
    if (o.knowledge.empty()) throw Error("chat: --max_cards needs --knowledge", ExitCode::usage);
    c.max_cards = *o.max_cards;
  }
  c.threads = o.threads;
  c.n_ctx = o.n_ctx;
  c.kv_type = kv_type_of(o.kv_type);
  if (!o.preset.empty()) c.preset = o.preset;
  c.prefix_cache = !o.no_cache;
  c.conversation_cache = !o.no_conversation_cache;
  c.cache_shift = !o.no_cache_shift;
  c.constrain = !o.no_constrain;
  c.seed = o.seed;
  // Flags given replace the preset's values, for both roles.
  for (auto* role : {&c.interpreter, &c.explainer}) {
    if (o.no_forced_batch) role->batch_forced = false;
    if (o.no_speculation) role->draft_tokens = 0;
  }
  for (auto* overrides : {&c.interpreter_overrides, &c.explainer_overrides}) {
    if (o.max_tokens) (*overrides)["max_tokens"] = *o.max_tokens;
    if (o.temperature) (*overrides)["temperature"] = *o.temperature;
    if (o.top_p) (*overrides)["top_p"] = *o.top_p;
  }
  if (o.explainer_repeat_penalty) c.explainer_overrides["repeat_penalty"] = *o.explainer_repeat_penalty;
  return c;
}

std::string now_iso8601() {
  const std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

std::string fixed(double v, int digits) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

// "route explainer (answer_question) | interpreter 31 tok, prompt 80 ms (1312 cached), 410 ms | ..."
std::string turn_summary(const Json& out) {
  const auto& t = out["timings_ms"];
  std::string s = "route " + out["route"].get<std::string>() + " (" + out["action"].get<std::string>() + ")";
  s += " | interpreter " + std::to_string(out["interpreter"]["tokens"].get<int64_t>()) + " tok, prompt " +
       fixed(t["interpreter_prompt"].get<double>(), 0) + " ms (" +
       std::to_string(out["cache"]["interpreter_prefix_tokens"].get<int64_t>()) + " cached), generate " +
       fixed(t["interpreter_generate"].get<double>(), 0) + " ms";
  if (!out["explainer"].is_null()) {
    s += " | explainer " + std::to_string(out["explainer"]["tokens"].get<int64_t>()) + " tok, prompt " +
         fixed(t["explainer_prompt"].get<double>(), 0) + " ms (" +
         std::to_string(out["cache"]["explainer"]["reused"].get<int64_t>()) + " cached, " +
         std::to_string(out["cache"]["explainer"]["evaluated"].get<int64_t>()) + " new), generate " +
         fixed(t["explainer_generate"].get<double>(), 0) + " ms";
  }
  s += " | total " + fixed(t["total"].get<double>(), 0) + " ms";
  if (!out["interpreter"]["valid"].get<bool>()) s += " | interpreter output invalid";
  return s;
}

void print_prefixes(const runtime::Coach& coach) {
  for (const auto& p : coach.prefixes()) {
    std::cerr << "chat: " << p.role << " prefix " << p.tokens << " tokens, " << p.source;
    if (p.source != "off") std::cerr << " in " << fixed(p.seconds, 2) << " s";
    if (!p.note.empty()) std::cerr << " (cache file " << p.note << ")";
    std::cerr << "\n";
  }
}

// `entries` join `history`, which keeps its last 60 (what the schema allows).
void append_history(Json& history, const Json& entries) {
  if (!history.is_array()) history = Json::array();
  for (const auto& entry : entries) history.push_back(entry);
  while (history.size() > 60) history.erase(history.begin());
}

// The conversation goes on: the turn's entries join the history, stamped
// with the time, and its memory replaces the context's.
void continue_conversation(Json& context, const Json& out) {
  Json entries = out["history"];
  for (auto& entry : entries) entry["ts"] = now_iso8601();
  append_history(context["history"], entries);
  context["athlete_memory"] = out["memory"];
}

// What the coach ran, kept for --training_rows: each interpreter call as a
// row; the coach's turns as a row each (v5 layout) or, v6, the coach's
// conversation as one row once it ends.
class TrainingRows {
 public:
  void add(const runtime::TurnResult& r, const Json& history_before) {
    rows_.push_back(runtime::training_row(r.interpreter, r.interpreter.text));
    if (!r.explainer) {
      // A turn the coach did not answer still joins a conversation the coach is in.
      if (!coach_system_.empty())
        for (const auto& entry : r.history) history_.push_back(entry);
      return;
    }
    if (r.layout == "v5") {
      rows_.push_back(runtime::training_row(*r.explainer, r.reply.value_or("")));
      return;
    }
    if (coach_system_.empty()) history_ = history_before;
    coach_system_ = r.explainer->messages.front().content;
    for (const auto& entry : r.history) history_.push_back(entry);
  }
  void end_conversation() {
    if (!coach_system_.empty()) rows_.push_back(runtime::conversation_row(coach_system_, history_));
    coach_system_.clear();
    history_ = Json::array();
  }
  void write(const std::string& path) {
    end_conversation();
    std::string text;
    for (const auto& row : rows_) text += json::python_dumps(row, {.ensure_ascii = false}) + "\n";
    base::write_file_atomic(path, text);
  }

 private:
  std::vector<Json> rows_;
  std::string coach_system_;  // "" until the coach answers in the conversation
  Json history_ = Json::array();
};

void interactive(runtime::Coach& coach, Json context) {
  const Json start = context;
  const bool terminal = ::isatty(STDIN_FILENO);
  std::cerr << "chat: type a message; /context [FILE], /memory, /reset, /quit\n";
  std::string line;
  for (;;) {
    if (terminal) std::cout << "you> " << std::flush;
    if (!std::getline(std::cin, line)) break;
    const std::string message(base::trim(line));
    if (message.empty()) continue;
    try {
      if (message == "/quit" || message == "/exit") break;
      if (message == "/memory") {
        std::cout << (context.contains("athlete_memory") ? context["athlete_memory"].dump(2) : "{}") << "\n";
        continue;
      }
      if (message == "/reset") {
        context = start;
        coach.forget();
        std::cout << "(conversation reset to the starting context)\n";
        continue;
      }
      if (message == "/context" || message.rfind("/context ", 0) == 0) {
        const std::string file(base::trim(std::string_view(message).substr(8)));
        if (!file.empty()) {
          Json loaded = json::parse(base::read_file(file), file);
          const auto errors = json::Schema::chat_context().validate(loaded);
          if (!errors.empty()) throw Error(file + ": ChatContext " + errors.front());
          context = loaded;
        }
        std::cout << context.dump(2) << "\n";
        continue;
      }
      if (message[0] == '/') throw Error("unknown command " + message + " (/context, /memory, /reset, /quit)");

      bool streamed = false;
      const Json out = coach.turn({{"message", message}, {"context", context}}, [&](std::string_view piece) {
        if (!streamed) std::cout << "josi> ";
        streamed = true;
        std::cout << piece << std::flush;
      });
      if (streamed) std::cout << "\n";
      if (!out["explainer"].is_null() && out["reply"].get<std::string>() != out["explainer"]["raw"].get<std::string>())
        std::cout << "josi (governed)> " << out["reply"].get<std::string>() << "\n";
      if (out["route"] == "engine") std::cout << "josi> [to the training engine] " << json::python_dumps(out["request"]) << "\n";
      std::cerr << "  " << turn_summary(out) << "\n";

      continue_conversation(context, out);
    } catch (const Error& e) {
      std::cerr << "chat: " << e.what() << "\n";
    }
  }
}

}  // namespace

void register_chat(CLI::App& app) {
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("chat", "The dual-model coach: one athlete turn through interpreter and explainer");
  auto* interpreter = cmd->add_option(flag("interpreter"), o->interpreter, "Interpreter model .gguf")->check(CLI::ExistingFile);
  auto* explainer = cmd->add_option(flag("explainer"), o->explainer,
                                    "Explainer model .gguf (default: the interpreter's file, two prompts)")
                        ->check(CLI::ExistingFile);
  cmd->add_option(flag("base"), o->base, "The base model .gguf both roles share (with their adapters)")
      ->check(CLI::ExistingFile)
      ->excludes(interpreter)
      ->excludes(explainer);
  cmd->add_option(flag("interpreter_adapter"), o->interpreter_adapter, "The interpreter's GGUF LoRA adapter, applied at run time")
      ->check(CLI::ExistingFile);
  cmd->add_option(flag("explainer_adapter"), o->explainer_adapter, "The explainer's GGUF LoRA adapter, applied at run time")
      ->check(CLI::ExistingFile);
  cmd->add_option(flag("context"), o->context, "ChatContext JSON file (default: Josi's sample)")->check(CLI::ExistingFile);
  cmd->add_option(flag("memory"), o->memory, "athlete_memory JSON file to start with")->check(CLI::ExistingFile);
  cmd->add_option(flag("interpreter_prompt"), o->interpreter_prompt, "Interpreter system prompt file (default: Josi's own)")
      ->check(CLI::ExistingFile);
  cmd->add_option(flag("explainer_prompt"), o->explainer_prompt, "Explainer sequential system prompt file (default: Josi's own)")
      ->check(CLI::ExistingFile);
  cmd->add_option(flag("cache_dir"), o->cache_dir, "Keep each role's system-prompt prefix here across runs");
  cmd->add_option(flag("knowledge"), o->knowledge, "Coaching cards (knowledge.json) for the coach's turns, placed as trained")
      ->check(CLI::ExistingFile);
  cmd->add_option(flag("max_cards"), o->max_cards, "Most cards a coach turn gets (default 2, as trained)")
      ->check(CLI::Range(0, 8));
  cmd->add_option(flag("threads"), o->threads, "Threads (default: all cores)");
  cmd->add_option(flag("seed"), o->seed, "Seed of the first turn (then +1 per turn; default: random)");
  cmd->add_option(flag("ctx"), o->n_ctx, "Context cap in tokens (default: the preset's, v5 2048, v6 4096)");
  add_kv_type_option(cmd, o->kv_type);
  cmd->add_option(flag("max_tokens"), o->max_tokens, "Most tokens each model writes (default: the preset's, v5 150)");
  cmd->add_option(flag("temperature"), o->temperature, "Sampling temperature of both models (default: the preset's, v5 0.45)");
  cmd->add_option(flag("top_p"), o->top_p, "Top-p of both models (default 0.9)");
  cmd->add_option(flag("explainer_repeat_penalty"), o->explainer_repeat_penalty,
                  "The explainer's repetition penalty (default: the preset's, v5 1.1)");
  cmd->add_option(flag("preset"), o->preset, "How the models run: v5 or v6 (default: the one the model file names, else v5)")
      ->check(CLI::IsMember(runtime::preset_names()));
  cmd->add_flag(flag("jsonl"), o->jsonl, "Batch filter: one turn input object per line -> one turn output per line");
  cmd->add_flag(flag("conversation"), o->conversation,
                "With --jsonl: the lines are one conversation; each turn's history entries and memory go into the next line's context");
  cmd->add_option(flag("training_rows"), o->training_rows,
                  "With --jsonl: write what the coach ran as training rows ({\"messages\": ...}) to this JSONL file");
  cmd->add_option("input", o->input, "With --jsonl: the input file (default: standard input)");
  cmd->add_flag(flag("no_cache"), o->no_cache, "Evaluate the whole prompt every turn (to measure what the prefix cache saves)");
  cmd->add_flag(flag("no_conversation_cache"), o->no_conversation_cache,
                "Reuse only the system prompts' cache, not the conversation before the turn (to measure what it saves)");
  cmd->add_flag(flag("no_cache_shift"), o->no_cache_shift,
                "When the budget drops the oldest turns, evaluate the conversation again instead of moving the cache");
  cmd->add_flag(flag("no_constrain"), o->no_constrain, "Let the interpreter write unconstrained (to measure what the constraint saves)");
  cmd->add_flag(flag("no_forced_batch"), o->no_forced_batch,
                "Evaluate tokens the constraint forces one at a time (the same answer; to measure what batching saves)");
  cmd->add_flag(flag("no_speculation"), o->no_speculation,
                "Draft no tokens from the prompt (the same answer; to measure what speculation saves)");
  cmd->callback([o] {
    if (o->input != "-" && !o->jsonl) throw Error("chat: an input file needs --jsonl", ExitCode::usage);
    if ((o->conversation || !o->training_rows.empty()) && !o->jsonl)
      throw Error("chat: --conversation and --training_rows need --jsonl", ExitCode::usage);
    if (!o->training_rows.empty()) base::check_output_path(o->training_rows);
    // Flags and the starting context are checked before the models load.
    auto options = coach_options(*o);
    Json context;
    if (!o->jsonl) context = starting_context(*o);
    runtime::Coach coach(std::move(options));
    print_prefixes(coach);
    if (o->jsonl) {
      TrainingRows rows;
      Json carried;  // with --conversation: the context's history and memory so far
      set_exit_code(run_jsonl_filter("chat", o->input, [&](Json in) {
        if (o->conversation && !carried.is_null() && in.contains("context") && in["context"].is_object()) {
          append_history(in["context"]["history"], carried["history"]);
          in["context"]["athlete_memory"] = carried["athlete_memory"];
        }
        const runtime::TurnInput input = runtime::parse_turn(in);
        const runtime::TurnResult result = coach.run(input);
        if (!o->conversation) rows.end_conversation();
        rows.add(result, input.context["history"]);
        const Json out = runtime::to_json(result);
        if (o->conversation) {
          if (carried.is_null()) carried = {{"history", Json::array()}};
          append_history(carried["history"], out["history"]);
          carried["athlete_memory"] = out["memory"];
        }
        return out;
      }));
      if (!o->training_rows.empty()) rows.write(o->training_rows);
    } else {
      interactive(coach, std::move(context));
    }
  });
}

}  // namespace josi::cli
