// The durable store: one SQLite file holding the event log, the inbox (dedup by id), sequence
// positions, workflow instances, rule state, the outbox, the audit chain, the definitions that
// ran and input cursors. The engine writes each batch of events in one transaction (Begin ...
// Commit) and reads everything back when it opens. Schema and migrations: schema.cc.
#ifndef TAKT_ENGINE_STORE_STORE_H_
#define TAKT_ENGINE_STORE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/store/checkpointer.h"
#include "engine/store/sqlite.h"
#include "engine/store/wal_sync.h"
#include "takt/engine.h"

namespace takt::store {

struct StoreOptions {
  std::string path;
  Durability durability = Durability::kFull;
  uint64_t max_bytes = 0;  // 0: no limit
  CheckpointPolicy checkpoint;  // when the WAL is copied back (checkpointer.h)
};

// One row of the event log: every submitted event, whatever became of it.
struct EventRow {
  int64_t pos = 0;                 // arrival order, from 1
  std::string_view id;             // empty: a malformed event without one
  std::string_view source, type, key;
  int64_t seq = 0, ts = 0;
  bool envelope = false;           // source..ts hold values (the event was well-formed)
  Outcome outcome = Outcome::kApplied;
  std::string_view reason;
  std::string_view body;           // the event as received
  // The transition it fired on its own key's instance, if any.
  std::string_view workflow, version, effect;
  // The previous event of its (source, key) in the log (0: none): the chain that takt trace
  // follows from SequenceRow::last_pos. Outside the audit chain's hash.
  int64_t prev_pos = 0;
};

struct InstanceRow {
  std::string_view workflow, key, version, state;
  bool final = false;
  std::string_view variables;   // JSON object
  std::string_view indexed_at;  // JSON array: per index variable, when the instance took its value
  std::string_view timers;      // JSON array of its armed timers: [after_ms, due, seq]
  int64_t created_pos = 0, updated_pos = 0;
  std::optional<int64_t> next_due;  // the earliest timer's due (written only)
};

struct CommandRow {
  std::string_view id, name, payload, caused_by, emitted_by, status;
  int64_t pos = 0;  // the causing event's position
  int64_t attempts = 0;         // deliveries tried (read back only)
  std::string_view last_error;  // of the last failed one (read back only)
};

struct AuditRow {
  int64_t pos = 0;  // the event's position
  int64_t at = 0;   // the event's ts
  std::string_view event_id, source, kind, workflow, key, detail, version;
};

struct SequenceRow {
  std::string_view source, key;
  int64_t last_seq = 0, gaps = 0, late = 0;
  int64_t next_seq = 1;  // reorder policy: the next seq to apply in order
  int64_t last_pos = 0;  // the last event of (source, key) in the log, whatever its outcome
  int64_t last_accepted = 0;  // the highest seq applied
};

// An event a reorder policy holds, as the store gives it back at open.
struct HeldRow {
  int64_t pos = 0;
  std::string_view source, key, id, body;
  int64_t seq = 0, ts = 0;
};

// A definition version as stored: enough to compile it again.
struct StoredDefinition {
  std::string kind, name, file, text;
  std::string imports;  // JSON [[file, text], ...]
};

// How many values Outcome has; kHeld is the last.
constexpr int kOutcomeCount = static_cast<int>(Outcome::kHeld) + 1;
// The Outcome that OutcomeName() names `name`, as the store writes it; false for none.
bool OutcomeByName(std::string_view name, Outcome& out);

struct OutcomeCounts {
  uint64_t by_outcome[kOutcomeCount] = {};  // by Outcome; a released event under its final one
  uint64_t commands = 0;
  uint64_t last_pos = 0;
};

class Store {
 public:
  // Opens or creates the database, checks that it is takt's, and migrates it to the current
  // schema. kCorruption for a file that is not a database or is damaged, kInvalidArgument for
  // another application's database or one from a newer takt.
  static Result<std::unique_ptr<Store>> Open(const StoreOptions& options);
  ~Store();

  Status Begin();
  // With Durability::kFull the commit is written, not yet synced: see DurabilityTicket().
  Status Commit();
  void Rollback();
  // With Durability::kFull: a ticket standing for everything written so far (the last commit,
  // a delivery marked), for wal_sync()->WaitDurable(), which the caller waits on outside its
  // lock so that the next commit can be prepared meanwhile. 0 with kNormal: nothing to wait for.
  uint64_t DurabilityTicket();
  // Shared: a waiter may outlive the store (Close() while a submission waits); null with kNormal.
  std::shared_ptr<WalSync> wal_sync() const { return wal_sync_; }

  // Remembers `id` for dedup; false when it was remembered before (the event is a duplicate).
  Result<bool> RememberId(std::string_view id, int64_t pos);
  // Appends the event to the log and to the audit chain (see audit.h); its audit rows follow.
  Status AppendEvent(const EventRow& row);
  Status PutInstance(const InstanceRow& row);
  Status PutRuleState(std::string_view rule, std::string_view key, std::string_view state,
                      int64_t pos);
  Status PutSequence(const SequenceRow& row);
  // The event at `pos` is held by a reorder policy; later it is released with `outcome` while
  // the event at `released_pos` is processed.
  Status Hold(int64_t pos);
  Status Release(int64_t pos, Outcome outcome, int64_t released_pos);
  Status ForEachHeld(const std::function<void(const HeldRow&)>& visit);
  Status AddCommand(const CommandRow& row);
  // Appends to the hash chain (see audit.h), after the row of its event.
  Status AddAudit(const AuditRow& row);
  // Records a definition (workflow or rule) by content hash, once, with the declaration files
  // a workflow imports (`imports`: JSON [[file, text], ...]; "[]" for a rule).
  Status PutDefinition(std::string_view hash, std::string_view kind, std::string_view name,
                       std::string_view file, std::string_view text, std::string_view imports,
                       int64_t pos);
  // kNotFound when no version `hash` was stored.
  Result<StoredDefinition> Definition(std::string_view hash);
  // Records the cursor and the check values of its lines since its previous commit; one that
  // starts again from line 1 replaces the earlier lines' checks (InputCursor, takt/engine.h).
  Status SetCursor(const InputCursor& cursor);
  // The cursor with every line's check value; position 0 when there is none.
  Result<InputCursor> Cursor(std::string_view name);

  // Instances not in a final state, by workflow and creation; with `most_recent` > 0 only the
  // `most_recent` last updated, latest first (what a capped engine holds in memory).
  Status ForEachOpenInstance(const std::function<Status(const InstanceRow&)>& visit,
                             uint64_t most_recent = 0);
  // Every instance, by workflow and key.
  Status ForEachInstance(const std::function<Status(const InstanceRow&)>& visit);
  // The instance `key` of `workflow`: visits it and returns true, or false when there is none.
  Result<bool> LoadInstance(std::string_view workflow, std::string_view key,
                            const std::function<Status(const InstanceRow&)>& visit);
  // Per workflow: how many instances are final and open, and the latest index time of any.
  struct InstanceTotals {
    std::string workflow;
    uint64_t final_count = 0;
    uint64_t open_count = 0;
    uint64_t timed_count = 0;  // with a timer armed
    uint64_t last_indexed_at = 0;
  };
  Result<std::vector<InstanceTotals>> InstanceTotalsByWorkflow();
  // Open instances by index value, for the engine's Current() over instances not in memory
  // (schema.cc, 4 -> 5). `value` is the value as JSON text; `at` its time on the index clock.
  // The engine keeps rows only while it runs with a cap (engine_store.cc).
  Status PutIndexValue(std::string_view workflow, std::string_view key, std::string_view var,
                       std::string_view value, uint64_t at);
  // Forgets every index value of the instance: it is final, or about to be put again.
  Status DropIndexValues(std::string_view workflow, std::string_view key);
  // The instances that hold `value` for `var`, latest first, until `visit` returns false.
  Status ForEachIndexed(std::string_view workflow, std::string_view var, std::string_view value,
                        const std::function<bool(std::string_view key, uint64_t at)>& visit);
  // The instances with a timer due at or before `now`, earliest first.
  Status ForEachDue(int64_t now,
                    const std::function<void(std::string_view workflow, std::string_view key)>&
                        visit);
  // The earliest timer due after `now`, of any instance; none when no timer is that late.
  Result<std::optional<int64_t>> NextDueAfter(int64_t now);
  // Gives every open instance of `workflow` at `version` that has no row for index variable
  // `var` (slot `slot` of its index times) one, from its stored variables.
  Status FillIndexValues(std::string_view workflow, std::string_view version,
                         std::string_view var, size_t slot);
  // Forgets every row of instance_index.
  Status ClearIndexValues();
  // The (workflow, version) pairs that open instances run on.
  Result<std::vector<std::pair<std::string, std::string>>> OpenVersions();
  Status ForEachRuleState(
      const std::function<Status(std::string_view rule, std::string_view key,
                                 std::string_view state)>& visit);
  // The sequence position of (source, key) into `row` (its views are `source` and `key`):
  // false when there is none.
  Result<bool> LoadSequence(std::string_view source, std::string_view key, SequenceRow& row);
  // How many sequence positions there are, and their gaps and late arrivals summed.
  struct SequenceTotals {
    uint64_t count = 0, gaps = 0, late = 0;
  };
  Result<SequenceTotals> SequenceTotalsOfAll();
  Status ForEachCommand(const std::function<void(const CommandRow&)>& visit);
  // Delivery, outside the engine's batches: the first `max` pending commands in emission
  // order; a command delivered (done, for good); a failed delivery (attempts + 1, the error
  // kept; `give_up` makes it dead, never offered again). kNotFound for an id the outbox does
  // not hold, kInvalidArgument for a command no longer pending (delivering a delivered command
  // again is fine).
  Status ForEachPendingCommand(size_t max, const std::function<void(const CommandRow&)>& visit);
  Status MarkDelivered(std::string_view id);
  Status MarkFailed(std::string_view id, std::string_view error, bool give_up);
  // Stops the background checkpoints and folds the WAL back into the database file, which is
  // then the whole database; for a clean close. Commits after it checkpoint the old way, inside
  // the commit that takes the WAL over its limit.
  Status Checkpoint();
  CheckpointStats checkpoint_stats() const;
  Result<OutcomeCounts> Counts();

  // Test-only crash hook: when TAKT_CRASH_AT is "NAME" or "NAME:N", the N-th (default first)
  // pass through point NAME kills the process with SIGKILL. Points: "in_transaction" (events
  // staged, nothing committed), "mid_outbox" (half of a batch's commands staged), "after_commit"
  // (committed, results not yet handed back).
  void CrashPoint(const char* name);

  Database& db() { return db_; }

 private:
  // Runs `update`, bound to the command `id` (only a pending one matches); explains why when no
  // row changed.
  Status ChangeDelivery(Statement& update, std::string_view id, bool again_is_ok);
  explicit Store(Database db);
  Status Prepare();

  Database db_;
  bool in_transaction_ = false;
  std::string audit_head_;       // hash of the last audit row, committed or staged
  std::string committed_head_;   // the same, as of the last commit
  int64_t audit_seq_ = 0, committed_audit_seq_ = 0;
  std::string crash_point_;
  int64_t crash_countdown_ = 0;
  std::string scratch_;
  std::unique_ptr<Checkpointer> checkpointer_;  // after db_: stopped before it closes
  std::shared_ptr<WalSync> wal_sync_;
  uint64_t ticket_ = 0;            // the last DurabilityTicket()
  int64_t changes_at_ticket_ = 0;  // db_.TotalChanges() then
  Statement remember_, append_event_, put_instance_, put_rule_state_, put_sequence_,
      add_command_, add_audit_, put_definition_, set_cursor_, drop_cursor_lines_,
      add_cursor_lines_, hold_, release_, mark_delivered_, mark_failed_, load_instance_, load_sequence_, put_index_value_, drop_index_values_,
      for_each_indexed_, for_each_due_, next_due_after_;
};

}  // namespace takt::store

#endif  // TAKT_ENGINE_STORE_STORE_H_
