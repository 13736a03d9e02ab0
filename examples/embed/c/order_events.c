/* order_events: takt from C. Opens an engine from the options given as JSON, submits the
 * events of standard input (JSON Lines) one by one, and prints every command the engine
 * hands over after its commit, one JSON object per line. The stats go to standard error.
 *
 *   order_events '{"workflows": ["workflows"], "rules_dir": "rules", "store": "plant.db"}' \
 *       < events.jsonl > commands.jsonl
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <takt/takt.h>

struct counts {
  unsigned long commands;
  unsigned long rejected;
};

static void on_command(void* context, const char* command_json) {
  struct counts* counts = (struct counts*)context;
  counts->commands++;
  printf("%s\n", command_json);
}

static void on_log(void* context, int level, const char* message) {
  (void)context;
  if (level >= TAKT_LOG_WARN) fprintf(stderr, "takt: %s\n", message);
}

int main(int argc, char** argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: order_events OPTIONS_JSON < events.jsonl\n");
    return 2;
  }
  struct counts counts = {0, 0};
  takt_callbacks callbacks = {on_log, on_command, &counts};
  takt_engine* engine = NULL;
  if (takt_open(argv[1], &callbacks, &engine) != TAKT_OK) {
    fprintf(stderr, "order_events: %s\n", takt_last_error());
    return 1;
  }

  char* line = NULL;
  size_t capacity = 0;
  ssize_t length;
  int failed = 0;
  while (!failed && (length = getline(&line, &capacity, stdin)) != -1) {
    while (length > 0 && (line[length - 1] == '\n' || line[length - 1] == '\r')) line[--length] = '\0';
    if (length == 0) continue;
    char* result = NULL;
    if (takt_submit(engine, line, (size_t)length, &result) != TAKT_OK) {
      /* The engine itself failed (a full disk): nothing of this event was accepted. */
      fprintf(stderr, "order_events: %s\n", takt_last_error());
      failed = 1;
      break;
    }
    /* A rejected event (duplicate, not its owner, out of sequence) is an outcome, not an error. */
    if (strstr(result, "\"outcome\":\"applied\"") == NULL) counts.rejected++;
    takt_free(result);
  }
  free(line);

  char* stats = NULL;
  if (!failed && takt_stats(engine, &stats) == TAKT_OK) {
    fprintf(stderr, "order_events: %lu commands, %lu events not applied; stats %s\n",
            counts.commands, counts.rejected, stats);
    takt_free(stats);
  }
  if (takt_close(engine) != TAKT_OK) {
    fprintf(stderr, "order_events: %s\n", takt_last_error());
    return 1;
  }
  return failed;
}
