// Migrations run in order from the database's user_version; each is one step that is never
// edited once released (a change is a new step), so that every database reaches the same schema.
#include "engine/store/schema.h"

#include <string>

namespace takt::store {
namespace {

// Step i takes a database from version i to version i + 1.
const char* const kMigrations[] = {
    // 0 -> 1: the first schema.
    R"sql(
CREATE TABLE events (            -- every submitted event, in arrival order: the log, and the
  pos     INTEGER PRIMARY KEY,   -- first link of its position in the audit chain
  id      TEXT,                  -- NULL for a malformed event without one
  source  TEXT, type TEXT, key TEXT, seq INTEGER, ts INTEGER,
  outcome TEXT NOT NULL,         -- applied, duplicate, ownership_violation, out_of_sequence, malformed
  reason  TEXT,
  body    TEXT NOT NULL,
  workflow TEXT, version TEXT,   -- the transition it fired on its own key's instance, if any,
  effect  TEXT,                  -- as "released -> executing"
  hash    TEXT NOT NULL);
CREATE INDEX events_by_key ON events (key);
CREATE TABLE inbox (             -- ids seen, for dedup (malformed events are not remembered)
  id  TEXT PRIMARY KEY,
  pos INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE sequences (         -- last seq per (source, key), with gaps and late arrivals
  source TEXT, key TEXT, last_seq INTEGER NOT NULL, gaps INTEGER NOT NULL, late INTEGER NOT NULL,
  next_seq INTEGER NOT NULL,     -- reorder policy: the next seq to apply in order
  PRIMARY KEY (source, key)) WITHOUT ROWID;
CREATE TABLE held (              -- events a reorder policy held back (the event is in events)
  pos INTEGER PRIMARY KEY,
  released_pos INTEGER,          -- the event whose processing released it; NULL while held
  outcome TEXT);                 -- its outcome once released
CREATE TABLE instances (
  workflow TEXT, key TEXT,
  version  TEXT NOT NULL,        -- content hash of the definition it started on
  state    TEXT NOT NULL,
  final    INTEGER NOT NULL,
  variables  TEXT NOT NULL,      -- JSON object
  indexed_at TEXT NOT NULL,      -- JSON array, per index variable
  timers  TEXT NOT NULL,         -- JSON array of armed timers: [after_ms, due, seq]
  created_pos INTEGER NOT NULL, updated_pos INTEGER NOT NULL,
  PRIMARY KEY (workflow, key)) WITHOUT ROWID;
CREATE TABLE rule_state (
  rule TEXT, key BLOB, state BLOB NOT NULL, updated_pos INTEGER NOT NULL,
  PRIMARY KEY (rule, key)) WITHOUT ROWID;
CREATE TABLE outbox (
  seq        INTEGER PRIMARY KEY,  -- emission order
  id         TEXT NOT NULL UNIQUE, -- deterministic: causing event, emitter, index
  name       TEXT NOT NULL,
  connector  TEXT NOT NULL,        -- the command name's first segment: odoo, alert, ...
  payload    TEXT NOT NULL,
  caused_by  TEXT NOT NULL,
  emitted_by TEXT NOT NULL,
  pos        INTEGER NOT NULL,
  status     TEXT NOT NULL,        -- pending, then what the dispatcher makes of it
  attempts   INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_error TEXT);
CREATE TABLE audit (             -- what else an event caused: transitions of other instances,
  seq INTEGER PRIMARY KEY,       -- signals, rule failures, commands
  pos INTEGER NOT NULL, at INTEGER NOT NULL,
  event_id TEXT, source TEXT, kind TEXT NOT NULL, workflow TEXT, key TEXT,
  detail TEXT NOT NULL, version TEXT, hash TEXT NOT NULL);
CREATE INDEX audit_by_key ON audit (key);
CREATE INDEX audit_by_pos ON audit (pos);
CREATE TABLE definitions (       -- every version that ran: enough to compile it again
  hash TEXT PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, file TEXT NOT NULL,
  text TEXT NOT NULL,
  imports TEXT NOT NULL,         -- a workflow's declaration files: JSON [[file, text], ...]
  first_pos INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE cursors (           -- how far an input has been consumed, e.g. lines of a file
  name TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID;
)sql",
    // 1 -> 2: the commands an embedder has yet to deliver, found without a scan of the outbox.
    R"sql(
CREATE INDEX outbox_pending ON outbox (seq) WHERE status = 'pending';
)sql",
    // 2 -> 3: the instances not yet in a final state, which the engine holds in memory, found at
    // open without a scan of every instance that ever ran.
    R"sql(
CREATE INDEX instances_open ON instances (workflow, created_pos) WHERE final = 0;
)sql",
    // 3 -> 4: the log's rows of one (source, key) chained through prev_pos, from the last one
    // that sequences.last_pos names, in place of the index of the log by key: a second B-tree
    // insert per event was a fifth of a durable engine's time, and a chain costs a column.
    // Every (source, key) in the log gets a position, a duplicate's alone included.
    R"sql(
ALTER TABLE events ADD COLUMN prev_pos INTEGER;
ALTER TABLE sequences ADD COLUMN last_pos INTEGER NOT NULL DEFAULT 0;
UPDATE events SET prev_pos = chained.prev FROM (
  SELECT pos, lag(pos) OVER (PARTITION BY source, key ORDER BY pos) AS prev
  FROM events WHERE key IS NOT NULL) AS chained
WHERE events.pos = chained.pos AND chained.prev IS NOT NULL;
UPDATE sequences SET last_pos = last.pos FROM (
  SELECT source, key, max(pos) AS pos FROM events WHERE key IS NOT NULL GROUP BY source, key) AS last
WHERE sequences.source = last.source AND sequences.key = last.key;
INSERT OR IGNORE INTO sequences (source, key, last_seq, gaps, late, next_seq, last_pos)
  SELECT source, key, 0, 0, 0, 1, max(pos) FROM events WHERE key IS NOT NULL GROUP BY source, key;
DROP INDEX events_by_key;
)sql",
    // 4 -> 5: open instances may stay in the database only (EngineOptions::
    // max_instances_in_memory), so what memory found among all of them is found here: the next
    // timer due, through a partial index of next_due; the open instances by index value in
    // instance_index. That table holds rows only while a cap is in use, kept by the engine
    // (state/instance_cache.cc), which knows from the definitions which variables are indexes.
    R"sql(
ALTER TABLE instances ADD COLUMN next_due INTEGER;  -- the earliest armed timer's due; NULL: none
UPDATE instances SET next_due =
  (SELECT min(json_extract(t.value, '$[1]')) FROM json_each(instances.timers) AS t)
WHERE timers <> '[]';
CREATE INDEX instances_due ON instances (next_due) WHERE next_due IS NOT NULL;
CREATE TABLE instance_index (     -- per open instance and index variable: its value (JSON)
  workflow TEXT, key TEXT, var TEXT,
  value TEXT NOT NULL,
  at    INTEGER NOT NULL,         -- when it took the value, on the engine's index clock
  PRIMARY KEY (workflow, key, var)) WITHOUT ROWID;
CREATE INDEX instance_index_by_value ON instance_index (workflow, var, value, at);
)sql",
    // 5 -> 6: the `monotonic` ordering policy's bar, the highest seq applied per (source, key).
    // And an input is known by its content, not by its name alone: the committed prefix's
    // length and SHA-256, and a check value per line to name the first line of another input
    // that differs (sim/input_fingerprint.h). A cursor of an earlier version has neither, and a
    // resume on it is refused rather than trusted.
    R"sql(
ALTER TABLE cursors ADD COLUMN bytes INTEGER;
ALTER TABLE cursors ADD COLUMN sha256 TEXT;
CREATE TABLE cursor_lines (       -- per committed batch: 8 bytes a line, lines first_line on
  name TEXT NOT NULL, first_line INTEGER NOT NULL, checks BLOB NOT NULL,
  PRIMARY KEY (name, first_line));
ALTER TABLE sequences ADD COLUMN last_accepted_seq INTEGER NOT NULL DEFAULT 0;
UPDATE sequences SET last_accepted_seq = applied.seq FROM (
  SELECT e.source, e.key, max(e.seq) AS seq FROM events e LEFT JOIN held h ON h.pos = e.pos
  WHERE e.key IS NOT NULL AND (e.outcome = 'applied' OR h.outcome = 'applied')
  GROUP BY e.source, e.key) AS applied
WHERE sequences.source = applied.source AND sequences.key = applied.key;
)sql",
    // 6 -> 7: the delivery lifecycle (connect/delivery.h): a command is pending, in_flight,
    // retry (waiting for next_attempt_at), delivered, dead, or dropped from the dead letters.
    // Commands of one key are delivered in order: a workflow's command has its instance's key,
    // a rule's the key of the event it decided on. first_attempt_at (wall clock, ms) starts a
    // command's age for the retry policy's limit.
    R"sql(
ALTER TABLE outbox ADD COLUMN key TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN first_attempt_at INTEGER;
UPDATE outbox SET key = coalesce((SELECT a.key FROM audit a   -- through audit_by_pos
  WHERE a.pos = outbox.pos AND a.kind = 'command'
    AND substr(a.detail, 1, length(outbox.id) + 1) = outbox.id || ' ' LIMIT 1), '');
DROP INDEX outbox_pending;
CREATE INDEX outbox_undelivered ON outbox (seq) WHERE status IN ('pending', 'in_flight', 'retry');
CREATE INDEX outbox_dead ON outbox (seq) WHERE status = 'dead';
)sql",
    // 7 -> 8: an instance a timer kept in its state is overdue (a breached SLA) from that
    // timer's due until it enters another state (workflow/instance.h). Earlier rows never were.
    R"sql(
ALTER TABLE instances ADD COLUMN overdue_since INTEGER;
)sql",
    // 8 -> 9: the index of undelivered commands tests its three statuses with OR. SQLite
    // evaluates `status IN (three values)` through a temporary table it builds at every
    // statement that writes a row of the outbox: about 40,000 instructions per command added,
    // six times what a row of the log costs. The queries that read through the index say
    // TAKT_OUTBOX_UNDELIVERED (schema.h) too, which is how SQLite knows the index serves them.
    R"sql(
DROP INDEX outbox_undelivered;
CREATE INDEX outbox_undelivered ON outbox (seq) WHERE )sql" TAKT_OUTBOX_UNDELIVERED ";",
};
static_assert(sizeof kMigrations / sizeof kMigrations[0] == kSchemaVersion,
              "one migration per schema version");

}  // namespace

Status Migrate(Database& db) {
  // The first read of the file: a file that is not a database fails here.
  Result<int64_t> app = db.QueryInt("PRAGMA application_id");
  if (!app.ok()) {
    return Status::Corruption("cannot read " + db.path() + " as a takt database: " +
                              app.status().message());
  }
  Result<int64_t> version = db.QueryInt("PRAGMA user_version");
  if (!version.ok()) return version.status();
  Result<int64_t> tables = db.QueryInt("SELECT count(*) FROM sqlite_schema");
  if (!tables.ok()) return tables.status();
  if (app.value() != kApplicationId && (app.value() != 0 || tables.value() != 0)) {
    return Status::InvalidArgument(db.path() + " is not a takt database (application_id " +
                                   std::to_string(app.value()) + ")");
  }
  if (version.value() > kSchemaVersion) {
    return Status::InvalidArgument(db.path() + " has schema version " +
                                   std::to_string(version.value()) + "; this takt knows up to " +
                                   std::to_string(kSchemaVersion));
  }
  for (int64_t v = version.value(); v < kSchemaVersion; ++v) {
    TAKT_RETURN_IF_ERROR(db.Exec("BEGIN IMMEDIATE"));
    std::string step = kMigrations[v];
    step += "PRAGMA application_id = " + std::to_string(kApplicationId) + ";";
    step += "PRAGMA user_version = " + std::to_string(v + 1) + ";";
    Status migrated = db.Exec(step);
    if (migrated.ok()) migrated = db.Exec("COMMIT");
    if (!migrated.ok()) {
      (void)db.Exec("ROLLBACK");
      return Status::IoError("migrating " + db.path() + " to schema version " +
                             std::to_string(v + 1) + ": " + migrated.message());
    }
  }
  return Status();
}

}  // namespace takt::store
