/* The C API of takt: the embedding API of engine.h for C and for languages that call C
 * (Python's ctypes, Go's cgo, ...). Opaque handles; every call returns a takt_code, and on
 * failure takt_last_error() says why; JSON text in and out; no C++ exception crosses it.
 * The JSON documents are described in docs/embedding.md.
 *
 * Strings the library returns through a char** are the caller's, freed with takt_free().
 * An engine may be used from several threads at once, as in engine.h: submissions are applied
 * one at a time, in arrival order, and committed in groups. */
#ifndef TAKT_TAKT_H_
#define TAKT_TAKT_H_

#include <stddef.h>
#include <stdint.h>

#include "takt/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum takt_code {
  TAKT_OK = 0,
  TAKT_INVALID_ARGUMENT = 1, /* a bad option, a call that is not allowed now */
  TAKT_NOT_FOUND = 2,        /* a file, an instance, a command id */
  TAKT_ALREADY_EXISTS = 3,
  TAKT_PARSE_ERROR = 4,      /* definitions that do not compile: file:line:column */
  TAKT_RULE_ERROR = 5,       /* a rule that does not load, or whose tests fail */
  TAKT_LIMIT_EXCEEDED = 6,
  TAKT_IO_ERROR = 7,         /* the database could not be written: nothing was accepted */
  TAKT_CORRUPTION = 8,       /* a damaged database */
  TAKT_INTERNAL = 9          /* an unexpected failure inside takt, such as running out of memory */
} takt_code;

typedef enum takt_log_level {
  TAKT_LOG_DEBUG = 0,
  TAKT_LOG_INFO = 1,
  TAKT_LOG_WARN = 2,
  TAKT_LOG_ERROR = 3
} takt_log_level;

typedef struct takt_engine takt_engine;

/* Called with what the engine has to say; takt never prints on its own. */
typedef void (*takt_log_fn)(void* context, int level, const char* message);
/* Called once for each command (a JSON object, valid during the call) after the batch that
 * caused it is committed, in emission order, one call at a time. It must not submit. */
typedef void (*takt_command_fn)(void* context, const char* command_json);

typedef struct takt_callbacks {
  takt_log_fn log;         /* may be NULL */
  takt_command_fn command; /* may be NULL */
  void* context;           /* passed to both; must outlive the engine */
} takt_callbacks;

/* "0.1.0" */
TAKT_API const char* takt_version(void);

/* The message of the last call that failed on this thread ("" when none did); valid until the
 * next takt call on this thread. */
TAKT_API const char* takt_last_error(void);

/* Opens an engine. options_json: a JSON object, e.g.
 *   {"workflows": ["workflows"], "rules_dir": "rules", "store": "plant.db",
 *    "durability": "full"}
 * (every key is optional; see docs/embedding.md). callbacks may be NULL. */
TAKT_API takt_code takt_open(const char* options_json, const takt_callbacks* callbacks,
                             takt_engine** engine);

/* Waits for the batch under way, closes the database and frees the engine. NULL is fine.
 * The handle is invalid afterwards, whatever the code. */
TAKT_API takt_code takt_close(takt_engine* engine);

/* Applies one event (a JSON object of `length` bytes) and returns, after its commit, what
 * became of it: {"outcome": "applied", "position": 1, "event_id": ..., "reason": ...,
 * "commands": [...], "signals": [...], "rule_errors": [...], "released": [...]}.
 * A rejected event is an outcome, not an error. */
TAKT_API takt_code takt_submit(takt_engine* engine, const char* event_json, size_t length,
                               char** result_json);

/* Applies the events of `events_jsonl` (JSON Lines: one event per line, empty lines skipped)
 * as one transaction, and returns a JSON array with one result per event. */
TAKT_API takt_code takt_submit_batch(takt_engine* engine, const char* events_jsonl, size_t length,
                                     char** results_json);

/* Fires every workflow timer due at or before `now_ms` (ms since the epoch) with no event needed,
 * as Engine::AdvanceClock does: the result JSON lists their commands ("position" is the last
 * event's, "event_id" empty). */
TAKT_API takt_code takt_advance_clock(takt_engine* engine, int64_t now_ms, char** result_json);

/* {"workflow", "key", "state", "final", "lifecycle", "version", "variables": {...}}, and
 * "overdue_since" (ms) on an instance past its SLA (InstanceSummary in takt/engine.h);
 * TAKT_NOT_FOUND when there is no such instance. */
TAKT_API takt_code takt_get_instance(takt_engine* engine, const char* workflow, const char* key,
                                     char** instance_json);

/* The counters of engine.h's EngineStats as a JSON object. */
TAKT_API takt_code takt_stats(takt_engine* engine, char** stats_json);

/* Reloads the rules directory; the active rules stay when the new ones fail to load or test. */
TAKT_API takt_code takt_reload_rules(takt_engine* engine);

/* Delivery from the outbox (an engine with a store): up to `max` commands not yet delivered,
 * oldest first, as a JSON array of commands with "attempts" and "last_error". */
TAKT_API takt_code takt_pending_commands(takt_engine* engine, size_t max, char** commands_json);
/* The command reached its receiver: it is not offered again. */
TAKT_API takt_code takt_mark_delivered(takt_engine* engine, const char* command_id);
/* A delivery failed: recorded with `error`; with give_up != 0 the command becomes a dead
 * letter, never offered again. */
TAKT_API takt_code takt_mark_failed(takt_engine* engine, const char* command_id, const char* error,
                                    int give_up);

/* The dead letters, oldest first (as takt_pending_commands, with status "dead"); one put back
 * for a new round of deliveries; one dropped for good. TAKT_INVALID_ARGUMENT for a command that
 * is not dead. */
TAKT_API takt_code takt_dead_letters(takt_engine* engine, size_t max, char** commands_json);
TAKT_API takt_code takt_revive_dead(takt_engine* engine, const char* command_id);
TAKT_API takt_code takt_drop_dead(takt_engine* engine, const char* command_id);

/* A dispatcher delivers an engine's outbox through connectors, with retries and dead letters
 * (dispatch.h, docs/operations.md). */
typedef struct takt_dispatcher takt_dispatcher;
/* A dispatcher for `engine` (which must outlive it, and have a store) with the [dispatch] and
 * [[connector]] tables of the configuration file `config_path`; connectors' secrets are read
 * from the environment variables it names. */
TAKT_API takt_code takt_dispatcher_open(takt_engine* engine, const char* config_path,
                                        takt_dispatcher** dispatcher);
/* Delivers until takt_dispatcher_stop(); with until_idle != 0, returns once every command a
 * connector delivers is delivered or dead, or TAKT_LIMIT_EXCEEDED after max_wait_ms (> 0). */
TAKT_API takt_code takt_dispatcher_run(takt_dispatcher* dispatcher, int until_idle,
                                       long long max_wait_ms);
/* Makes takt_dispatcher_run() return soon; from any thread. */
TAKT_API takt_code takt_dispatcher_stop(takt_dispatcher* dispatcher);
/* {"delivered": n, "retried": n, "dead": n, "unrouted": n} */
TAKT_API takt_code takt_dispatcher_counts(takt_dispatcher* dispatcher, char** counts_json);
/* Frees the dispatcher; it must not be running. NULL is fine. */
TAKT_API takt_code takt_dispatcher_close(takt_dispatcher* dispatcher);

/* Frees a string returned by takt. NULL is fine. */
TAKT_API void takt_free(char* text);

#ifdef __cplusplus
}
#endif

#endif /* TAKT_TAKT_H_ */
