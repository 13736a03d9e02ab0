// Statements are prepared once and reused for every row. The engine is the only writer, so
// positions and audit sequence numbers are assigned here rather than read back from SQLite.
#include "engine/store/sqlite_store.h"

#include <algorithm>
#include <csignal>
#include <cstdlib>

#include "dsl/value.h"
#include "engine/store/audit.h"
#include "engine/store/schema.h"

namespace takt::store {
namespace {

std::string_view Connector(std::string_view command) {
  return command.substr(0, command.find('.'));
}

constexpr const char* kInstanceColumns =
    "workflow, key, version, state, final, variables, indexed_at, created_pos, updated_pos, "
    "timers, overdue_since";

InstanceRow ReadInstance(const Statement& r) {
  InstanceRow i;
  i.workflow = r.Text(0);
  i.key = r.Text(1);
  i.version = r.Text(2);
  i.state = r.Text(3);
  i.final = r.Int(4) != 0;
  i.variables = r.Text(5);
  i.indexed_at = r.Text(6);
  i.created_pos = r.Int(7);
  i.updated_pos = r.Int(8);
  i.timers = r.Text(9);
  if (!r.IsNull(10)) i.overdue_since = r.Int(10);
  return i;
}

}  // namespace

SqliteStore::SqliteStore(Database db) : db_(std::move(db)) {}

SqliteStore::~SqliteStore() {
  if (in_transaction_) Rollback();
}

Result<std::unique_ptr<SqliteStore>> OpenSqliteStore(const StoreOptions& options) {
  Result<Database> db = Database::Open(options.path, Database::Mode::kCreate);
  if (!db.ok()) return db.status();
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(db).value()));
  Database& d = store->db_;
  TAKT_RETURN_IF_ERROR(Migrate(d));
  // WAL: readers (takt trace) never block the writer, and a commit appends instead of
  // rewriting pages. Durability::kFull syncs the WAL after every commit (WalSync); kNormal only
  // at checkpoints.
  Result<Statement> wal = d.Prepare("PRAGMA journal_mode = WAL");
  if (!wal.ok()) return wal.status();
  Result<bool> mode = wal.value().Step();
  if (!mode.ok()) return mode.status();
  if (wal.value().Text(0) != "wal") {
    return Status::IoError("cannot put " + options.path + " in WAL mode (journal mode is " +
                           std::string(wal.value().Text(0)) + ")");
  }
  wal.value().Reset();  // ends its read of the file, which the checkpointer's connection needs
  // NORMAL in both modes: FULL's sync of each commit is WalSync's, outside the engine's lock.
  const char* synchronous = "NORMAL";
  TAKT_RETURN_IF_ERROR(d.Exec(std::string("PRAGMA synchronous = ") + synchronous));
  // With NORMAL too: commits are not synced, but the outbox hands out only synced ones.
  store->wal_sync_ = std::make_shared<WalSync>(options.path + "-wal");
  store->sync_commits_ = options.durability == Durability::kFull;
  TAKT_RETURN_IF_ERROR(d.Exec("PRAGMA busy_timeout = 5000"));
  // The indexes take inserts all over (ids and keys are not in arrival order): a cache that
  // holds their working set saves a read for most inserts. 64 MiB, taken only as used.
  TAKT_RETURN_IF_ERROR(d.Exec("PRAGMA cache_size = -65536"));
  // Checkpoints on a thread of their own (checkpointer.h), from 10,000 pages (40 MB of WAL)
  // rather than SQLite's 1,000: the index pages that every batch touches are copied back to the
  // database once per checkpoint, not once per few batches.
  Result<std::unique_ptr<Checkpointer>> checkpointer =
      Checkpointer::Start(options.path, synchronous, d, options.checkpoint);
  if (!checkpointer.ok()) return checkpointer.status();
  store->checkpointer_ = std::move(checkpointer).value();
  if (options.max_bytes > 0) {
    Result<int64_t> page_size = d.QueryInt("PRAGMA page_size");
    if (!page_size.ok()) return page_size.status();
    const uint64_t pages =
        std::max<uint64_t>(1, options.max_bytes / static_cast<uint64_t>(page_size.value()));
    TAKT_RETURN_IF_ERROR(d.Exec("PRAGMA max_page_count = " + std::to_string(pages)));
  }
  TAKT_RETURN_IF_ERROR(store->Prepare());

  // The chain's head: the last audit row when it belongs to the last event, else that event.
  Result<Statement> head = d.Prepare(
      "SELECT hash FROM (SELECT pos, seq, hash FROM (SELECT pos, seq, hash FROM audit "
      "ORDER BY seq DESC LIMIT 1) UNION ALL SELECT pos, 0, hash FROM (SELECT pos, hash FROM "
      "events ORDER BY pos DESC LIMIT 1)) ORDER BY pos DESC, seq DESC LIMIT 1");
  if (!head.ok()) return head.status();
  Result<bool> row = head.value().Step();
  if (!row.ok()) return row.status();
  if (row.value()) store->audit_head_ = std::string(head.value().Text(0));
  Result<int64_t> seq = d.QueryInt("SELECT coalesce(max(seq), 0) FROM audit");
  if (!seq.ok()) return seq.status();
  store->audit_seq_ = seq.value();
  store->committed_audit_seq_ = store->audit_seq_;
  store->committed_head_ = store->audit_head_;

  if (const char* crash = std::getenv("TAKT_CRASH_AT"); crash != nullptr && *crash != '\0') {
    std::string_view spec(crash);
    const size_t colon = spec.find(':');
    store->crash_point_ = std::string(spec.substr(0, colon));
    store->crash_countdown_ = colon == std::string_view::npos
                                  ? 1
                                  : std::atoll(std::string(spec.substr(colon + 1)).c_str());
  }
  return store;
}

Status SqliteStore::Prepare() {
  const std::string load_instance = std::string("SELECT ") + kInstanceColumns +
                                    " FROM instances WHERE workflow = ?1 AND key = ?2";
  struct {
    Statement* stmt;
    const char* sql;
  } const statements[] = {
      {&remember_, "INSERT OR IGNORE INTO inbox (id, pos) VALUES (?1, ?2)"},
      {&append_event_,
       "INSERT INTO events (pos, id, source, type, key, seq, ts, outcome, reason, body, "
       "workflow, version, effect, hash, prev_pos) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"},
      {&put_instance_,
       "INSERT OR REPLACE INTO instances (workflow, key, version, state, final, variables, "
       "indexed_at, timers, created_pos, updated_pos, next_due, overdue_since) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"},
      {&put_rule_state_,
       "INSERT OR REPLACE INTO rule_state (rule, key, state, updated_pos) VALUES (?1, ?2, ?3, ?4)"},
      {&put_sequence_,
       "INSERT OR REPLACE INTO sequences (source, key, last_seq, gaps, late, next_seq, last_pos, "
       "last_accepted_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"},
      {&hold_, "INSERT INTO held (pos) VALUES (?1)"},
      {&release_, "UPDATE held SET released_pos = ?2, outcome = ?3 WHERE pos = ?1"},
      {&add_command_,
       "INSERT INTO outbox (id, name, connector, payload, caused_by, emitted_by, pos, status, key) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"},
      {&add_audit_,
       "INSERT INTO audit (seq, pos, at, event_id, source, kind, workflow, key, detail, version, "
       "hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"},
      {&put_definition_,
       "INSERT OR IGNORE INTO definitions (hash, kind, name, file, text, imports, first_pos) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      {&set_cursor_,
       "INSERT OR REPLACE INTO cursors (name, position, bytes, sha256) VALUES (?1, ?2, ?3, ?4)"},
      {&drop_cursor_lines_, "DELETE FROM cursor_lines WHERE name = ?1 AND first_line >= ?2"},
      {&add_cursor_lines_,
       "INSERT INTO cursor_lines (name, first_line, checks) VALUES (?1, ?2, ?3)"},
      {&mark_delivered_,
       "UPDATE outbox SET status = 'delivered', attempts = attempts + 1, next_attempt_at = NULL "
       "WHERE id = ?1 AND " TAKT_OUTBOX_UNDELIVERED},
      {&mark_failed_,
       "UPDATE outbox SET attempts = attempts + 1, last_error = ?2, next_attempt_at = ?4, "
       "status = CASE WHEN ?3 THEN 'dead' WHEN ?4 IS NULL THEN 'pending' ELSE 'retry' END "
       "WHERE id = ?1 AND " TAKT_OUTBOX_UNDELIVERED},
      {&mark_in_flight_,
       "UPDATE outbox SET status = 'in_flight', first_attempt_at = coalesce(first_attempt_at, ?2) "
       "WHERE id = ?1 AND " TAKT_OUTBOX_UNDELIVERED},
      {&revive_dead_,
       "UPDATE outbox SET status = 'pending', next_attempt_at = NULL, first_attempt_at = NULL "
       "WHERE id = ?1 AND status = 'dead'"},
      {&drop_dead_, "UPDATE outbox SET status = 'dropped' WHERE id = ?1 AND status = 'dead'"},
      {&load_instance_, load_instance.c_str()},
      {&put_index_value_,
       "INSERT OR REPLACE INTO instance_index (workflow, key, var, value, at) "
       "VALUES (?1, ?2, ?3, ?4, ?5)"},
      {&drop_index_values_, "DELETE FROM instance_index WHERE workflow = ?1 AND key = ?2"},
      {&for_each_indexed_,
       "SELECT key, at FROM instance_index WHERE workflow = ?1 AND var = ?2 AND value = ?3 "
       "ORDER BY at DESC"},
      // Through the partial index instances_due: next_due <= ?1 implies it is not NULL.
      {&for_each_due_,
       "SELECT workflow, key FROM instances WHERE next_due <= ?1 ORDER BY next_due, workflow, key"},
      {&next_due_after_, "SELECT min(next_due) FROM instances WHERE next_due > ?1"},
      {&load_sequence_,
       "SELECT last_seq, gaps, late, next_seq, last_pos, last_accepted_seq FROM sequences "
       "WHERE source = ?1 AND key = ?2"},
  };
  for (const auto& s : statements) {
    Result<Statement> prepared = db_.Prepare(s.sql);
    if (!prepared.ok()) return prepared.status();
    *s.stmt = std::move(prepared).value();
  }
  return Status();
}

Status SqliteStore::StillInBatch() const {
  if (!in_transaction_ || !db_.Autocommit()) return Status();
  // SQLite rolled the batch back by itself after an earlier failure (a full disk, an I/O
  // error): a write now would be committed on its own, a part of a batch that failed.
  return Status::IoError("the batch's transaction was rolled back after an earlier failure in "
                         "it; nothing more of it is written");
}

Status SqliteStore::Begin() {
  if (checkpointer_ != nullptr) checkpointer_->Writing(true);
  TAKT_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
  in_transaction_ = true;
  return Status();
}

Status SqliteStore::Commit() {
  CrashPoint("in_transaction");
  Status committed = db_.Exec("COMMIT");
  if (!committed.ok()) return committed;  // the caller rolls back
  in_transaction_ = false;
  committed_audit_seq_ = audit_seq_;
  committed_head_ = audit_head_;
  if (checkpointer_ != nullptr) {
    checkpointer_->Writing(false);
    checkpointer_->FinishIfDue();
  }
  CrashPoint("after_commit");
  return Status();
}

void SqliteStore::Rollback() {
  (void)db_.Exec("ROLLBACK");  // fails only when SQLite already rolled back, e.g. on SQLITE_FULL
  in_transaction_ = false;
  if (checkpointer_ != nullptr) checkpointer_->Writing(false);
  audit_seq_ = committed_audit_seq_;
  audit_head_ = committed_head_;
}

Result<bool> SqliteStore::RememberId(std::string_view id, int64_t pos) {
  TAKT_RETURN_IF_ERROR(StillInBatch());
  TAKT_RETURN_IF_ERROR(remember_.Bind(1, id).Bind(2, pos).Run());
  return db_.Changes() == 1;
}

namespace {

// The turn on the connection, when the store was given turns (TakeTurnsInside()).
class TurnHeld {
 public:
  explicit TurnHeld(ConnectionTurns* turns) : turns_(turns) {
    if (turns_ != nullptr) turns_->Enter();
  }
  ~TurnHeld() {
    if (turns_ != nullptr) turns_->Leave();
  }
  TurnHeld(const TurnHeld&) = delete;
  TurnHeld& operator=(const TurnHeld&) = delete;

 private:
  ConnectionTurns* turns_;
};

void BindTextOrNull(Statement& s, int index, std::string_view text) {
  if (text.empty()) {
    s.BindNull(index);
  } else {
    s.Bind(index, text);
  }
}

}  // namespace

Status SqliteStore::AppendEvent(const EventRow& row) {
  std::string hash = EventHash(audit_head_, row);
  TurnHeld turn(turns_);
  TAKT_RETURN_IF_ERROR(StillInBatch());
  Statement& s = append_event_;
  s.Bind(1, row.pos);
  BindTextOrNull(s, 2, row.id);
  if (row.envelope) {
    s.Bind(3, row.source).Bind(4, row.type).Bind(5, row.key).Bind(6, row.seq).Bind(7, row.ts);
  } else {
    s.BindNull(3).BindNull(4).BindNull(5).BindNull(6).BindNull(7);
  }
  s.Bind(8, std::string_view(OutcomeName(row.outcome)));
  BindTextOrNull(s, 9, row.reason);
  s.Bind(10, row.body);
  BindTextOrNull(s, 11, row.workflow);
  BindTextOrNull(s, 12, row.version);
  BindTextOrNull(s, 13, row.effect);
  s.Bind(14, hash);
  if (row.prev_pos > 0) {
    s.Bind(15, row.prev_pos);
  } else {
    s.BindNull(15);
  }
  TAKT_RETURN_IF_ERROR(s.Run());
  audit_head_ = std::move(hash);
  return Status();
}

Status SqliteStore::PutInstance(const InstanceRow& row) {
  TAKT_RETURN_IF_ERROR(StillInBatch());
  put_instance_.Bind(1, row.workflow)
      .Bind(2, row.key)
      .Bind(3, row.version)
      .Bind(4, row.state)
      .Bind(5, int64_t{row.final ? 1 : 0})
      .Bind(6, row.variables)
      .Bind(7, row.indexed_at)
      .Bind(8, row.timers)
      .Bind(9, row.created_pos)
      .Bind(10, row.updated_pos);
  if (row.next_due) {
    put_instance_.Bind(11, *row.next_due);
  } else {
    put_instance_.BindNull(11);
  }
  if (row.overdue_since) {
    put_instance_.Bind(12, *row.overdue_since);
  } else {
    put_instance_.BindNull(12);
  }
  return put_instance_.Run();
}

Status SqliteStore::PutRuleState(std::string_view rule, std::string_view key,
                                 std::string_view state, int64_t pos) {
  TAKT_RETURN_IF_ERROR(StillInBatch());
  return put_rule_state_.Bind(1, rule).Bind(2, key).Bind(3, state).Bind(4, pos).Run();
}

Status SqliteStore::PutSequence(const SequenceRow& row) {
  TAKT_RETURN_IF_ERROR(StillInBatch());
  return put_sequence_.Bind(1, row.source)
      .Bind(2, row.key)
      .Bind(3, row.last_seq)
      .Bind(4, row.gaps)
      .Bind(5, row.late)
      .Bind(6, row.next_seq)
      .Bind(7, row.last_pos)
      .Bind(8, row.last_accepted)
      .Run();
}

Status SqliteStore::Hold(int64_t pos) {
  TAKT_RETURN_IF_ERROR(StillInBatch());
  return hold_.Bind(1, pos).Run();
}

Status SqliteStore::Release(int64_t pos, Outcome outcome, int64_t released_pos) {
  TAKT_RETURN_IF_ERROR(StillInBatch());
  return release_.Bind(1, pos)
      .Bind(2, released_pos)
      .Bind(3, std::string_view(OutcomeName(outcome)))
      .Run();
}

Status SqliteStore::ForEachHeld(const std::function<void(const HeldRow&)>& visit) {
  return db_.ForEachRow(
      "SELECT h.pos, e.source, e.key, e.id, e.body, e.seq, e.ts FROM held h "
      "JOIN events e ON e.pos = h.pos WHERE h.released_pos IS NULL ORDER BY h.pos",
      [&](const Statement& r) {
        visit(HeldRow{r.Int(0), r.Text(1), r.Text(2), r.Text(3), r.Text(4), r.Int(5), r.Int(6)});
        return Status();
      });
}

Status SqliteStore::AddCommand(const CommandRow& row) {
  TAKT_RETURN_IF_ERROR(StillInBatch());
  Status added = add_command_.Bind(1, row.id)
                     .Bind(2, row.name)
                     .Bind(3, Connector(row.name))
                     .Bind(4, row.payload)
                     .Bind(5, row.caused_by)
                     .Bind(6, row.emitted_by)
                     .Bind(7, row.pos)
                     .Bind(8, row.status)
                     .Bind(9, row.key.data() != nullptr ? row.key : std::string_view(""))
                     .Run();
  if (added.code() == Code::kAlreadyExists) {
    return Status::AlreadyExists("command id " + std::string(row.id) + " is in the outbox already");
  }
  return added;
}

Status SqliteStore::AddAudit(const AuditRow& row) {
  const int64_t seq = audit_seq_ + 1;
  std::string hash = AuditHash(audit_head_, seq, row);
  TurnHeld turn(turns_);
  TAKT_RETURN_IF_ERROR(StillInBatch());
  Statement& s = add_audit_;
  s.Bind(1, seq).Bind(2, row.pos).Bind(3, row.at);
  BindTextOrNull(s, 4, row.event_id);
  BindTextOrNull(s, 5, row.source);
  s.Bind(6, row.kind);
  BindTextOrNull(s, 7, row.workflow);
  BindTextOrNull(s, 8, row.key);
  s.Bind(9, row.detail);
  BindTextOrNull(s, 10, row.version);
  s.Bind(11, hash);
  TAKT_RETURN_IF_ERROR(s.Run());
  audit_seq_ = seq;
  audit_head_ = std::move(hash);
  return Status();
}

Status SqliteStore::PutDefinition(std::string_view hash, std::string_view kind,
                                  std::string_view name, std::string_view file,
                                  std::string_view text, std::string_view imports, int64_t pos) {
  TAKT_RETURN_IF_ERROR(StillInBatch());
  return put_definition_.Bind(1, hash)
      .Bind(2, kind)
      .Bind(3, name)
      .Bind(4, file)
      .Bind(5, text)
      .Bind(6, imports)
      .Bind(7, pos)
      .Run();
}

Result<StoredDefinition> SqliteStore::Definition(std::string_view hash) {
  Result<Statement> s =
      db_.Prepare("SELECT kind, name, file, text, imports FROM definitions WHERE hash = ?1");
  if (!s.ok()) return s.status();
  s.value().Bind(1, hash);
  Result<bool> row = s.value().Step();
  if (!row.ok()) return row.status();
  if (!row.value()) return Status::NotFound("no definition version " + std::string(hash));
  const Statement& r = s.value();
  return StoredDefinition{std::string(r.Text(0)), std::string(r.Text(1)), std::string(r.Text(2)),
                          std::string(r.Text(3)), std::string(r.Text(4))};
}

Status SqliteStore::SetCursor(const InputCursor& cursor) {
  TAKT_RETURN_IF_ERROR(StillInBatch());
  Result<int64_t> first = FirstCheckedLine(cursor);
  if (!first.ok()) return first.status();
  const int64_t first_line = first.value();
  const auto lines =
      static_cast<int64_t>(cursor.line_checks.size() / InputCursor::kLineCheckBytes);
  set_cursor_.Bind(1, cursor.name).Bind(2, static_cast<int64_t>(cursor.position));
  set_cursor_.Bind(3, static_cast<int64_t>(cursor.bytes));
  if (cursor.sha256.empty()) {
    set_cursor_.BindNull(4);
  } else {
    set_cursor_.Bind(4, cursor.sha256);
  }
  TAKT_RETURN_IF_ERROR(set_cursor_.Run());
  TAKT_RETURN_IF_ERROR(drop_cursor_lines_.Bind(1, cursor.name).Bind(2, first_line).Run());
  if (lines == 0) return Status();
  return add_cursor_lines_.Bind(1, cursor.name)
      .Bind(2, first_line)
      .BindBlob(3, cursor.line_checks)
      .Run();
}

Result<InputCursor> SqliteStore::Cursor(std::string_view name) {
  InputCursor cursor;
  cursor.name = std::string(name);
  Result<Statement> s =
      db_.Prepare("SELECT position, coalesce(bytes, 0), sha256 FROM cursors WHERE name = ?1");
  if (!s.ok()) return s.status();
  s.value().Bind(1, name);
  Result<bool> row = s.value().Step();
  if (!row.ok()) return row.status();
  if (!row.value()) return cursor;
  cursor.position = static_cast<uint64_t>(s.value().Int(0));
  cursor.bytes = static_cast<uint64_t>(s.value().Int(1));
  cursor.sha256 = std::string(s.value().Text(2));
  Result<Statement> lines =
      db_.Prepare("SELECT checks FROM cursor_lines WHERE name = ?1 ORDER BY first_line");
  if (!lines.ok()) return lines.status();
  lines.value().Bind(1, name);
  for (;;) {
    Result<bool> more = lines.value().Step();
    if (!more.ok()) return more.status();
    if (!more.value()) break;
    cursor.line_checks += lines.value().Blob(0);
  }
  return cursor;
}

Status SqliteStore::ForEachOpenInstance(const std::function<Status(const InstanceRow&)>& visit,
                                        uint64_t most_recent) {
  // Through the partial index instances_open: the open instances only, in its order. The most
  // recent are chosen by a sort on updated_pos, which no index keeps (a restart's one sort),
  // and given in the same order as all would be.
  std::string open = std::string("SELECT ") + kInstanceColumns + " FROM instances WHERE final = 0";
  if (most_recent > 0) {
    open = std::string("SELECT * FROM (") + open + " ORDER BY updated_pos DESC LIMIT " +
           std::to_string(most_recent) + ")";
  }
  return db_.ForEachRow(open + " ORDER BY workflow, created_pos",
                        [&](const Statement& r) { return visit(ReadInstance(r)); });
}

Status SqliteStore::ForEachInstance(const std::function<Status(const InstanceRow&)>& visit) {
  return db_.ForEachRow(
      std::string("SELECT ") + kInstanceColumns + " FROM instances ORDER BY workflow, key",
      [&](const Statement& r) { return visit(ReadInstance(r)); });
}

Result<bool> SqliteStore::LoadInstance(std::string_view workflow, std::string_view key,
                                       const std::function<Status(const InstanceRow&)>& visit) {
  Statement& s = load_instance_;
  s.Bind(1, workflow).Bind(2, key);
  Result<bool> row = s.Step();
  Status visited = row.ok() && row.value() ? visit(ReadInstance(s)) : Status();
  s.Reset();
  if (!row.ok()) return row.status();
  if (!visited.ok()) return visited;
  return row.value();
}

Result<std::vector<SqliteStore::InstanceTotals>> SqliteStore::InstanceTotalsByWorkflow() {
  std::vector<InstanceTotals> totals;
  Status status = db_.ForEachRow(
      "SELECT workflow, sum(final), sum(final = 0), count(next_due), "
      "max((SELECT coalesce(max(value), 0) FROM json_each(indexed_at))) "
      "FROM instances GROUP BY workflow ORDER BY workflow",
      [&](const Statement& r) {
        totals.push_back(InstanceTotals{std::string(r.Text(0)), static_cast<uint64_t>(r.Int(1)),
                                        static_cast<uint64_t>(r.Int(2)),
                                        static_cast<uint64_t>(r.Int(3)),
                                        static_cast<uint64_t>(r.Int(4))});
        return Status();
      });
  if (!status.ok()) return status;
  return totals;
}

Status SqliteStore::PutIndexValue(std::string_view workflow, std::string_view key,
                                  std::string_view var, std::string_view value, uint64_t at) {
  TAKT_RETURN_IF_ERROR(StillInBatch());
  return put_index_value_.Bind(1, workflow)
      .Bind(2, key)
      .Bind(3, var)
      .Bind(4, value)
      .Bind(5, static_cast<int64_t>(at))
      .Run();
}

Status SqliteStore::DropIndexValues(std::string_view workflow, std::string_view key) {
  TAKT_RETURN_IF_ERROR(StillInBatch());
  return drop_index_values_.Bind(1, workflow).Bind(2, key).Run();
}

Status SqliteStore::ForEachIndexed(std::string_view workflow, std::string_view var,
                                   std::string_view value,
                                   const std::function<bool(std::string_view, uint64_t)>& visit) {
  Statement& s = for_each_indexed_;
  s.Bind(1, workflow).Bind(2, var).Bind(3, value);
  Result<bool> row = s.Step();
  while (row.ok() && row.value() && visit(s.Text(0), static_cast<uint64_t>(s.Int(1)))) {
    row = s.Step();
  }
  s.Reset();
  return row.ok() ? Status() : row.status();
}

Status SqliteStore::ForEachDue(
    int64_t now, const std::function<void(std::string_view, std::string_view)>& visit) {
  Statement& s = for_each_due_;
  s.Bind(1, now);
  Result<bool> row = s.Step();
  for (; row.ok() && row.value(); row = s.Step()) visit(s.Text(0), s.Text(1));
  s.Reset();
  return row.ok() ? Status() : row.status();
}

Result<std::optional<int64_t>> SqliteStore::NextDueAfter(int64_t now) {
  Statement& s = next_due_after_;
  s.Bind(1, now);
  Result<bool> row = s.Step();
  std::optional<int64_t> due;
  if (row.ok() && row.value() && !s.IsNull(0)) due = s.Int(0);
  s.Reset();
  if (!row.ok()) return row.status();
  return due;
}

Status SqliteStore::FillIndexValues(std::string_view workflow, std::string_view version,
                                    std::string_view var, size_t slot) {
  TAKT_RETURN_IF_ERROR(StillInBatch());
  // `variables -> path` gives the value as the JSON text it was written as, which is how the
  // engine writes index values (dsl::Value::AppendJson), so both kinds of row compare equal.
  Result<Statement> s = db_.Prepare(
      "INSERT INTO instance_index (workflow, key, var, value, at) "
      "SELECT workflow, key, ?3, variables -> ?4, indexed_at ->> ?5 FROM instances AS i "
      "WHERE workflow = ?1 AND version = ?2 AND final = 0 AND NOT EXISTS (SELECT 1 FROM "
      "instance_index AS x WHERE x.workflow = i.workflow AND x.key = i.key AND x.var = ?3)");
  if (!s.ok()) return s.status();
  std::string path = "$.";
  dsl::AppendJsonString(path, var);
  const std::string at = "$[" + std::to_string(slot) + "]";
  return s.value().Bind(1, workflow).Bind(2, version).Bind(3, var).Bind(4, path).Bind(5, at).Run();
}

Status SqliteStore::ClearIndexValues() {
  TAKT_RETURN_IF_ERROR(StillInBatch());
  return db_.Exec("DELETE FROM instance_index");
}

Result<std::vector<std::pair<std::string, std::string>>> SqliteStore::OpenVersions() {
  std::vector<std::pair<std::string, std::string>> versions;
  Status status = db_.ForEachRow(
      "SELECT DISTINCT workflow, version FROM instances WHERE final = 0 ORDER BY 1, 2",
      [&](const Statement& r) {
        versions.emplace_back(r.Text(0), r.Text(1));
        return Status();
      });
  if (!status.ok()) return status;
  return versions;
}

Status SqliteStore::ForEachRuleState(
    const std::function<Status(std::string_view, std::string_view, std::string_view)>& visit) {
  return db_.ForEachRow("SELECT rule, key, state FROM rule_state ORDER BY rule, key",
                        [&](const Statement& r) { return visit(r.Text(0), r.Text(1), r.Text(2)); });
}

Result<bool> SqliteStore::LoadSequence(std::string_view source, std::string_view key,
                                       SequenceRow& row) {
  Statement& s = load_sequence_;
  s.Bind(1, source).Bind(2, key);
  Result<bool> found = s.Step();
  if (found.ok() && found.value()) {
    row = SequenceRow{source, key, s.Int(0), s.Int(1), s.Int(2), s.Int(3), s.Int(4), s.Int(5)};
  }
  s.Reset();
  return found;
}

Result<int64_t> SqliteStore::AppliedClock() {
  return db_.QueryInt(
      "SELECT coalesce(max(e.ts), -9223372036854775807) FROM events e "
      "LEFT JOIN held h ON h.pos = e.pos "
      "WHERE e.outcome NOT IN ('duplicate', 'ownership_violation', 'malformed') "
      "AND (e.outcome <> 'held' OR h.released_pos IS NOT NULL)");
}

Result<SqliteStore::SequenceTotals> SqliteStore::SequenceTotalsOfAll() {
  SequenceTotals totals;
  Status status = db_.ForEachRow(
      "SELECT count(*), coalesce(sum(gaps), 0), coalesce(sum(late), 0) FROM sequences",
      [&](const Statement& r) {
        totals = SequenceTotals{static_cast<uint64_t>(r.Int(0)), static_cast<uint64_t>(r.Int(1)),
                                static_cast<uint64_t>(r.Int(2))};
        return Status();
      });
  if (!status.ok()) return status;
  return totals;
}

namespace {

// The columns ReadCommand() reads, in its order.
constexpr const char* kCommandColumns =
    "SELECT id, name, payload, caused_by, emitted_by, status, pos, attempts, last_error, key, "
    "next_attempt_at, first_attempt_at FROM outbox ";

// SQLite's LIMIT is a signed 64-bit integer: SIZE_MAX, "all of them", is too large for it.
std::string Limit(size_t max) {
  return std::to_string(std::min<size_t>(max, static_cast<size_t>(INT64_MAX)));
}

CommandRow ReadCommand(const Statement& r) {
  CommandRow c;
  c.id = r.Text(0);
  c.name = r.Text(1);
  c.payload = r.Text(2);
  c.caused_by = r.Text(3);
  c.emitted_by = r.Text(4);
  c.status = r.Text(5);
  c.pos = r.Int(6);
  c.attempts = r.Int(7);
  c.last_error = r.Text(8);
  c.key = r.Text(9);
  if (!r.IsNull(10)) c.next_attempt_at = r.Int(10);
  if (!r.IsNull(11)) c.first_attempt_at = r.Int(11);
  return c;
}

// The outbox's rows selected by `tail` (a WHERE, an ORDER BY, a LIMIT), in that order.
Status VisitCommands(Database& db, const std::string& tail,
                     const std::function<void(const CommandRow&)>& visit) {
  return db.ForEachRow(kCommandColumns + tail, [&](const Statement& r) {
    visit(ReadCommand(r));
    return Status();
  });
}

}  // namespace

Status SqliteStore::ForEachCommand(const std::function<void(const CommandRow&)>& visit) {
  return VisitCommands(db_, "ORDER BY seq", visit);
}

Status SqliteStore::ForEachPendingCommand(size_t max,
                                          const std::function<void(const CommandRow&)>& visit) {
  return VisitCommands(
      db_, "WHERE " TAKT_OUTBOX_UNDELIVERED " ORDER BY seq LIMIT " + Limit(max),
      visit);
}

Status SqliteStore::ForEachDeadCommand(size_t max,
                                       const std::function<void(const CommandRow&)>& visit) {
  return VisitCommands(db_, "WHERE status = 'dead' ORDER BY seq LIMIT " + Limit(max), visit);
}

Status SqliteStore::MarkInFlight(std::string_view id, int64_t now_ms) {
  mark_in_flight_.Bind(1, id).Bind(2, now_ms);
  return ChangeDelivery(mark_in_flight_, id, /*again_is_ok=*/false);
}

Status SqliteStore::ReviveDead(std::string_view id) {
  revive_dead_.Bind(1, id);
  return ChangeDelivery(revive_dead_, id, /*again_is_ok=*/false, "dead");
}

Status SqliteStore::DropDead(std::string_view id) {
  drop_dead_.Bind(1, id);
  return ChangeDelivery(drop_dead_, id, /*again_is_ok=*/false, "dead");
}

Status SqliteStore::ChangeDelivery(Statement& update, std::string_view id, bool again_is_ok,
                                   const char* expected) {
  TAKT_RETURN_IF_ERROR(update.Run());
  if (db_.Changes() == 1) return Status();
  // Nothing changed: say why (a rare path, so its statement is prepared here).
  Result<Statement> find = db_.Prepare("SELECT status FROM outbox WHERE id = ?1");
  if (!find.ok()) return find.status();
  find.value().Bind(1, id);
  Result<bool> row = find.value().Step();
  if (!row.ok()) return row.status();
  if (!row.value()) return Status::NotFound("no command " + std::string(id) + " in the outbox");
  const std::string_view status = find.value().Text(0);
  if (again_is_ok && status == "delivered") return Status();
  return Status::InvalidArgument("command " + std::string(id) + " is " + std::string(status) +
                                 ", not " + expected);
}

Status SqliteStore::MarkDelivered(std::string_view id) {
  mark_delivered_.Bind(1, id);
  return ChangeDelivery(mark_delivered_, id, /*again_is_ok=*/true);
}

Status SqliteStore::MarkFailed(std::string_view id, std::string_view error, bool give_up,
                               std::optional<int64_t> retry_at_ms) {
  mark_failed_.Bind(1, id).Bind(2, error).Bind(3, int64_t{give_up});
  if (retry_at_ms && !give_up) {
    mark_failed_.Bind(4, *retry_at_ms);
  } else {
    mark_failed_.BindNull(4);
  }
  return ChangeDelivery(mark_failed_, id, /*again_is_ok=*/false);
}

uint64_t SqliteStore::DurabilityTicket() {
  return sync_commits_ ? TicketSince(/*others_too=*/false) : 0;
}

uint64_t SqliteStore::OutboxTicket() {
  // Also for commits of other processes (a `takt dispatch` beside the engine that writes),
  // which only the data version shows. With kFull this engine's own commits were synced before
  // they were acknowledged: their ticket is done already.
  return TicketSince(/*others_too=*/true);
}

uint64_t SqliteStore::TicketSince(bool others_too) {
  // Nothing written since the last ticket: it still stands, and no sync is needed for nothing
  // (a poll of PendingCommands() would otherwise flush the disk's cache each time).
  const int64_t changes = db_.TotalChanges();
  const uint32_t version = db_.DataVersion();
  // The first ticket is taken whatever was written: the WAL may hold commits of an earlier
  // process that it wrote and never synced, which this engine now builds on.
  if (changes != changes_at_ticket_ || (others_too && version != version_at_ticket_) ||
      ticket_ == 0) {
    changes_at_ticket_ = changes;
    version_at_ticket_ = version;
    ticket_ = wal_sync_->Ticket();
  }
  return ticket_;
}

Status SqliteStore::Checkpoint() {
  checkpointer_.reset();  // SQLite's automatic checkpoint is back, at the same limit
  TAKT_RETURN_IF_ERROR(db_.Exec("PRAGMA wal_checkpoint(TRUNCATE)"));
  // The database file now holds every commit, synced, whatever WalSync has done.
  wal_sync_->AllDurable();
  return Status();
}

CheckpointStats SqliteStore::checkpoint_stats() const {
  return checkpointer_ != nullptr ? checkpointer_->stats() : CheckpointStats();
}

Result<OutcomeCounts> SqliteStore::Counts() {
  OutcomeCounts counts;
  TAKT_RETURN_IF_ERROR(db_.ForEachRow(
      // A released event is logged as held and counted under what became of it.
      "SELECT coalesce(h.outcome, e.outcome), count(*) FROM events e "
      "LEFT JOIN held h ON h.pos = e.pos GROUP BY 1",
      [&](const Statement& r) {
        Outcome outcome;
        if (OutcomeByName(r.Text(0), outcome)) {
          counts.by_outcome[static_cast<int>(outcome)] = static_cast<uint64_t>(r.Int(1));
        }
        return Status();
      }));
  Result<int64_t> commands = db_.QueryInt("SELECT count(*) FROM outbox");
  if (!commands.ok()) return commands.status();
  counts.commands = static_cast<uint64_t>(commands.value());
  Result<int64_t> last = db_.QueryInt("SELECT coalesce(max(pos), 0) FROM events");
  if (!last.ok()) return last.status();
  counts.last_pos = static_cast<uint64_t>(last.value());
  return counts;
}

void SqliteStore::CrashPoint(const char* name) {
  if (crash_point_.empty() || crash_point_ != name) return;
  if (--crash_countdown_ > 0) return;
  std::raise(SIGKILL);
}

}  // namespace takt::store
