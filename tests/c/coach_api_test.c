#define _POSIX_C_SOURCE 200809L
/* The C API of include/josi/josi.h, from C, every call and its bad
 * arguments: run on the tiny model, built with AddressSanitizer and
 * UndefinedBehaviorSanitizer (leaks included).
 *   coach_api_test MODEL.gguf TURNS.jsonl WORKDIR [KNOWLEDGE.json] */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "josi/josi.h"

static int failures = 0;
#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                        \
    }                                                                    \
  } while (0)

static int contains(const char* text, const char* part) { return text && strstr(text, part) != NULL; }

/* The first line of the sample turns, with options {"seed": seed, "max_tokens": 24} added. */
static char* turn_with_seed(const char* turns_path, int seed) {
  FILE* f = fopen(turns_path, "rb");
  if (!f) return NULL;
  static char line[65536];
  if (!fgets(line, sizeof line, f)) line[0] = '\0';
  fclose(f);
  char* end = strrchr(line, '}');
  if (!end) return NULL;
  *end = '\0';
  char* turn = malloc(strlen(line) + 64);
  sprintf(turn, "%s, \"options\": {\"seed\": %d, \"max_tokens\": 60}}", line, seed);
  *end = '}';
  return turn;
}

static void test_version_and_options(void) {
  CHECK(contains(josi_version(), "libjosi "));
  CHECK(contains(josi_version(), "(api 5)"));
  josi_options o;
  memset(&o, 0xAB, sizeof o);
  josi_options_init(&o);
  CHECK(o.struct_size == sizeof o);
  CHECK(o.interpreter_model == NULL && o.cache_dir == NULL && o.n_threads == 0 && o.n_ctx == 0);
  CHECK(o.interpreter_adapter == NULL && o.explainer_adapter == NULL && o.knowledge_path == NULL && o.preset == NULL);
  josi_options_init(NULL); /* harmless */
}

static void test_open_refuses_bad_arguments(const char* model, const char* workdir) {
  josi_options o;
  josi_options_init(&o);
  o.interpreter_model = model;
  josi_coach* coach = (josi_coach*)1;
  CHECK(josi_coach_open(&o, NULL) == JOSI_ERR_ARGUMENT);
  CHECK(josi_coach_open(NULL, &coach) == JOSI_ERR_ARGUMENT);
  CHECK(coach == NULL);
  CHECK(contains(josi_coach_last_error(NULL), "options is NULL"));
  o.struct_size = 12;
  CHECK(josi_coach_open(&o, &coach) == JOSI_ERR_ARGUMENT);
  CHECK(contains(josi_coach_last_error(NULL), "struct_size"));
  josi_options_init(&o);
  CHECK(josi_coach_open(&o, &coach) == JOSI_ERR_ARGUMENT);
  CHECK(contains(josi_coach_last_error(NULL), "interpreter_model is NULL"));
  o.interpreter_model = model;
  o.n_ctx = 10;
  CHECK(josi_coach_open(&o, &coach) == JOSI_ERR_ARGUMENT);
  o.n_ctx = 0;
  o.n_threads = -1;
  CHECK(josi_coach_open(&o, &coach) == JOSI_ERR_ARGUMENT);
  o.n_threads = 1;
  o.interpreter_model = "/nonexistent/josi-v5-interpreter-q4_k_m.gguf";
  CHECK(josi_coach_open(&o, &coach) == JOSI_ERR_MODEL);
  CHECK(coach == NULL);
  CHECK(contains(josi_coach_last_error(NULL), "/nonexistent/josi-v5-interpreter-q4_k_m.gguf"));
  CHECK(strchr(josi_coach_last_error(NULL), '\n') == NULL);
  char bogus[4096];
  snprintf(bogus, sizeof bogus, "%s/not-a-model.gguf", workdir);
  FILE* f = fopen(bogus, "wb");
  fputs("GGUF but not really", f);
  fclose(f);
  o.interpreter_model = model;
  o.explainer_model = bogus;
  CHECK(josi_coach_open(&o, &coach) == JOSI_ERR_MODEL);
  CHECK(contains(josi_coach_last_error(NULL), "not-a-model.gguf"));
}

struct stream_state {
  atomic_int pieces;
  int stop_after; /* the callback asks to stop after this many pieces; 0: never */
  josi_coach* coach; /* set: the cancel test, whose reader is slow */
  atomic_int pieces_at_cancel;
  atomic_int done;
};

static int on_text(const char* piece, void* user) {
  struct stream_state* s = user;
  CHECK(piece != NULL);
  int n = atomic_fetch_add(&s->pieces, 1) + 1;
  if (s->coach) nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL); /* a UI showing each piece */
  return s->stop_after && n >= s->stop_after;
}

/* Waits for the stream to start, then cancels from this second thread. */
static void* cancel_when_streaming(void* user) {
  struct stream_state* s = user;
  while (atomic_load(&s->pieces) < 1 && !atomic_load(&s->done)) nanosleep(&(struct timespec){0, 100 * 1000}, NULL);
  atomic_store(&s->pieces_at_cancel, atomic_load(&s->pieces));
  josi_coach_cancel(s->coach);
  return NULL;
}

static void test_turns(const char* model, const char* turns) {
  josi_options o;
  josi_options_init(&o);
  o.interpreter_model = model;
  o.explainer_model = model; /* one file, two prompts */
  o.n_threads = 1;
  josi_coach* coach = NULL;
  CHECK(josi_coach_open(&o, &coach) == JOSI_OK);
  if (!coach) return;
  CHECK(strcmp(josi_coach_last_error(coach), "") == 0);

  char* result = (char*)1;
  CHECK(josi_coach_turn(NULL, "{}", NULL, NULL, &result) == JOSI_ERR_ARGUMENT);
  CHECK(result == NULL);
  CHECK(josi_coach_turn(coach, NULL, NULL, NULL, &result) == JOSI_ERR_ARGUMENT);
  CHECK(josi_coach_turn(coach, "{}", NULL, NULL, NULL) == JOSI_ERR_ARGUMENT);
  CHECK(josi_coach_turn(coach, "{\"message\": ", NULL, NULL, &result) == JOSI_ERR_INPUT);
  CHECK(result == NULL);
  CHECK(contains(josi_coach_last_error(coach), "turn_json"));
  CHECK(josi_coach_turn(coach, "[1, 2]", NULL, NULL, &result) == JOSI_ERR_INPUT);
  CHECK(josi_coach_turn(coach, "{\"message\": \"hi\"}", NULL, NULL, &result) == JOSI_ERR_INPUT);
  CHECK(contains(josi_coach_last_error(coach), "context"));
  CHECK(josi_coach_turn(coach, "{\"message\": \"\\ud800\", \"context\": 5}", NULL, NULL, &result) == JOSI_ERR_INPUT);

  /* A seed whose turn reaches the explainer (the random model decides). */
  int seed = 0;
  for (int s = 1; s <= 40 && !seed; ++s) {
    char* turn = turn_with_seed(turns, s);
    CHECK(josi_coach_turn(coach, turn, NULL, NULL, &result) == JOSI_OK);
    if (contains(result, "\"route\": \"explainer\"")) seed = s;
    josi_string_free(result);
    free(turn);
  }
  CHECK(seed != 0);
  char* turn = turn_with_seed(turns, seed);

  /* Streaming: the reply arrives in pieces; the same seed gives the same result. */
  struct stream_state state = {0};
  char* first = NULL;
  CHECK(josi_coach_turn(coach, turn, on_text, &state, &first) == JOSI_OK);
  CHECK(atomic_load(&state.pieces) > 0);
  CHECK(contains(first, "\"reply\": \""));

  /* A callback that asks to stop ends the turn. */
  struct stream_state stop = {0};
  stop.stop_after = 1;
  CHECK(josi_coach_turn(coach, turn, on_text, &stop, &result) == JOSI_ERR_CANCELLED);
  CHECK(result == NULL);
  CHECK(atomic_load(&stop.pieces) <= 2);

  /* Cancel from a second thread while the explainer streams: at most the token in flight follows. */
  struct stream_state cancelled = {0};
  cancelled.coach = coach;
  pthread_t thread;
  pthread_create(&thread, NULL, cancel_when_streaming, &cancelled);
  CHECK(josi_coach_turn(coach, turn, on_text, &cancelled, &result) == JOSI_ERR_CANCELLED);
  atomic_store(&cancelled.done, 1);
  pthread_join(thread, NULL);
  CHECK(result == NULL);
  CHECK(contains(josi_coach_last_error(coach), "cancelled"));
  CHECK(atomic_load(&cancelled.pieces) - atomic_load(&cancelled.pieces_at_cancel) <= 2);
  CHECK(atomic_load(&cancelled.pieces) < atomic_load(&state.pieces));

  /* The coach is usable afterwards, and a cancel with no turn running is dropped. */
  josi_coach_cancel(coach);
  josi_coach_cancel(NULL);
  char* again = NULL;
  CHECK(josi_coach_turn(coach, turn, NULL, NULL, &again) == JOSI_OK);
  /* Same seed, same turn: identical apart from the timings. */
  CHECK(again && first && strncmp(again, first, (size_t)(strstr(first, "\"timings_ms\"") - first)) == 0);
  josi_string_free(again);

  /* The same turn again reuses the conversation the coach keeps; after
   * josi_coach_forget only the system prompts are reused. Same result. */
  CHECK(josi_coach_turn(coach, turn, NULL, NULL, &again) == JOSI_OK);
  CHECK(again && contains(again, "\"evaluated\": 1, "));
  josi_string_free(again);
  josi_coach_forget(coach);
  josi_coach_forget(NULL);
  CHECK(josi_coach_turn(coach, turn, NULL, NULL, &again) == JOSI_OK);
  CHECK(again && first && strncmp(again, first, (size_t)(strstr(first, "\"timings_ms\"") - first)) == 0);
  CHECK(again && !contains(again, "\"interpreter\": {\"reused\": 0") && !contains(again, "\"evaluated\": 1, "));
  josi_string_free(again);
  josi_string_free(first);
  free(turn);
  josi_coach_close(coach);
}

/* josi_options as a caller built against api 1 laid it out: no adapters. */
typedef struct {
  uint32_t struct_size;
  const char* interpreter_model;
  const char* explainer_model;
  const char* interpreter_prompt;
  const char* explainer_prompt;
  const char* cache_dir;
  int32_t n_threads;
  int32_t n_ctx;
} josi_options_api1;

/* Opens a coach with `options` (perhaps an older, smaller struct), runs the
 * first sample turn and checks that its result holds `expected`. */
static void one_turn_with(const josi_options* options, const char* turns, const char* expected) {
  josi_coach* coach = NULL;
  CHECK(josi_coach_open(options, &coach) == JOSI_OK);
  if (!coach) return;
  char* turn = turn_with_seed(turns, 1);
  char* result = NULL;
  CHECK(josi_coach_turn(coach, turn, NULL, NULL, &result) == JOSI_OK);
  CHECK(contains(result, expected));
  josi_string_free(result);
  free(turn);
  josi_coach_close(coach);
}

/* An older caller's smaller struct is read only as far as it goes (the
 * sanitizer would see a read past it) and means "no adapters". */
static void test_api1_options(const char* model, const char* turns) {
  josi_options_api1 old;
  memset(&old, 0, sizeof old);
  old.struct_size = sizeof old;
  old.interpreter_model = model;
  old.n_threads = 1;
  one_turn_with((const josi_options*)&old, turns, "\"route\": ");
  josi_coach* coach = NULL;
  /* A size between the two is neither. */
  josi_options o;
  josi_options_init(&o);
  o.interpreter_model = model;
  o.struct_size = sizeof old + sizeof(const char*) / 2;
  CHECK(josi_coach_open(&o, &coach) == JOSI_ERR_ARGUMENT);
  CHECK(coach == NULL);
}

/* josi_options as a caller built against api 2 laid it out: adapters, no cards. */
typedef struct {
  josi_options_api1 api1;
  const char* interpreter_adapter;
  const char* explainer_adapter;
} josi_options_api2;

static void test_api2_options(const char* model, const char* turns) {
  josi_options_api2 old;
  memset(&old, 0, sizeof old);
  old.api1.struct_size = sizeof old;
  old.api1.interpreter_model = model;
  old.api1.n_threads = 1;
  one_turn_with((const josi_options*)&old, turns, "\"knowledge\": []");
}

/* josi_options as a caller built against api 3 laid it out: cards and a
 * preset, no KV cache type (f16). */
typedef struct {
  josi_options_api2 api2;
  const char* knowledge_path;
  const char* preset;
} josi_options_api3;

static void test_api3_options(const char* model, const char* turns) {
  josi_options_api3 old;
  memset(&old, 0, sizeof old);
  old.api2.api1.struct_size = sizeof old;
  old.api2.api1.interpreter_model = model;
  old.api2.api1.n_threads = 1;
  one_turn_with((const josi_options*)&old, turns, "\"route\": ");
}

/* A Q8_0 KV cache runs the turn; a type Josi does not have is refused. */
static void test_kv_type(const char* model, const char* turns) {
  josi_options o;
  josi_options_init(&o);
  o.interpreter_model = model;
  o.n_threads = 1;
  o.kv_type = "q8_0";
  one_turn_with(&o, turns, "\"route\": ");
  o.kv_type = "q4_0";
  josi_coach* coach = NULL;
  CHECK(josi_coach_open(&o, &coach) == JOSI_ERR_ARGUMENT);
  CHECK(coach == NULL);
  CHECK(contains(josi_coach_last_error(NULL), "kv_type"));
}

/* With the coaching cards, the coach's turn names the cards it was given;
 * a bad knowledge file fails the open with a line naming it. */
static void test_knowledge(const char* model, const char* knowledge, const char* workdir) {
  josi_options o;
  josi_options_init(&o);
  o.interpreter_model = model;
  o.n_threads = 1;
  o.knowledge_path = knowledge;
  josi_coach* coach = NULL;
  CHECK(josi_coach_open(&o, &coach) == JOSI_OK);
  if (!coach) return;
  const char* turn =
      "{\"message\": \"What is zone 2?\", \"context\": {\"athlete_id\": \"a\", \"tier\": \"coach\", \"mode\": \"coach\", "
      "\"persona_id\": \"balanced\", \"today\": \"2026-03-14\", \"readiness\": {\"state\": \"Productive\", "
      "\"confidence\": 0.8, \"level\": \"Green\", \"data_tier\": \"Good\"}, \"has_session_context\": false, "
      "\"history\": [], \"profile_summary\": {\"sport\": \"running\"}}, \"options\": {\"seed\": 1, "
      "\"interpreter\": {\"replay\": \"{\\\"action\\\": \\\"answer_question\\\", \\\"question\\\": \\\"What is zone 2?\\\"}\"}, "
      "\"explainer\": {\"replay\": \"Easy.\"}}}";
  char* result = NULL;
  CHECK(josi_coach_turn(coach, turn, NULL, NULL, &result) == JOSI_OK);
  CHECK(contains(result, "\"route\": \"explainer\""));
  CHECK(contains(result, "\"knowledge\": [{\"id\": \""));
  CHECK(contains(result, "[KNOWLEDGE]"));
  josi_string_free(result);
  josi_coach_close(coach);

  /* The caller names the preset; a turn may still name another. */
  o.preset = "v6";
  coach = NULL;
  CHECK(josi_coach_open(&o, &coach) == JOSI_OK);
  if (coach) {
    result = NULL;
    CHECK(josi_coach_turn(coach, turn, NULL, NULL, &result) == JOSI_OK);
    CHECK(contains(result, "\"preset\": \"v6\", \"layout\": \"v6\""));
    CHECK(contains(result, "\"max_tokens\": 200"));
    josi_string_free(result);
    josi_coach_close(coach);
  }
  o.preset = "v7";
  coach = (josi_coach*)1;
  CHECK(josi_coach_open(&o, &coach) == JOSI_ERR_ARGUMENT);
  CHECK(coach == NULL);
  CHECK(contains(josi_coach_last_error(NULL), "unknown preset \"v7\""));
  o.preset = NULL;

  char bad[4096];
  snprintf(bad, sizeof bad, "%s/bad-knowledge.json", workdir);
  FILE* f = fopen(bad, "wb");
  if (f) {
    fputs("{\"version\": \"v6\", \"total_entries\": 1, \"entries\": [{\"id\": 3}]}", f);
    fclose(f);
  }
  o.knowledge_path = bad;
  coach = (josi_coach*)1;
  CHECK(josi_coach_open(&o, &coach) == JOSI_ERR_MODEL);
  CHECK(coach == NULL);
  CHECK(contains(josi_coach_last_error(NULL), "bad-knowledge.json"));
}

static void test_memory_update(void) {
  char* memory = (char*)1;
  CHECK(josi_memory_update(NULL, NULL, &memory) == JOSI_ERR_ARGUMENT);
  CHECK(memory == NULL);
  CHECK(josi_memory_update(NULL, "[]", NULL) == JOSI_ERR_ARGUMENT);
  CHECK(josi_memory_update(NULL, "[{\"role\": ", &memory) == JOSI_ERR_INPUT);
  CHECK(contains(josi_coach_last_error(NULL), "history_json"));
  CHECK(josi_memory_update("{\"x\": ", "[]", &memory) == JOSI_ERR_INPUT);
  CHECK(contains(josi_coach_last_error(NULL), "memory_json"));
  const char* history = "[{\"role\": \"user\", \"message\": \"I have a bad knee and I prefer morning runs\"}]";
  CHECK(josi_memory_update(NULL, history, &memory) == JOSI_OK);
  CHECK(memory && memory[0] == '{');
  char* merged = NULL;
  CHECK(josi_memory_update(memory, "[]", &merged) == JOSI_OK);
  CHECK(merged && strcmp(merged, memory) == 0); /* nothing new: the memory stays */
  josi_string_free(merged);
  josi_string_free(memory);
  josi_string_free(NULL); /* harmless */
  josi_coach_close(NULL); /* harmless */
}

int main(int argc, char** argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: %s MODEL.gguf TURNS.jsonl WORKDIR [KNOWLEDGE.json]\n", argv[0]);
    return 2;
  }
  test_version_and_options();
  test_open_refuses_bad_arguments(argv[1], argv[3]);
  test_memory_update();
  test_api1_options(argv[1], argv[2]);
  test_api2_options(argv[1], argv[2]);
  test_api3_options(argv[1], argv[2]);
  test_kv_type(argv[1], argv[2]);
  if (argc == 5) test_knowledge(argv[1], argv[4], argv[3]);
  test_turns(argv[1], argv[2]);
  if (failures) fprintf(stderr, "%d checks failed\n", failures);
  else printf("coach_api_test: all checks passed\n");
  return failures ? 1 : 0;
}
