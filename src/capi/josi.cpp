// libjosi: the C API of include/josi/josi.h over runtime::Coach. Every
// entry point catches everything: a josi::Error becomes its status and
// one-line message, anything else JOSI_ERR_INTERNAL; nothing C++ crosses.
#include "josi/josi.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <memory>
#include <new>
#include <string>

#include "base/error.hpp"
#include "coach/memory.hpp"
#include "json/json.hpp"
#include "json/python_dumps.hpp"
#include "runtime/coach.hpp"

struct josi_coach {
  std::unique_ptr<josi::runtime::Coach> coach;
  std::string last_error;
};

namespace {

// Errors of calls that have no coach to hold them (open, memory update).
thread_local std::string thread_error;

enum class Call { open, turn, memory };

josi_status status_of(const josi::Error& e, Call call) {
  if (dynamic_cast<const josi::Cancelled*>(&e)) return JOSI_ERR_CANCELLED;
  if (e.code() == josi::ExitCode::io && call != Call::open) return JOSI_ERR_IO;
  if (call == Call::open) return e.code() == josi::ExitCode::usage ? JOSI_ERR_ARGUMENT : JOSI_ERR_MODEL;
  return JOSI_ERR_INPUT;
}

// Runs `body`, turning whatever it throws into a status and `error`.
template <typename Body>
josi_status guarded(Call call, std::string& error, Body&& body) {
  try {
    body();
    error.clear();
    return JOSI_OK;
  } catch (const josi::Error& e) {
    error = e.what();
    return status_of(e, call);
  } catch (const std::bad_alloc&) {
    error = "out of memory";
  } catch (const std::exception& e) {
    error = std::string("internal error: ") + e.what();
  } catch (...) {
    error = "internal error";
  }
  return JOSI_ERR_INTERNAL;
}

josi_status argument_error(std::string& error, const char* message) {
  error = message;
  return JOSI_ERR_ARGUMENT;
}

// A string the caller owns and frees with josi_string_free.
char* caller_string(const std::string& text) {
  char* s = static_cast<char*>(std::malloc(text.size() + 1));
  if (!s) throw std::bad_alloc();
  std::memcpy(s, text.c_str(), text.size() + 1);
  return s;
}

}  // namespace

extern "C" {

const char* josi_version(void) {
  static const std::string version = std::string("libjosi ") + JOSI_VERSION + " (api " + std::to_string(JOSI_API_VERSION) + ")";
  return version.c_str();
}

void josi_options_init(josi_options* options) {
  if (!options) return;
  std::memset(options, 0, sizeof *options);
  options->struct_size = sizeof *options;
}

// josi_options as api 1 laid it out (everything before the adapters), as api 2 (before the knowledge file)
// and as api 3 (before the KV cache type).
constexpr size_t kOptionsSizeApi1 = offsetof(josi_options, interpreter_adapter);
constexpr size_t kOptionsSizeApi2 = offsetof(josi_options, knowledge_path);
constexpr size_t kOptionsSizeApi3 = offsetof(josi_options, kv_type);

josi_status josi_coach_open(const josi_options* caller_options, josi_coach** out) {
  if (!out) return argument_error(thread_error, "josi_coach_open: out is NULL");
  *out = nullptr;
  if (!caller_options) return argument_error(thread_error, "josi_coach_open: options is NULL");
  if (caller_options->struct_size != sizeof(josi_options) && caller_options->struct_size != kOptionsSizeApi1 &&
      caller_options->struct_size != kOptionsSizeApi2 && caller_options->struct_size != kOptionsSizeApi3)
    return argument_error(thread_error, "josi_coach_open: options.struct_size is not sizeof(josi_options): call josi_options_init");
  // An older caller's struct ends early: only its bytes are read, the rest stays zero (NULL).
  josi_options full;
  josi_options_init(&full);
  std::memcpy(&full, caller_options, caller_options->struct_size);
  const josi_options* options = &full;
  if (!options->interpreter_model) return argument_error(thread_error, "josi_coach_open: options.interpreter_model is NULL");
  if (options->n_threads < 0) return argument_error(thread_error, "josi_coach_open: options.n_threads is negative");
  if (options->n_ctx != 0 && (options->n_ctx < 64 || options->n_ctx > 32768))
    return argument_error(thread_error, "josi_coach_open: options.n_ctx must be 0 or 64..32768");
  const auto kv_type = josi::infer::kv_type_named(options->kv_type ? options->kv_type : "f16");
  if (!kv_type) return argument_error(thread_error, "josi_coach_open: options.kv_type must be NULL, \"f16\" or \"q8_0\"");
  return guarded(Call::open, thread_error, [&] {
    josi::runtime::CoachOptions o;
    o.interpreter_model = options->interpreter_model;
    if (options->explainer_model) o.explainer_model = options->explainer_model;
    if (options->interpreter_prompt) o.interpreter_prompt = options->interpreter_prompt;
    if (options->explainer_prompt) o.explainer_prompt = options->explainer_prompt;
    if (options->cache_dir) o.cache_dir = options->cache_dir;
    if (options->interpreter_adapter) o.interpreter_adapter = options->interpreter_adapter;
    if (options->explainer_adapter) o.explainer_adapter = options->explainer_adapter;
    if (options->knowledge_path) o.knowledge = options->knowledge_path;
    if (options->preset) o.preset = options->preset;
    o.threads = static_cast<size_t>(options->n_threads);
    if (options->n_ctx) o.n_ctx = options->n_ctx;
    o.kv_type = *kv_type;
    auto coach = std::make_unique<josi_coach>();
    coach->coach = std::make_unique<josi::runtime::Coach>(std::move(o));
    *out = coach.release();
  });
}

josi_status josi_coach_turn(josi_coach* coach, const char* turn_json, josi_text_fn on_text, void* user, char** result_json) {
  if (result_json) *result_json = nullptr;
  if (!coach) return argument_error(thread_error, "josi_coach_turn: coach is NULL");
  if (!turn_json) return argument_error(coach->last_error, "josi_coach_turn: turn_json is NULL");
  if (!result_json) return argument_error(coach->last_error, "josi_coach_turn: result_json is NULL");
  return guarded(Call::turn, coach->last_error, [&] {
    const auto input = josi::json::parse(turn_json, "turn_json");
    if (!input.is_object()) throw josi::Error("turn_json: expected a JSON object, got " + josi::json::type_name(input));
    josi::runtime::TextCallback stream;
    if (on_text) {
      stream = [&](std::string_view piece) {
        const std::string text(piece);
        if (on_text(text.c_str(), user) != 0) coach->coach->cancel();
      };
    }
    *result_json = caller_string(josi::json::python_dumps(coach->coach->turn(input, stream)));
  });
}

void josi_coach_cancel(josi_coach* coach) {
  if (coach && coach->coach) coach->coach->cancel();
}

void josi_coach_forget(josi_coach* coach) {
  if (coach && coach->coach) coach->coach->forget();
}

const char* josi_coach_last_error(const josi_coach* coach) { return coach ? coach->last_error.c_str() : thread_error.c_str(); }

josi_status josi_memory_update(const char* memory_json, const char* history_json, char** memory_out) {
  if (memory_out) *memory_out = nullptr;
  if (!history_json) return argument_error(thread_error, "josi_memory_update: history_json is NULL");
  if (!memory_out) return argument_error(thread_error, "josi_memory_update: memory_out is NULL");
  return guarded(Call::memory, thread_error, [&] {
    josi::coach::AthleteMemory existing;
    if (memory_json) {
      const auto memory = josi::json::parse(memory_json, "memory_json");
      if (!memory.is_null()) existing = josi::coach::memory_from_json(memory);
    }
    const auto history = josi::coach::history_from_json(josi::json::parse(history_json, "history_json"));
    const auto merged = josi::coach::merge_memory(existing, josi::coach::extract_facts(history), {}, {});
    *memory_out = caller_string(josi::json::python_dumps(josi::coach::to_json(merged)));
  });
}

void josi_string_free(char* s) { std::free(s); }

void josi_coach_close(josi_coach* coach) { delete coach; }

}  // extern "C"
