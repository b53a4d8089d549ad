/* coach_turn: one athlete turn through libjosi, as an app makes it.
 *   coach_turn INTERPRETER.gguf EXPLAINER.gguf TURN.json [CACHE_DIR]
 *   coach_turn --base BASE.gguf INTERPRETER_ADAPTER.gguf EXPLAINER_ADAPTER.gguf TURN.json [CACHE_DIR]
 * Opens both models (the same file may serve both; or one base with each
 * role's LoRA adapter applied at run time), runs the turn read from
 * TURN.json (docs/turn.md), streams the reply text to stderr as it
 * is generated and prints the turn's result JSON on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "josi/josi.h"

static char* read_file(const char* path) {
  FILE* f = fopen(path, "rb");
  if (!f) return NULL;
  size_t size = 0, cap = 4096;
  char* text = malloc(cap);
  for (size_t n; text && (n = fread(text + size, 1, cap - size - 1, f)) > 0;) {
    size += n;
    if (cap - size < 2) text = realloc(text, cap *= 2);
  }
  fclose(f);
  if (text) text[size] = '\0';
  return text;
}

static int stream(const char* piece, void* user) {
  (void)user;
  fputs(piece, stderr);
  return 0;
}

int main(int argc, char** argv) {
  const int adapters = argc > 1 && strcmp(argv[1], "--base") == 0;
  char** args = argv + 1 + adapters; /* the files after --base */
  const int n = argc - 1 - adapters, files = 3 + adapters;
  if (n < files || n > files + 1) {
    fprintf(stderr,
            "usage: %s INTERPRETER.gguf EXPLAINER.gguf TURN.json [CACHE_DIR]\n"
            "       %s --base BASE.gguf INTERPRETER_ADAPTER.gguf EXPLAINER_ADAPTER.gguf TURN.json [CACHE_DIR]\n%s\n",
            argv[0], argv[0], josi_version());
    return 2;
  }
  const char* turn_path = args[files - 1];
  char* turn = read_file(turn_path);
  if (!turn) {
    fprintf(stderr, "coach_turn: %s: cannot read\n", turn_path);
    return 1;
  }
  josi_options options;
  josi_options_init(&options);
  options.interpreter_model = args[0];
  if (adapters) {
    options.interpreter_adapter = args[1];
    options.explainer_adapter = args[2];
  } else {
    options.explainer_model = args[1];
  }
  options.cache_dir = n == files + 1 ? args[files] : NULL;
  josi_coach* coach = NULL;
  josi_status status = josi_coach_open(&options, &coach);
  if (status != JOSI_OK) {
    fprintf(stderr, "coach_turn: open failed (%d): %s\n", status, josi_coach_last_error(NULL));
    free(turn);
    return 1;
  }
  char* result = NULL;
  status = josi_coach_turn(coach, turn, stream, NULL, &result);
  fputc('\n', stderr);
  if (status == JOSI_OK) {
    printf("%s\n", result);
  } else {
    fprintf(stderr, "coach_turn: turn failed (%d): %s\n", status, josi_coach_last_error(coach));
  }
  josi_string_free(result);
  josi_coach_close(coach);
  free(turn);
  return status == JOSI_OK ? 0 : 1;
}
