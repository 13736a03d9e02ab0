// The engine's entry points for many threads: submissions through the CommitQueue (group
// commit), the outbox's delivery calls and Close(), each under state_mu_.
#include "engine/engine_impl.h"

#include "dsl/value.h"

namespace takt {
namespace {

// The engine whose on_command this thread is running, to refuse a submission from inside it:
// the thread leads the group that called it, so its submission would wait for itself.
thread_local const Engine* t_calling_back = nullptr;

// The event as the JSON object of the plant workload's format, fields in its order.
std::string EventJson(const EventInput& event) {
  std::string json = "{\"id\":";
  dsl::AppendJsonString(json, event.id);
  json += ",\"source\":";
  dsl::AppendJsonString(json, event.source);
  json += ",\"type\":";
  dsl::AppendJsonString(json, event.type);
  json += ",\"key\":";
  dsl::AppendJsonString(json, event.key);
  json += ",\"seq\":" + std::to_string(event.seq);
  json += ",\"ts\":" + std::to_string(event.ts);
  json += ",\"data\":";
  json += event.data_json.empty() ? "{}" : event.data_json;  // checked by the decoder
  json += '}';
  return json;
}

}  // namespace

Status Engine::Submit(const EventInput& event, SubmitResult& result) {
  return Submit(EventJson(event), result);
}

Status EngineImpl::CheckCanSubmit() const {
  if (t_calling_back == this) {
    return Status::InvalidArgument("on_command may not submit: the engine is committing for it");
  }
  return Status();
}

Status EngineImpl::Submit(std::string_view event_json, SubmitResult& result) {
  TAKT_RETURN_IF_ERROR(CheckCanSubmit());
  if (!durable_) {  // the in-memory fast path: no batch around one event
    Status status;
    {
      std::lock_guard<std::mutex> lock(state_mu_);
      if (closed_) return Closed();
      SwapInPending();  // a reload the watcher prepared: swap it in between two events
      status = pipeline_.ApplyOne(event_json, result);
    }
    if (status.ok()) CallOnCommand(result);
    return status;
  }
  std::vector<std::string_view> events{event_json};
  std::vector<SubmitResult> results(1);
  std::swap(results[0], result);  // keeps the caller's buffers
  Status status = SubmitBatch(events, results, nullptr);
  if (!status.ok()) return status;
  std::swap(result, results[0]);
  return Status();
}

Status EngineImpl::SubmitBatch(const std::vector<std::string_view>& events,
                               std::vector<SubmitResult>& results, const InputCursor* cursor) {
  TAKT_RETURN_IF_ERROR(CheckCanSubmit());
  if (!durable_) {
    // Nothing to commit, so nothing to gather: apply under the lock, in arrival order.
    Status status;
    {
      std::lock_guard<std::mutex> lock(state_mu_);
      status = closed_ ? Closed() : ApplyBatch(events, results, {});
    }
    if (status.ok()) CallOnCommand(results);
    return status;
  }
  CommitQueue::Submission mine;
  mine.events = &events;
  mine.results = &results;
  mine.cursor = cursor;
  queue_.Run(mine, queue_handlers_);
  return mine.status;
}

CommitQueue::Handlers EngineImpl::QueueHandlers() {
  CommitQueue::Handlers handlers;
  handlers.apply = [this](const std::vector<CommitQueue::Submission*>& group) {
    return ApplyGroup(group);
  };
  handlers.await_durable = [this](uint64_t ticket) { return WaitDurable(ticket); };
  handlers.deliver = [this](const std::vector<CommitQueue::Submission*>& group) {
    for (CommitQueue::Submission* s : group) {
      if (!s->status.ok()) {
        s->results->clear();
        continue;
      }
      CallOnCommand(*s->results);
    }
  };
  return handlers;
}

uint64_t EngineImpl::ApplyGroup(const std::vector<CommitQueue::Submission*>& group) {
  std::lock_guard<std::mutex> lock(state_mu_);
  Status status;
  if (closed_) {
    status = Closed();
  } else if (Status synced = CheckSyncHealthy(); !synced.ok()) {
    status = synced;
  } else if (group.size() == 1) {
    status = ApplyBatch(*group[0]->events, *group[0]->results, {group[0]->cursor});
  } else {
    group_events_.clear();
    group_cursors_.clear();
    for (const CommitQueue::Submission* s : group) {
      group_events_.insert(group_events_.end(), s->events->begin(), s->events->end());
      group_cursors_.push_back(s->cursor);
    }
    status = ApplyBatch(group_events_, group_results_, group_cursors_);
    size_t next = 0;
    for (CommitQueue::Submission* s : group) {
      s->results->resize(s->events->size());
      if (!status.ok()) continue;
      for (SubmitResult& r : *s->results) std::swap(r, group_results_[next++]);
    }
  }
  for (CommitQueue::Submission* s : group) s->status = status;
  return status.ok() && pipeline_.store() != nullptr ? pipeline_.store()->DurabilityTicket() : 0;
}

Status EngineImpl::CheckSyncHealthy() const {
  if (wal_sync_ == nullptr || wal_sync_->failure().ok()) return Status();
  // The disk lost writes once: nothing committed after could be vouched for.
  return Status::IoError("the store refuses events since a sync failed: " +
                         wal_sync_->failure().message() + "; open the engine again");
}

Status EngineImpl::AdvanceClock(int64_t now_ms, SubmitResult& result) {
  TAKT_RETURN_IF_ERROR(CheckCanSubmit());
  uint64_t ticket = 0;
  {
    // Between two groups of submissions, as a batch of its own.
    std::lock_guard<std::mutex> lock(state_mu_);
    if (closed_) return Closed();
    TAKT_RETURN_IF_ERROR(CheckSyncHealthy());
    SwapInPending();
    TAKT_RETURN_IF_ERROR(pipeline_.AdvanceClock(now_ms, result));
    if (pipeline_.store() != nullptr) ticket = pipeline_.store()->DurabilityTicket();
  }
  TAKT_RETURN_IF_ERROR(WaitDurable(ticket));
  CallOnCommand(result);
  return Status();
}

void EngineImpl::CallOnCommand(const std::vector<SubmitResult>& results) const {
  for (const SubmitResult& r : results) CallOnCommand(r);
}

void EngineImpl::CallOnCommand(const SubmitResult& result) const {
  if (!options_.on_command) return;
  const Engine* outer = t_calling_back;
  t_calling_back = this;
  for (const Command& command : result.commands) options_.on_command(command);
  t_calling_back = outer;
  CallOnCommand(result.released);
}

Result<uint64_t> EngineImpl::CursorPosition(std::string_view name) {
  std::lock_guard<std::mutex> lock(state_mu_);
  if (pipeline_.store() == nullptr) return uint64_t{0};
  Result<InputCursor> cursor = pipeline_.store()->Cursor(name);
  if (!cursor.ok()) return cursor.status();
  return cursor.value().position;
}

Result<InputCursor> EngineImpl::Cursor(std::string_view name) {
  std::lock_guard<std::mutex> lock(state_mu_);
  if (pipeline_.store() == nullptr) {
    InputCursor none;
    none.name = std::string(name);
    return none;
  }
  return pipeline_.store()->Cursor(name);
}

Status EngineImpl::CheckOutbox() const {
  if (closed_) return Closed();
  if (!pipeline_.has_store()) {
    return Status::InvalidArgument("the engine has no store, so no outbox");
  }
  return Status();
}

namespace {

void FillCommand(const store::CommandRow& row, Command& command) {
  command.id.assign(row.id);
  command.name.assign(row.name);
  command.payload_json.assign(row.payload);
  command.caused_by.assign(row.caused_by);
  command.emitted_by.assign(row.emitted_by);
}

void FillPending(const store::CommandRow& row, PendingCommand& p) {
  FillCommand(row, p.command);
  p.attempts = static_cast<uint32_t>(row.attempts);
  p.last_error.assign(row.last_error);
  p.status.assign(row.status);
  p.key.assign(row.key);
  p.next_attempt_at_ms = row.next_attempt_at.value_or(0);
  p.first_attempt_at_ms = row.first_attempt_at.value_or(0);
}

}  // namespace

Status EngineImpl::ForEachCommand(const std::function<void(const Command&)>& visit) {
  std::lock_guard<std::mutex> lock(state_mu_);
  TAKT_RETURN_IF_ERROR(CheckOutbox());
  Command command;
  return pipeline_.store()->ForEachCommand([&](const store::CommandRow& row) {
    FillCommand(row, command);
    visit(command);
  });
}

Result<std::vector<PendingCommand>> EngineImpl::PendingCommands(size_t max) {
  std::vector<PendingCommand> pending;
  uint64_t ticket = 0;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    TAKT_RETURN_IF_ERROR(CheckOutbox());
    store::Store& store = *pipeline_.store();
    Status status = store.ForEachPendingCommand(
        max, [&](const store::CommandRow& row) { FillPending(row, pending.emplace_back()); });
    if (!status.ok()) return status;
    ticket = pipeline_.store()->OutboxTicket();
  }
  // A command is not delivered before the commit that made it is on disk, with either
  // durability: were that lost, the command would be made again, perhaps differently, by the
  // events sent again. With NORMAL this is the one sync a commit gets before a checkpoint.
  TAKT_RETURN_IF_ERROR(WaitDurable(ticket));
  return pending;
}

Status EngineImpl::MarkDelivered(std::string_view command_id) {
  return ChangeDelivery([&] { return pipeline_.store()->MarkDelivered(command_id); });
}

Status EngineImpl::MarkFailed(std::string_view command_id, std::string_view error, bool give_up) {
  return ChangeDelivery([&] {
    return pipeline_.store()->MarkFailed(command_id, error, give_up, std::nullopt);
  });
}

Status EngineImpl::MarkInFlight(std::string_view command_id, int64_t now_ms) {
  return ChangeDelivery([&] { return pipeline_.store()->MarkInFlight(command_id, now_ms); });
}

Status EngineImpl::MarkRetry(std::string_view command_id, std::string_view error,
                             int64_t retry_at_ms) {
  return ChangeDelivery([&] {
    return pipeline_.store()->MarkFailed(command_id, error, /*give_up=*/false, retry_at_ms);
  });
}

Result<std::vector<PendingCommand>> EngineImpl::DeadLetters(size_t max) {
  std::lock_guard<std::mutex> lock(state_mu_);
  TAKT_RETURN_IF_ERROR(CheckOutbox());
  std::vector<PendingCommand> dead;
  TAKT_RETURN_IF_ERROR(pipeline_.store()->ForEachDeadCommand(
      max, [&](const store::CommandRow& row) { FillPending(row, dead.emplace_back()); }));
  return dead;
}

Status EngineImpl::ReviveDead(std::string_view command_id) {
  return ChangeDelivery([&] { return pipeline_.store()->ReviveDead(command_id); });
}

Status EngineImpl::DropDead(std::string_view command_id) {
  return ChangeDelivery([&] { return pipeline_.store()->DropDead(command_id); });
}

Status EngineImpl::ChangeDelivery(const std::function<Status()>& change) {
  uint64_t ticket = 0;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    TAKT_RETURN_IF_ERROR(CheckOutbox());
    TAKT_RETURN_IF_ERROR(change());
    ticket = pipeline_.store()->DurabilityTicket();
  }
  // On disk before the caller moves on, as a commit of events is; outside the lock, as theirs.
  return WaitDurable(ticket);
}

Status EngineImpl::WaitDurable(uint64_t ticket) const {
  return ticket == 0 ? Status() : wal_sync_->WaitDurable(ticket);
}

Status EngineImpl::Close() {
  std::lock_guard<std::mutex> lock(state_mu_);
  if (closed_) return Status();
  closed_ = true;
  watcher_.reset();  // its thread takes pending_mu_ only, never state_mu_
  return pipeline_.CloseStore();
}

}  // namespace takt
