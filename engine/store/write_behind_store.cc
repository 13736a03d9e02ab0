#include "engine/store/write_behind_store.h"

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iterator>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace takt::store {
namespace {

// The text fields of the rows copied here: the two queued ones (into a chunk's bytes when
// queued, pointed at there again when written), and an instance read back (LoadInstance()).
constexpr std::string_view EventRow::*kEventTexts[] = {
    &EventRow::id,     &EventRow::source,   &EventRow::type,    &EventRow::key,   &EventRow::reason,
    &EventRow::body,   &EventRow::workflow, &EventRow::version, &EventRow::effect};
constexpr std::string_view AuditRow::*kAuditTexts[] = {
    &AuditRow::event_id, &AuditRow::source, &AuditRow::kind,   &AuditRow::workflow,
    &AuditRow::key,      &AuditRow::detail, &AuditRow::version};
constexpr std::string_view InstanceRow::*kInstanceTexts[] = {
    &InstanceRow::workflow,  &InstanceRow::key,        &InstanceRow::version, &InstanceRow::state,
    &InstanceRow::variables, &InstanceRow::indexed_at, &InstanceRow::timers};
constexpr size_t kMostTexts = std::size(kEventTexts);
static_assert(std::size(kAuditTexts) <= kMostTexts);
static_assert(std::size(kInstanceTexts) <= kMostTexts);

// Where a row's texts were copied to in a buffer: offset and size of each.
using TextsAt = std::array<std::pair<size_t, size_t>, kMostTexts>;

// Appends the row's texts to `bytes`, noting where in `at`.
template <typename RowType, size_t N>
void KeepTexts(const RowType& row, std::string_view RowType::*const (&fields)[N],
               std::string& bytes, TextsAt& at) {
  for (size_t i = 0; i < N; ++i) {
    const std::string_view text = row.*fields[i];
    at[i] = {bytes.size(), text.size()};
    bytes.append(text.data(), text.size());
  }
}

// Points the row's texts at their copies in `bytes`.
template <typename RowType, size_t N>
void PointTexts(RowType& row, std::string_view RowType::*const (&fields)[N],
                std::string_view bytes, const TextsAt& at) {
  for (size_t i = 0; i < N; ++i) row.*fields[i] = bytes.substr(at[i].first, at[i].second);
}

// Queued rows, in the order they were given, with their text in one buffer: a chunk is filled
// by the engine while the writer writes the other, and both keep their capacity.
struct Chunk {
  struct Row {
    bool is_event = false;
    EventRow event;  // its views are set when written
    AuditRow audit;
    TextsAt texts{};  // in `bytes`

    void Set(const EventRow& row) {
      is_event = true;
      event = row;
    }
    void Set(const AuditRow& row) {
      is_event = false;
      audit = row;
    }
  };
  std::vector<Row> rows;
  size_t size = 0;  // rows[0, size) are queued; the rest are kept for their capacity
  std::string bytes;

  Row& Add() {
    if (size == rows.size()) rows.emplace_back();
    return rows[size++];
  }
  void Clear() {
    size = 0;
    bytes.clear();
  }
};

// Who uses the store underneath at a time: the writer, one row at a time, or a Beside() call,
// which goes first: the writer lets it in before its next row. A wait spins first (a row or a
// call takes microseconds, where a sleep and a wake-up take more; an unfair mutex also let the
// writer take it back row after row while the engine waited for its whole chunk), then parks on
// a condition variable: a thread whose turn holder lost its core must not burn its own.
class Turn final : public ConnectionTurns {
 public:
  void Enter() override { WriterEnter(); }  // the writer's, inside the store underneath
  void Leave() override {
    busy_.store(false);  // sequentially consistent, as every flag here: see Wake()
    Wake();
  }
  void CallerEnter() {
    wanted_.store(true);
    Lock();
    wanted_.store(false);
    Wake();  // the writer may be parked until nobody wants the turn
  }
  void WriterEnter() {
    Await([&] { return !wanted_.load(); });
    Lock();
  }

 private:
  static constexpr int kSpins = 2000;  // some 50 µs: a row or a call is over long before, mostly

  void Lock() {
    while (busy_.exchange(true)) Await([&] { return !busy_.load(); });
  }
  template <typename Ready>
  void Await(Ready ready) {
    for (int spins = 0; spins < kSpins; ++spins) {
      if (ready()) return;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
    }
    std::unique_lock<std::mutex> lock(park_mu_);
    parked_.fetch_add(1);
    // ready() is asked again under the mutex before each sleep: a change made before the
    // count went up is seen here, one made after it is followed by Wake()'s notification.
    while (!park_cv_.wait_for(lock, std::chrono::milliseconds(10), ready)) {
    }
    parked_.fetch_sub(1);
  }
  void Wake() {
    if (parked_.load() == 0) return;
    std::lock_guard<std::mutex> lock(park_mu_);
    park_cv_.notify_all();
  }

  std::atomic<bool> busy_{false};
  std::atomic<bool> wanted_{false};
  std::atomic<int> parked_{0};
  std::mutex park_mu_;
  std::condition_variable park_cv_;
};

class WriteBehindStore final : public Store {
 public:
  explicit WriteBehindStore(std::unique_ptr<Store> inner)
      : inner_(std::move(inner)),
        turns_inside_(inner_->TakeTurnsInside(&turn_)),
        writer_([this] { WriteLoop(); }) {}
  ~WriteBehindStore() override {
    (void)Drain();
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    work_cv_.notify_one();
    writer_.join();
  }
  WriteBehindStore(const WriteBehindStore&) = delete;
  WriteBehindStore& operator=(const WriteBehindStore&) = delete;

  // ---- queued ----
  Status AppendEvent(const EventRow& row) override { return Enqueue(row, kEventTexts); }
  Status AddAudit(const AuditRow& row) override { return Enqueue(row, kAuditTexts); }

  // ---- beside the queue: tables no queued row touches, by turns with the writer ----
  Result<bool> RememberId(std::string_view id, int64_t pos) override {
    return Beside([&] { return inner_->RememberId(id, pos); });
  }
  Result<bool> LoadSequence(std::string_view source, std::string_view key,
                            SequenceRow& row) override {
    return Beside([&] { return inner_->LoadSequence(source, key, row); });
  }
  Status AddCommand(const CommandRow& row) override {
    return Beside([&] { return inner_->AddCommand(row); });
  }
  // The row is copied and visited after the call: `visit` may call the store again (to read a
  // pinned definition), which it could not do from inside a Beside() call.
  Result<bool> LoadInstance(std::string_view workflow, std::string_view key,
                            const std::function<Status(const InstanceRow&)>& visit) override {
    InstanceRow row;
    std::string texts;
    TextsAt at{};
    Result<bool> found = Beside([&] {
      return inner_->LoadInstance(workflow, key, [&](const InstanceRow& stored) {
        row = stored;
        KeepTexts(stored, kInstanceTexts, texts, at);
        return Status();
      });
    });
    if (!found.ok() || !found.value()) return found;
    PointTexts(row, kInstanceTexts, texts, at);
    TAKT_RETURN_IF_ERROR(visit(row));
    return true;
  }

  // What the end of a batch writes, before its commit waits for the queue.
  Status PutInstance(const InstanceRow& row) override {
    Nudge();
    return Beside([&] { return inner_->PutInstance(row); });
  }
  Status PutRuleState(std::string_view rule, std::string_view key, std::string_view state,
                      int64_t pos) override {
    Nudge();
    return Beside([&] { return inner_->PutRuleState(rule, key, state, pos); });
  }
  Status PutSequence(const SequenceRow& row) override {
    Nudge();
    return Beside([&] { return inner_->PutSequence(row); });
  }
  Status SetCursor(const InputCursor& cursor) override {
    Nudge();
    return Beside([&] { return inner_->SetCursor(cursor); });
  }
  Status PutIndexValue(std::string_view workflow, std::string_view key, std::string_view var,
                       std::string_view value, uint64_t at) override {
    return Beside([&] { return inner_->PutIndexValue(workflow, key, var, value, at); });
  }
  Status DropIndexValues(std::string_view workflow, std::string_view key) override {
    return Beside([&] { return inner_->DropIndexValues(workflow, key); });
  }

  // ---- after the queue ----
  Status Begin() override { return Then([&] { return inner_->Begin(); }); }
  Status Commit() override { return Then([&] { return inner_->Commit(); }); }
  void Rollback() override {
    (void)Drain();
    {
      std::lock_guard<std::mutex> lock(mu_);
      failed_ = Status();  // the failed rows' batch is what is rolled back
    }
    inner_->Rollback();
  }
  uint64_t DurabilityTicket() override {
    (void)Drain();  // a failure is kept for the next call that returns a status
    return inner_->DurabilityTicket();
  }
  uint64_t OutboxTicket() override {
    (void)Drain();
    return inner_->OutboxTicket();
  }
  std::shared_ptr<WalSync> wal_sync() const override { return inner_->wal_sync(); }
  Status Hold(int64_t pos) override { return Then([&] { return inner_->Hold(pos); }); }
  Status Release(int64_t pos, Outcome outcome, int64_t released_pos) override {
    return Then([&] { return inner_->Release(pos, outcome, released_pos); });
  }
  Status ForEachHeld(const std::function<void(const HeldRow&)>& visit) override {
    return Then([&] { return inner_->ForEachHeld(visit); });
  }
  Status PutDefinition(std::string_view hash, std::string_view kind, std::string_view name,
                       std::string_view file, std::string_view text, std::string_view imports,
                       int64_t pos) override {
    return Then([&] { return inner_->PutDefinition(hash, kind, name, file, text, imports, pos); });
  }
  Result<StoredDefinition> Definition(std::string_view hash) override {
    return Then([&] { return inner_->Definition(hash); });
  }
  Result<InputCursor> Cursor(std::string_view name) override {
    return Then([&] { return inner_->Cursor(name); });
  }
  Status ForEachOpenInstance(const std::function<Status(const InstanceRow&)>& visit,
                             uint64_t most_recent) override {
    return Then([&] { return inner_->ForEachOpenInstance(visit, most_recent); });
  }
  Status ForEachInstance(const std::function<Status(const InstanceRow&)>& visit) override {
    return Then([&] { return inner_->ForEachInstance(visit); });
  }
  Result<std::vector<InstanceTotals>> InstanceTotalsByWorkflow() override {
    return Then([&] { return inner_->InstanceTotalsByWorkflow(); });
  }
  Status ForEachIndexed(
      std::string_view workflow, std::string_view var, std::string_view value,
      const std::function<bool(std::string_view key, uint64_t at)>& visit) override {
    return Then([&] { return inner_->ForEachIndexed(workflow, var, value, visit); });
  }
  Status ForEachDue(
      int64_t now,
      const std::function<void(std::string_view workflow, std::string_view key)>& visit)
      override {
    return Then([&] { return inner_->ForEachDue(now, visit); });
  }
  Result<std::optional<int64_t>> NextDueAfter(int64_t now) override {
    return Then([&] { return inner_->NextDueAfter(now); });
  }
  Status FillIndexValues(std::string_view workflow, std::string_view version,
                         std::string_view var, size_t slot) override {
    return Then([&] { return inner_->FillIndexValues(workflow, version, var, slot); });
  }
  Status ClearIndexValues() override { return Then([&] { return inner_->ClearIndexValues(); }); }
  Result<std::vector<std::pair<std::string, std::string>>> OpenVersions() override {
    return Then([&] { return inner_->OpenVersions(); });
  }
  Status ForEachRuleState(
      const std::function<Status(std::string_view rule, std::string_view key,
                                 std::string_view state)>& visit) override {
    return Then([&] { return inner_->ForEachRuleState(visit); });
  }
  Result<SequenceTotals> SequenceTotalsOfAll() override {
    return Then([&] { return inner_->SequenceTotalsOfAll(); });
  }
  Result<int64_t> AppliedClock() override { return Then([&] { return inner_->AppliedClock(); }); }
  Status ForEachCommand(const std::function<void(const CommandRow&)>& visit) override {
    return Then([&] { return inner_->ForEachCommand(visit); });
  }
  Status ForEachPendingCommand(size_t max,
                               const std::function<void(const CommandRow&)>& visit) override {
    return Then([&] { return inner_->ForEachPendingCommand(max, visit); });
  }
  Status MarkInFlight(std::string_view id, int64_t now_ms) override {
    return Then([&] { return inner_->MarkInFlight(id, now_ms); });
  }
  Status MarkDelivered(std::string_view id) override {
    return Then([&] { return inner_->MarkDelivered(id); });
  }
  Status MarkFailed(std::string_view id, std::string_view error, bool give_up,
                    std::optional<int64_t> retry_at_ms) override {
    return Then([&] { return inner_->MarkFailed(id, error, give_up, retry_at_ms); });
  }
  Status ForEachDeadCommand(size_t max,
                            const std::function<void(const CommandRow&)>& visit) override {
    return Then([&] { return inner_->ForEachDeadCommand(max, visit); });
  }
  Status ReviveDead(std::string_view id) override {
    return Then([&] { return inner_->ReviveDead(id); });
  }
  Status DropDead(std::string_view id) override {
    return Then([&] { return inner_->DropDead(id); });
  }
  Status Checkpoint() override { return Then([&] { return inner_->Checkpoint(); }); }
  Result<OutcomeCounts> Counts() override { return Then([&] { return inner_->Counts(); }); }
  void CrashPoint(const char* name) override {
    // A crash inside a batch loses the batch whether its queued rows were written or not.
    (void)Beside([&] {
      inner_->CrashPoint(name);
      return Status();
    });
  }

 private:
  // The writer is woken once this many rows wait (or when a call waits for the queue): one wake
  // for many rows, where one per row would cost the engine a system call per event.
  static constexpr size_t kWakeAt = 64;

  // Wakes the writer for what is queued, however little: the batch's events are all in, and the
  // commit will wait for the queue, so it is written while the end of the batch is.
  void Nudge() {
    std::lock_guard<std::mutex> lock(mu_);
    if (pending_.size == 0 || nudged_) return;
    nudged_ = true;
    work_cv_.notify_one();
  }

  // Queues the row; a failure of a row written earlier, ok otherwise.
  template <typename RowType, size_t N>
  Status Enqueue(const RowType& row, std::string_view RowType::*const (&texts)[N]) {
    std::lock_guard<std::mutex> lock(mu_);
    Chunk::Row& queued = pending_.Add();
    queued.Set(row);
    KeepTexts(row, texts, pending_.bytes, queued.texts);
    if (pending_.size == kWakeAt) work_cv_.notify_one();
    return failed_;
  }

  // Waits until every queued row is written; the first failure among them (kept until
  // Rollback()). Once it returns, the writer is idle until the next row is queued, and the
  // caller (who holds the engine's lock, as every caller of a Store does) uses the store
  // underneath alone.
  Status Drain() {
    std::unique_lock<std::mutex> lock(mu_);
    if (pending_.size != 0 || writing_) {
      draining_ = true;
      work_cv_.notify_one();
      idle_cv_.wait(lock, [&] { return pending_.size == 0 && !writing_; });
      draining_ = false;
    }
    return failed_;
  }

  // `call` on the store underneath, after the queue; a queued row's failure instead.
  template <typename Call>
  auto Then(Call call) -> decltype(call()) {
    Status drained = Drain();
    if (!drained.ok()) return drained;
    return call();
  }

  // `call` on the store underneath while the writer may be writing: one row of its at a time.
  // For calls on tables that no queued row touches, whose order against the queued rows makes
  // no difference (a failure of either fails the batch). When it fails after a queued row did
  // (SQLite refuses the rest of a batch it rolled back after a full disk), the row's failure is
  // the one to report: it is the cause.
  template <typename Call>
  auto Beside(Call call) -> decltype(call()) {
    turn_.CallerEnter();
    auto result = call();
    turn_.Leave();
    if (!result.ok()) {
      Status earlier = Drain();
      if (!earlier.ok()) return earlier;
    }
    return result;
  }

  void WriteLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      work_cv_.wait(lock, [&] {
        return stopping_ ||
               (pending_.size != 0 && (draining_ || nudged_ || pending_.size >= kWakeAt));
      });
      nudged_ = false;
      if (pending_.size == 0) return;  // stopping, with nothing left
      std::swap(pending_, writing_chunk_);
      writing_ = true;
      const bool skip = !failed_.ok();  // after a failure nothing more of the batch is written
      lock.unlock();
      Status failed;
      for (size_t i = 0; i < writing_chunk_.size && !skip && failed.ok(); ++i) {
        Chunk::Row& row = writing_chunk_.rows[i];
        if (!turns_inside_) turn_.WriterEnter();
        if (row.is_event) {
          PointTexts(row.event, kEventTexts, writing_chunk_.bytes, row.texts);
          failed = inner_->AppendEvent(row.event);
        } else {
          PointTexts(row.audit, kAuditTexts, writing_chunk_.bytes, row.texts);
          failed = inner_->AddAudit(row.audit);
        }
        if (!turns_inside_) turn_.Leave();
      }
      writing_chunk_.Clear();
      lock.lock();
      if (!failed.ok() && failed_.ok()) failed_ = std::move(failed);
      writing_ = false;
      if (draining_) idle_cv_.notify_all();
    }
  }

  std::unique_ptr<Store> inner_;
  Turn turn_;  // the writer's rows and Beside() calls use `inner_` by turns
  const bool turns_inside_;  // the store underneath takes them in its rows itself

  std::mutex mu_;  // everything below
  std::condition_variable work_cv_, idle_cv_;
  Chunk pending_;        // queued by the engine
  Chunk writing_chunk_;  // being written by the writer (its own while `writing_`)
  bool writing_ = false;
  bool draining_ = false;
  bool nudged_ = false;
  bool stopping_ = false;
  Status failed_;
  std::thread writer_;  // last: it starts once everything above is made
};

}  // namespace

std::unique_ptr<Store> WriteBehind(std::unique_ptr<Store> inner) {
  return std::make_unique<WriteBehindStore>(std::move(inner));
}

}  // namespace takt::store
