// The engine behind include/takt/engine.h: the thread front of the pipeline (core/pipeline.h,
// the path of events). Submissions from any thread go through a CommitQueue
// (engine_submit.cc): a group of them is applied as one batch under state_mu_, waits for its
// sync outside it, and only then are the results returned and on_command called. Rule reloads
// (a call, or the watcher's thread) are swapped in between batches. Everything that reads or
// changes the pipeline holds state_mu_; the methods below marked "caller holds state_mu_"
// assume it.
#ifndef TAKT_ENGINE_ENGINE_IMPL_H_
#define TAKT_ENGINE_ENGINE_IMPL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dsl/catalog.h"
#include "engine/commit_queue.h"
#include "engine/core/pipeline.h"
#include "engine/rules/reloader.h"
#include "engine/rules/rule_set.h"
#include "engine/store/store.h"
#include "engine/store/wal_sync.h"
#include "takt/engine.h"

namespace takt {

// Engine::Open() on a store of the caller's (any implementation of store::Store) instead of
// options.store_path: for the store conformance and fault tests, and for stores that are not
// SQLite files.
Result<std::unique_ptr<Engine>> OpenEngineOnStore(EngineOptions options,
                                                  std::unique_ptr<store::Store> store,
                                                  std::string where);

class EngineImpl final : public Engine {
 public:
  EngineImpl(EngineOptions options, std::shared_ptr<const dsl::Definitions> definitions,
             std::unique_ptr<rules::RuleSet> rules);
  ~EngineImpl() override;
  // Starts watching the rules directory when the options ask for it.
  Status StartWatching();
  // Opens options_.store_path, if any, as AttachStore() does.
  Status OpenStore();
  // Keeps the engine's state in `store` from now on (`where` names it in errors): records the
  // definitions and restores the state it holds.
  Status AttachStore(std::unique_ptr<store::Store> store, std::string where);

  Status Submit(std::string_view event_json, SubmitResult& result) override;
  Status SubmitBatch(const std::vector<std::string_view>& events, std::vector<SubmitResult>& results,
                     const InputCursor* cursor) override;
  Status AdvanceClock(int64_t now_ms, SubmitResult& result) override;
  Result<uint64_t> CursorPosition(std::string_view name) override;
  Result<InputCursor> Cursor(std::string_view name) override;
  bool durable() const override { return durable_; }
  Status ForEachCommand(const std::function<void(const Command&)>& visit) override;
  Result<std::vector<PendingCommand>> PendingCommands(size_t max) override;
  Status MarkDelivered(std::string_view command_id) override;
  Status MarkFailed(std::string_view command_id, std::string_view error, bool give_up) override;
  Status MarkInFlight(std::string_view command_id, int64_t now_ms) override;
  Status MarkRetry(std::string_view command_id, std::string_view error,
                   int64_t retry_at_ms) override;
  Result<std::vector<PendingCommand>> DeadLetters(size_t max) override;
  Status ReviveDead(std::string_view command_id) override;
  Status DropDead(std::string_view command_id) override;
  Status Close() override;
  void ForEachInstance(const std::function<void(const InstanceSummary&)>& visit) const override;
  Result<InstanceInfo> GetInstance(std::string_view workflow, std::string_view key) const override;
  EngineStats stats() const override;
  std::vector<std::string> workflows() const override;
  void Log(LogLevel level, std::string_view message) const override;
  std::vector<RuleInfo> rules() const override;
  std::vector<EventTypeInfo> event_types() const override;
  Status ReloadRules() override;

 private:
  // engine_submit.cc: the CommitQueue's side of a submission. A group of submissions is applied
  // as one batch under state_mu_ (ApplyGroup returns the ticket of its commit), then waits for
  // its sync, then its results are handed over.
  CommitQueue::Handlers QueueHandlers();
  uint64_t ApplyGroup(const std::vector<CommitQueue::Submission*>& group);
  // MarkDelivered, MarkFailed: `change` under state_mu_, then its sync.
  Status ChangeDelivery(const std::function<Status()>& change);
  // Returns once the store's DurabilityTicket() `ticket` is on disk (at once for 0: no store,
  // or kNormal). Without state_mu_, so that the next group is applied meanwhile.
  Status WaitDurable(uint64_t ticket) const;
  // Pipeline::ApplyBatch() on a rule set that stays the same for the whole batch. Caller
  // holds state_mu_.
  Status ApplyBatch(const std::vector<std::string_view>& events, std::vector<SubmitResult>& results,
                    const std::vector<const InputCursor*>& cursors);
  // Hands the results' commands to options_.on_command, released events' included. Called
  // without state_mu_, so that the callback may query the engine.
  void CallOnCommand(const std::vector<SubmitResult>& results) const;
  void CallOnCommand(const SubmitResult& result) const;
  // Fails a call that may not be made from on_command, or on a closed engine.
  Status CheckCanSubmit() const;
  Status CheckOutbox() const;
  // Fails once a sync of the store failed (with kFull): no change is taken after that.
  Status CheckSyncHealthy() const;
  static Status Closed() { return Status::InvalidArgument("the engine is closed"); }

  // Swaps in a rule set the watcher prepared, between two batches.
  void SwapInPending();
  // Loads and tests rules_dir in a fresh set; touches nothing of the engine's, so it may run on
  // the watcher's thread.
  Result<std::unique_ptr<rules::RuleSet>> PrepareRules() const;
  // Moves the state over and makes `next` the active set.
  Status SwapIn(std::unique_ptr<rules::RuleSet> next);


  EngineOptions options_;
  rules::SandboxLimits limits_;
  Pipeline pipeline_;  // guarded by state_mu_
  // The store's, with Durability::kFull (else null); kept past Close() for the submitters
  // still waiting for a sync.
  std::shared_ptr<store::WalSync> wal_sync_;
  // A set the watcher prepared, waiting for the next event. Guarded by pending_mu_.
  std::mutex pending_mu_;
  std::unique_ptr<rules::RuleSet> pending_;
  std::atomic<bool> has_pending_{false};
  std::atomic<uint64_t> reload_failures_{0};  // counted on the watcher's thread too
  std::unique_ptr<rules::RuleWatcher> watcher_;  // stopped first, by Close()

  // Threads.
  // The most events one group commit takes from the queue: enough to amortise a commit over
  // many small submissions, few enough to keep one transaction's latency near a batch's.
  static constexpr size_t kMaxGroupEvents = 4096;
  mutable std::mutex state_mu_;  // everything above, while applying or reading
  CommitQueue queue_;
  const CommitQueue::Handlers queue_handlers_ = QueueHandlers();
  bool durable_ = false;
  bool closed_ = false;
  // A group of several submissions, merged into one batch; the leader's, reused.
  std::vector<std::string_view> group_events_;
  std::vector<SubmitResult> group_results_;
  std::vector<const InputCursor*> group_cursors_;
};

}  // namespace takt

#endif  // TAKT_ENGINE_ENGINE_IMPL_H_
