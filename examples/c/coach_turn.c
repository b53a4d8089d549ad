/* coach_turn: one athlete turn through libjosi, as an app makes it.
 *   coach_turn INTERPRETER.gguf EXPLAINER.gguf TURN.json [CACHE_DIR]
 * Opens both models (the same file may serve both), runs the turn read from
 * TURN.json (runtime.md "One turn"), streams the reply text to stderr as it
 * is generated and prints the turn's result JSON on stdout. */
#include <stdio.h>
#include <stdlib.h>

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
  if (argc < 4 || argc > 5) {
    fprintf(stderr, "usage: %s INTERPRETER.gguf EXPLAINER.gguf TURN.json [CACHE_DIR]\n%s\n", argv[0], josi_version());
    return 2;
  }
  char* turn = read_file(argv[3]);
  if (!turn) {
    fprintf(stderr, "coach_turn: %s: cannot read\n", argv[3]);
    return 1;
  }
  josi_options options;
  josi_options_init(&options);
  options.interpreter_model = argv[1];
  options.explainer_model = argv[2];
  options.cache_dir = argc == 5 ? argv[4] : NULL;
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
