// The store on SQLite: one file in WAL mode holding every table of store.h's interface, written
// one transaction per batch. Schema and migrations: schema.cc; the audit chain: audit.cc; the
// sync of FULL durability outside the writer: wal_sync.cc; checkpoints: checkpointer.cc.
#ifndef TAKT_ENGINE_STORE_SQLITE_STORE_H_
#define TAKT_ENGINE_STORE_SQLITE_STORE_H_

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
#include "engine/store/store.h"
#include "engine/store/wal_sync.h"
#include "takt/engine.h"

namespace takt::store {

struct StoreOptions {
  std::string path;
  Durability durability = Durability::kFull;
  uint64_t max_bytes = 0;       // 0: no limit
  CheckpointPolicy checkpoint;  // when the WAL is copied back (checkpointer.h)
};

class SqliteStore;
// Opens or creates the database, checks that it is takt's, and migrates it to the current
// schema. kCorruption for a file that is not a database or is damaged, kInvalidArgument for
// another application's database or one from a newer takt.
Result<std::unique_ptr<SqliteStore>> OpenSqliteStore(const StoreOptions& options);

class SqliteStore final : public Store {
 public:
  ~SqliteStore() override;
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Status Begin() override;
  Status Commit() override;
  void Rollback() override;
  uint64_t DurabilityTicket() override;
  uint64_t OutboxTicket() override;
  std::shared_ptr<WalSync> wal_sync() const override { return wal_sync_; }
  Result<bool> RememberId(std::string_view id, int64_t pos) override;
  Status AppendEvent(const EventRow& row) override;
  Status PutInstance(const InstanceRow& row) override;
  Status PutRuleState(std::string_view rule, std::string_view key, std::string_view state,
                      int64_t pos) override;
  Status PutSequence(const SequenceRow& row) override;
  Status Hold(int64_t pos) override;
  Status Release(int64_t pos, Outcome outcome, int64_t released_pos) override;
  Status ForEachHeld(const std::function<void(const HeldRow&)>& visit) override;
  Status AddCommand(const CommandRow& row) override;
  Status AddAudit(const AuditRow& row) override;
  Status PutDefinition(std::string_view hash, std::string_view kind, std::string_view name,
                       std::string_view file, std::string_view text, std::string_view imports,
                       int64_t pos) override;
  Result<StoredDefinition> Definition(std::string_view hash) override;
  Status SetCursor(const InputCursor& cursor) override;
  Result<InputCursor> Cursor(std::string_view name) override;
  Status ForEachOpenInstance(const std::function<Status(const InstanceRow&)>& visit,
                             uint64_t most_recent) override;
  Status ForEachInstance(const std::function<Status(const InstanceRow&)>& visit) override;
  Result<bool> LoadInstance(std::string_view workflow, std::string_view key,
                            const std::function<Status(const InstanceRow&)>& visit) override;
  Result<std::vector<InstanceTotals>> InstanceTotalsByWorkflow() override;
  Status PutIndexValue(std::string_view workflow, std::string_view key, std::string_view var,
                       std::string_view value, uint64_t at) override;
  Status DropIndexValues(std::string_view workflow, std::string_view key) override;
  Status ForEachIndexed(
      std::string_view workflow, std::string_view var, std::string_view value,
      const std::function<bool(std::string_view key, uint64_t at)>& visit) override;
  Status ForEachDue(
      int64_t now,
      const std::function<void(std::string_view workflow, std::string_view key)>& visit) override;
  Result<std::optional<int64_t>> NextDueAfter(int64_t now) override;
  Status FillIndexValues(std::string_view workflow, std::string_view version, std::string_view var,
                         size_t slot) override;
  Status ClearIndexValues() override;
  Result<std::vector<std::pair<std::string, std::string>>> OpenVersions() override;
  Status ForEachRuleState(const std::function<Status(std::string_view rule, std::string_view key,
                                                     std::string_view state)>& visit) override;
  Result<bool> LoadSequence(std::string_view source, std::string_view key,
                            SequenceRow& row) override;
  Result<SequenceTotals> SequenceTotalsOfAll() override;
  Result<int64_t> AppliedClock() override;
  Status ForEachCommand(const std::function<void(const CommandRow&)>& visit) override;
  Status ForEachPendingCommand(size_t max,
                               const std::function<void(const CommandRow&)>& visit) override;
  Status MarkDelivered(std::string_view id) override;
  Status MarkFailed(std::string_view id, std::string_view error, bool give_up,
                    std::optional<int64_t> retry_at_ms) override;
  Status MarkInFlight(std::string_view id, int64_t now_ms) override;
  Status ForEachDeadCommand(size_t max,
                            const std::function<void(const CommandRow&)>& visit) override;
  Status ReviveDead(std::string_view id) override;
  Status DropDead(std::string_view id) override;
  // Stops the background checkpoints and folds the WAL back into the database file, which is
  // then the whole database. Commits after it checkpoint the old way, inside the commit that
  // takes the WAL over its limit.
  Status Checkpoint() override;
  CheckpointStats checkpoint_stats() const;
  Result<OutcomeCounts> Counts() override;
  void CrashPoint(const char* name) override;
  bool TakeTurnsInside(ConnectionTurns* turns) override {
    turns_ = turns;
    return true;
  }

 private:
  // Runs `update`, bound to the command `id` (only one in the state `expected` matches);
  // explains why when no row changed.
  Status ChangeDelivery(Statement& update, std::string_view id, bool again_is_ok,
                        const char* expected = "waiting for delivery");
  // The last ticket, or a new one when this connection wrote since (or, `others_too`, another
  // connection committed since: the data version changed).
  uint64_t TicketSince(bool others_too);
  friend Result<std::unique_ptr<SqliteStore>> OpenSqliteStore(const StoreOptions& options);
  explicit SqliteStore(Database db);
  Status Prepare();
  // Ok unless a batch is open and SQLite rolled its transaction back by itself: the writes of a
  // batch refuse to run then, as each would commit alone.
  Status StillInBatch() const;

  Database db_;
  bool in_transaction_ = false;
  std::string audit_head_;      // hash of the last audit row, committed or staged
  ConnectionTurns* turns_ = nullptr;  // taken around the connection's use in AppendEvent, AddAudit
  std::string committed_head_;  // the same, as of the last commit
  int64_t audit_seq_ = 0, committed_audit_seq_ = 0;
  std::string crash_point_;
  int64_t crash_countdown_ = 0;
  std::string scratch_;
  std::unique_ptr<Checkpointer> checkpointer_;  // after db_: stopped before it closes
  // Syncs the WAL: every commit with kFull (`sync_commits_`), and with either durability what
  // the outbox hands out.
  std::shared_ptr<WalSync> wal_sync_;
  bool sync_commits_ = false;
  uint64_t ticket_ = 0;              // the last ticket taken
  int64_t changes_at_ticket_ = 0;    // db_.TotalChanges() then
  uint32_t version_at_ticket_ = 0;   // db_.DataVersion() then
  Statement remember_, append_event_, put_instance_, put_rule_state_, put_sequence_, add_command_,
      add_audit_, put_definition_, set_cursor_, drop_cursor_lines_, add_cursor_lines_, hold_,
      release_, mark_delivered_, mark_failed_, mark_in_flight_, revive_dead_, drop_dead_,
      load_instance_, load_sequence_, put_index_value_,
      drop_index_values_, for_each_indexed_, for_each_due_, next_due_after_;
};

}  // namespace takt::store

#endif  // TAKT_ENGINE_STORE_SQLITE_STORE_H_
