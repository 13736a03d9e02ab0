// The durable store's interface and the rows it speaks: what the engine writes with each batch
// of events, and reads back when it opens. No SQL and no database handle cross it, so that a
// store for another database is another implementation of it.
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

#include "takt/engine.h"

namespace takt::store {

class WalSync;

// One row of the event log: every submitted event, whatever became of it.
struct EventRow {
  int64_t pos = 0;      // arrival order, from 1
  std::string_view id;  // empty: a malformed event without one
  std::string_view source, type, key;
  int64_t seq = 0, ts = 0;
  bool envelope = false;  // source..ts hold values (the event was well-formed)
  Outcome outcome = Outcome::kApplied;
  std::string_view reason;
  std::string_view body;  // the event as received
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
  std::optional<int64_t> overdue_since;  // Instance::overdue_since
};

struct CommandRow {
  std::string_view id, name, payload, caused_by, emitted_by;
  // pending, in_flight, retry (waiting for next_attempt_at), delivered, dead, dropped
  std::string_view status;
  // Commands of one key are delivered in order: a workflow command's instance key, a rule
  // command's event key.
  std::string_view key;
  int64_t pos = 0;              // the causing event's position
  int64_t attempts = 0;         // deliveries tried (read back only)
  std::string_view last_error;  // of the last failed one (read back only)
  // Wall clock, ms since the epoch (read back only): not before then (retry), and when the
  // first delivery began (none yet: nullopt).
  std::optional<int64_t> next_attempt_at, first_attempt_at;
};

struct AuditRow {
  int64_t pos = 0;  // the event's position
  int64_t at = 0;   // the event's ts
  std::string_view event_id, source, kind, workflow, key, detail, version;
};

struct SequenceRow {
  std::string_view source, key;
  int64_t last_seq = 0, gaps = 0, late = 0;
  int64_t next_seq = 1;       // reorder policy: the next seq to apply in order
  int64_t last_pos = 0;       // the last event of (source, key) in the log, whatever its outcome
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
// The line that the first check value of `cursor.line_checks` stands for (SetCursor()), from 1;
// kInvalidArgument when the checks are not whole or more than its lines.
Result<int64_t> FirstCheckedLine(const InputCursor& cursor);

struct OutcomeCounts {
  uint64_t by_outcome[kOutcomeCount] = {};  // by Outcome; a released event under its final one
  uint64_t commands = 0;
  uint64_t last_pos = 0;
};

// Taken around each use of a store's database connection by a caller that uses one store from
// two threads by turns (write_behind_store.h).
class ConnectionTurns {
 public:
  virtual void Enter() = 0;
  virtual void Leave() = 0;

 protected:
  ~ConnectionTurns() = default;
};

// What the engine keeps durably, in takt's own types: the event log and the inbox of ids, the
// sequence positions, instances and their index values and timers, rule state, the outbox and
// its delivery state, the audit chain, the definitions that ran, and input cursors. A batch of
// events is written between Begin() and Commit() and is durable as one unit, or not at all
// (Rollback()). Not thread-safe: the engine calls it under its lock, and delivery calls under
// the same lock. SqliteStore (sqlite_store.h) and the memory store (memory_store.h) implement
// it; tests/store/store_conformance_test.cc holds every implementation to the same cases.
class Store {
 public:
  virtual ~Store() = default;

  virtual Status Begin() = 0;
  // With Durability::kFull the commit is written, not yet synced: see DurabilityTicket().
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
  // With Durability::kFull: a ticket standing for everything written so far (the last commit,
  // a delivery marked), for wal_sync()->WaitDurable(), which the caller waits on outside its
  // lock so that the next commit can be prepared meanwhile. 0 with kNormal: nothing to wait for.
  virtual uint64_t DurabilityTicket() = 0;
  // With either durability, after reading the outbox: a ticket standing for every commit read,
  // this engine's or another process's, for wal_sync()->WaitDurable(). The outbox hands a
  // command out only once the commit that made it is on disk, so that no power loss can take
  // back the state a delivered command came from. Nothing committed since the last ticket:
  // that ticket again. 0: nothing to wait for (no file).
  virtual uint64_t OutboxTicket() = 0;
  // Shared: a waiter may outlive the store (Close() while a submission waits); null without a
  // file to sync.
  virtual std::shared_ptr<WalSync> wal_sync() const = 0;

  // Remembers `id` for dedup; false when it was remembered before (the event is a duplicate).
  virtual Result<bool> RememberId(std::string_view id, int64_t pos) = 0;
  // Appends the event to the log and to the audit chain (see audit.h); its audit rows follow.
  virtual Status AppendEvent(const EventRow& row) = 0;
  virtual Status PutInstance(const InstanceRow& row) = 0;
  virtual Status PutRuleState(std::string_view rule, std::string_view key, std::string_view state,
                              int64_t pos) = 0;
  virtual Status PutSequence(const SequenceRow& row) = 0;
  // The event at `pos` is held by a reorder policy; later it is released with `outcome` while
  // the event at `released_pos` is processed.
  virtual Status Hold(int64_t pos) = 0;
  virtual Status Release(int64_t pos, Outcome outcome, int64_t released_pos) = 0;
  virtual Status ForEachHeld(const std::function<void(const HeldRow&)>& visit) = 0;
  virtual Status AddCommand(const CommandRow& row) = 0;
  // Appends to the hash chain (see audit.h), after the row of its event.
  virtual Status AddAudit(const AuditRow& row) = 0;
  // Records a definition (workflow or rule) by content hash, once, with the declaration files
  // a workflow imports (`imports`: JSON [[file, text], ...]; "[]" for a rule).
  virtual Status PutDefinition(std::string_view hash, std::string_view kind, std::string_view name,
                               std::string_view file, std::string_view text,
                               std::string_view imports, int64_t pos) = 0;
  // kNotFound when no version `hash` was stored.
  virtual Result<StoredDefinition> Definition(std::string_view hash) = 0;
  // Records the cursor and the check values of its lines since its previous commit; one that
  // starts again from line 1 replaces the earlier lines' checks (InputCursor, takt/engine.h).
  virtual Status SetCursor(const InputCursor& cursor) = 0;
  // The cursor with every line's check value; position 0 when there is none.
  virtual Result<InputCursor> Cursor(std::string_view name) = 0;

  // Instances not in a final state, by workflow and creation; with `most_recent` > 0 only the
  // `most_recent` last updated, latest first (what a capped engine holds in memory).
  virtual Status ForEachOpenInstance(const std::function<Status(const InstanceRow&)>& visit,
                                     uint64_t most_recent = 0) = 0;
  // Every instance, by workflow and key.
  virtual Status ForEachInstance(const std::function<Status(const InstanceRow&)>& visit) = 0;
  // The instance `key` of `workflow`: visits it and returns true, or false when there is none.
  virtual Result<bool> LoadInstance(std::string_view workflow, std::string_view key,
                                    const std::function<Status(const InstanceRow&)>& visit) = 0;
  // Per workflow: how many instances are final and open, and the latest index time of any.
  struct InstanceTotals {
    std::string workflow;
    uint64_t final_count = 0;
    uint64_t open_count = 0;
    uint64_t timed_count = 0;  // with a timer armed
    uint64_t last_indexed_at = 0;
  };
  virtual Result<std::vector<InstanceTotals>> InstanceTotalsByWorkflow() = 0;
  // Open instances by index value, for the engine's Current() over instances not in memory
  // (schema.cc, 4 -> 5). `value` is the value as JSON text; `at` its time on the index clock.
  // The engine keeps rows only while it runs with a cap (state/instance_cache.cc).
  virtual Status PutIndexValue(std::string_view workflow, std::string_view key,
                               std::string_view var, std::string_view value, uint64_t at) = 0;
  // Forgets every index value of the instance: it is final, or about to be put again.
  virtual Status DropIndexValues(std::string_view workflow, std::string_view key) = 0;
  // The instances that hold `value` for `var`, latest first, until `visit` returns false.
  virtual Status ForEachIndexed(
      std::string_view workflow, std::string_view var, std::string_view value,
      const std::function<bool(std::string_view key, uint64_t at)>& visit) = 0;
  // The instances with a timer due at or before `now`, earliest first.
  virtual Status ForEachDue(
      int64_t now,
      const std::function<void(std::string_view workflow, std::string_view key)>& visit) = 0;
  // The earliest timer due after `now`, of any instance; none when no timer is that late.
  virtual Result<std::optional<int64_t>> NextDueAfter(int64_t now) = 0;
  // Gives every open instance of `workflow` at `version` that has no row for index variable
  // `var` (slot `slot` of its index times) one, from its stored variables.
  virtual Status FillIndexValues(std::string_view workflow, std::string_view version,
                                 std::string_view var, size_t slot) = 0;
  // Forgets every index value of every instance.
  virtual Status ClearIndexValues() = 0;
  // The (workflow, version) pairs that open instances run on.
  virtual Result<std::vector<std::pair<std::string, std::string>>> OpenVersions() = 0;
  virtual Status ForEachRuleState(
      const std::function<Status(std::string_view rule, std::string_view key,
                                 std::string_view state)>& visit) = 0;
  // The sequence position of (source, key) into `row` (its views are `source` and `key`):
  // false when there is none.
  virtual Result<bool> LoadSequence(std::string_view source, std::string_view key,
                                    SequenceRow& row) = 0;
  // How many sequence positions there are, and their gaps and late arrivals summed.
  struct SequenceTotals {
    uint64_t count = 0, gaps = 0, late = 0;
  };
  virtual Result<SequenceTotals> SequenceTotalsOfAll() = 0;
  // Where event time had got to for the workflows: the latest ts of the events that reached
  // them (applied, or held and since released); INT64_MIN + 1 when none has.
  virtual Result<int64_t> AppliedClock() = 0;
  virtual Status ForEachCommand(const std::function<void(const CommandRow&)>& visit) = 0;
  // Delivery, outside the engine's batches (connect/delivery.h has the lifecycle): the first
  // `max` commands waiting for delivery (pending, in_flight or retry) in emission order; a
  // delivery begun (in_flight; the first one sets first_attempt_at); a command delivered (done,
  // for good); a failed delivery (attempts + 1, the error kept; `give_up` makes it dead, never
  // offered again; else retry at `retry_at_ms`, or pending without it). kNotFound for an id the
  // outbox does not hold, kInvalidArgument for a command no longer waiting for delivery
  // (delivering a delivered command again is fine).
  virtual Status ForEachPendingCommand(size_t max,
                                       const std::function<void(const CommandRow&)>& visit) = 0;
  virtual Status MarkInFlight(std::string_view id, int64_t now_ms) = 0;
  virtual Status MarkDelivered(std::string_view id) = 0;
  virtual Status MarkFailed(std::string_view id, std::string_view error, bool give_up,
                            std::optional<int64_t> retry_at_ms) = 0;
  // The dead letters: the first `max` in emission order; one put back to pending for a new
  // round of deliveries (attempts kept, its age starting again); one dropped (kept, as
  // dropped, never offered again). kInvalidArgument for a command that is not dead.
  virtual Status ForEachDeadCommand(size_t max,
                                    const std::function<void(const CommandRow&)>& visit) = 0;
  virtual Status ReviveDead(std::string_view id) = 0;
  virtual Status DropDead(std::string_view id) = 0;
  // Makes the store whole and compact for a clean close (SQLite: stops the background
  // checkpoints and folds the WAL back into the database file). Commits may still follow.
  virtual Status Checkpoint() = 0;
  virtual Result<OutcomeCounts> Counts() = 0;

  // WriteBehind() (write_behind_store.h) calls AppendEvent() and AddAudit() on a thread of its
  // own, by turns with the other calls. A store that takes `turns` itself, around only the part
  // of those two calls that uses its connection (not the audit chain's hash before it), returns
  // true, and the other calls go on while it hashes; one that returns false has each of those
  // calls made as one turn.
  virtual bool TakeTurnsInside(ConnectionTurns* turns) {
    (void)turns;
    return false;
  }
  // Test-only crash hook: when TAKT_CRASH_AT is "NAME" or "NAME:N", the N-th (default first)
  // pass through point NAME kills the process with SIGKILL. Points: "in_transaction" (events
  // staged, nothing committed), "mid_outbox" (half of a batch's commands staged), "after_commit"
  // (committed, results not yet handed back).
  virtual void CrashPoint(const char* name) { (void)name; }
};

}  // namespace takt::store

#endif  // TAKT_ENGINE_STORE_STORE_H_
