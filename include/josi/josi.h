/* libjosi: the Josi coach on the device, in plain C.
 *
 * One athlete turn through the interpreter and explainer models and the
 * deterministic layers around them (the prompt builder, the output
 * constraint that keeps the interpreter's text a valid GATCRequest, the
 * post-processor, router, explainer clean-up and governor), as
 * docs/turn.md and schemas/turn_input.schema.json, schemas/turn_result.schema.json
 * define its JSON input and output.
 *
 * Conventions of every call:
 *  - Strings are UTF-8 and NUL-terminated. Strings the library returns
 *    through a char** are the caller's, freed with josi_string_free; const
 *    char* results belong to the library (see each call for how long they
 *    live).
 *  - Calls return a status and never abort the process on bad input; on an
 *    error, josi_coach_last_error says why in one line naming the input.
 *  - A coach is used from one thread at a time, except josi_coach_cancel,
 *    which any thread may call while a turn runs.
 *  - The library makes no network call: it links no network or TLS library.
 */
#ifndef JOSI_JOSI_H
#define JOSI_JOSI_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define JOSI_API __attribute__((visibility("default")))
#else
#define JOSI_API
#endif

/* The version of the functions and structs below; a library reports it in
 * josi_version. Grows when a call or a struct field is added. */
#define JOSI_API_VERSION 5

typedef struct josi_coach josi_coach;

typedef enum {
  JOSI_OK = 0,
  JOSI_ERR_ARGUMENT,  /* a NULL pointer, a wrong struct_size, an option out of range */
  JOSI_ERR_MODEL,     /* a model file that is missing or cannot serve (not qwen2/qwen3/llama, no ChatML tokens,
                         damaged), or a knowledge file that is missing or fails its checks */
  JOSI_ERR_INPUT,     /* turn, memory or history JSON that is malformed or breaks its schema */
  JOSI_ERR_CANCELLED, /* the turn ended on josi_coach_cancel or a text callback's request */
  JOSI_ERR_IO,        /* a file or the cache directory could not be read or written */
  JOSI_ERR_INTERNAL   /* anything else (out of memory); the message says what */
} josi_status;

typedef struct josi_options {
  uint32_t struct_size;          /* sizeof(josi_options), for ABI growth: set by josi_options_init; the
                                    sizes of earlier api versions are accepted (new fields read as NULL) */
  const char* interpreter_model; /* path to a GGUF file; required */
  const char* explainer_model;   /* may be the same file (loaded once: one model, two prompts); NULL: the interpreter's */
  const char* interpreter_prompt; /* system prompt text; NULL: built in */
  const char* explainer_prompt;   /* system prompt text; NULL: built in */
  const char* cache_dir;         /* where each role's prefix is kept between launches; NULL: in memory only */
  int32_t n_threads;             /* 0: all cores */
  int32_t n_ctx;                 /* 0: the preset's the model file names (v5 2048, v6 4096; docs/turn.md) */
  /* Since api 2. GGUF LoRA adapters applied at run time on each role's
   * model; NULL: none. Ship one base and two adapters: interpreter_model
   * is then the base (explainer_model NULL), mapped once for both roles.
   * A caller built against api 1 passes the smaller struct (its
   * struct_size says so) and gets no adapters. */
  const char* interpreter_adapter;
  const char* explainer_adapter;
  /* Since api 3. The coaching cards (knowledge.json, shipped beside the
   * models), read once at open; NULL: none. Each coach turn then gets up to
   * two cards, selected and placed as the model was trained with them; a
   * turn's "options": {"knowledge": {...}} changes that (docs/turn.md).
   * Callers built against api 1 or 2 pass their smaller struct and get no
   * cards. */
  const char* knowledge_path;
  /* Since api 3. How the models run: "v5" or "v6" (sampling per role,
   * answer lengths, context size, prompt layout; docs/turn.md "Presets").
   * NULL: the preset the model file names, else v5. A turn's
   * "options": {"preset": ...} still wins for that turn. */
  const char* preset;
  /* Since api 4. How each role's KV cache keeps keys and values: "f16"
   * or "q8_0" (53% of f16's memory, for both roles' 4096-token contexts
   * on a phone; docs/integration.md). NULL: "f16". Callers built against
   * api 1 to 3 pass their smaller struct and get f16. */
  const char* kv_type;
} josi_options;

/* Receives the athlete-facing text of the explainer as it is generated, one
 * piece of valid UTF-8 at a time (valid only during the call). Return 0 to
 * go on, non-zero to end the turn, which then returns JOSI_ERR_CANCELLED. */
typedef int (*josi_text_fn)(const char* piece, void* user);

/* "libjosi <library version> (api <JOSI_API_VERSION>)"; static, never freed. */
JOSI_API const char* josi_version(void);

/* Fills `options` with the defaults (zeros, NULLs) and its struct_size.
 * Does nothing for NULL. */
JOSI_API void josi_options_init(josi_options* options);

/* Opens the models, prepares both system-prompt prefixes (from cache_dir
 * when it holds them) and returns the coach in *out (NULL on error). On an
 * error no coach exists to ask, so the message goes to the thread's
 * josi_coach_last_error(NULL). */
JOSI_API josi_status josi_coach_open(const josi_options* options, josi_coach** out);

/* One turn. turn_json: the "One turn" input. on_text (may be NULL)
 * receives the reply text as it is generated. *result_json: the "One turn"
 * output, byte for byte what `josi chat --jsonl` writes for the same input
 * and seed (timings aside), owned by the caller (josi_string_free); NULL on
 * error. A failed turn leaves the coach usable. */
JOSI_API josi_status josi_coach_turn(josi_coach* coach, const char* turn_json, josi_text_fn on_text, void* user,
                                     char** result_json);

/* Ends the turn running on `coach` before its next token; that turn
 * returns JOSI_ERR_CANCELLED. Any thread; a cancel while no turn runs is
 * dropped. NULL is ignored. */
JOSI_API void josi_coach_cancel(josi_coach* coach);

/* Since api 5. Drops the conversation the coach keeps (a new athlete, a
 * logout). A coach keeps the conversation's keys and values between turns,
 * so a turn whose context's history continues the previous turn's evaluates
 * only its new part; a turn with any other history simply evaluates more,
 * and gives the same reply either way. This call also gives that memory
 * back; the next turn starts from the system prompts. Not while a turn runs
 * on `coach`. NULL is ignored. */
JOSI_API void josi_coach_forget(josi_coach* coach);

/* The last error of `coach` (one line naming the input), or "" after a
 * success. With NULL: the calling thread's last josi_coach_open or
 * josi_memory_update error. Valid until the next call on that coach (or
 * thread); never NULL. */
JOSI_API const char* josi_coach_last_error(const josi_coach* coach);

/* memory_json: the current athlete_memory object, or NULL when there is
 * none yet; history_json: a ChatContext history array; *memory_out: the
 * merged athlete_memory (docs/turn.md "Memory"), owned by the caller. Errors go to
 * josi_coach_last_error(NULL). */
JOSI_API josi_status josi_memory_update(const char* memory_json, const char* history_json, char** memory_out);

/* Frees a string the library returned. NULL is harmless. */
JOSI_API void josi_string_free(char* s);

/* Closes the coach and frees its models and caches. NULL is harmless. Not
 * while a turn runs on it. */
JOSI_API void josi_coach_close(josi_coach* coach);

#ifdef __cplusplus
}
#endif

#endif /* JOSI_JOSI_H */
