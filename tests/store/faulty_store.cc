#include "store/faulty_store.h"

#include <utility>

namespace takt::test {
namespace {

using store::Store;

class FaultyStore final : public Store {
 public:
  FaultyStore(std::unique_ptr<Store> inner, std::shared_ptr<StoreFaults> faults)
      : inner_(std::move(inner)), faults_(std::move(faults)) {}

  Status Begin() override { return Pass("Begin", [&] { return inner_->Begin(); }); }
  Status Commit() override { return Pass("Commit", [&] { return inner_->Commit(); }); }
  void Rollback() override { inner_->Rollback(); }  // cannot fail, and must not
  uint64_t DurabilityTicket() override { return inner_->DurabilityTicket(); }
  uint64_t OutboxTicket() override { return inner_->OutboxTicket(); }
  std::shared_ptr<store::WalSync> wal_sync() const override { return inner_->wal_sync(); }

  Result<bool> RememberId(std::string_view id, int64_t pos) override {
    return Pass("RememberId", [&] { return inner_->RememberId(id, pos); });
  }
  Status AppendEvent(const store::EventRow& row) override {
    return Pass("AppendEvent", [&] { return inner_->AppendEvent(row); });
  }
  Status PutInstance(const store::InstanceRow& row) override {
    return Pass("PutInstance", [&] { return inner_->PutInstance(row); });
  }
  Status PutRuleState(std::string_view rule, std::string_view key, std::string_view state,
                      int64_t pos) override {
    return Pass("PutRuleState", [&] { return inner_->PutRuleState(rule, key, state, pos); });
  }
  Status PutSequence(const store::SequenceRow& row) override {
    return Pass("PutSequence", [&] { return inner_->PutSequence(row); });
  }
  Status Hold(int64_t pos) override { return Pass("Hold", [&] { return inner_->Hold(pos); }); }
  Status Release(int64_t pos, Outcome outcome, int64_t released_pos) override {
    return Pass("Release", [&] { return inner_->Release(pos, outcome, released_pos); });
  }
  Status ForEachHeld(const std::function<void(const store::HeldRow&)>& visit) override {
    return Pass("ForEachHeld", [&] { return inner_->ForEachHeld(visit); });
  }
  Status AddCommand(const store::CommandRow& row) override {
    return Pass("AddCommand", [&] { return inner_->AddCommand(row); });
  }
  Status AddAudit(const store::AuditRow& row) override {
    return Pass("AddAudit", [&] { return inner_->AddAudit(row); });
  }
  Status PutDefinition(std::string_view hash, std::string_view kind, std::string_view name,
                       std::string_view file, std::string_view text, std::string_view imports,
                       int64_t pos) override {
    return Pass("PutDefinition", [&] {
      return inner_->PutDefinition(hash, kind, name, file, text, imports, pos);
    });
  }
  Result<store::StoredDefinition> Definition(std::string_view hash) override {
    return Pass("Definition", [&] { return inner_->Definition(hash); });
  }
  Status SetCursor(const InputCursor& cursor) override {
    return Pass("SetCursor", [&] { return inner_->SetCursor(cursor); });
  }
  Result<InputCursor> Cursor(std::string_view name) override {
    return Pass("Cursor", [&] { return inner_->Cursor(name); });
  }
  Status ForEachOpenInstance(const std::function<Status(const store::InstanceRow&)>& visit,
                             uint64_t most_recent) override {
    return Pass("ForEachOpenInstance",
                [&] { return inner_->ForEachOpenInstance(visit, most_recent); });
  }
  Status ForEachInstance(const std::function<Status(const store::InstanceRow&)>& visit) override {
    return Pass("ForEachInstance", [&] { return inner_->ForEachInstance(visit); });
  }
  Result<bool> LoadInstance(
      std::string_view workflow, std::string_view key,
      const std::function<Status(const store::InstanceRow&)>& visit) override {
    return Pass("LoadInstance", [&] { return inner_->LoadInstance(workflow, key, visit); });
  }
  Result<std::vector<InstanceTotals>> InstanceTotalsByWorkflow() override {
    return Pass("InstanceTotalsByWorkflow", [&] { return inner_->InstanceTotalsByWorkflow(); });
  }
  Status PutIndexValue(std::string_view workflow, std::string_view key, std::string_view var,
                       std::string_view value, uint64_t at) override {
    return Pass("PutIndexValue",
                [&] { return inner_->PutIndexValue(workflow, key, var, value, at); });
  }
  Status DropIndexValues(std::string_view workflow, std::string_view key) override {
    return Pass("DropIndexValues", [&] { return inner_->DropIndexValues(workflow, key); });
  }
  Status ForEachIndexed(
      std::string_view workflow, std::string_view var, std::string_view value,
      const std::function<bool(std::string_view key, uint64_t at)>& visit) override {
    return Pass("ForEachIndexed",
                [&] { return inner_->ForEachIndexed(workflow, var, value, visit); });
  }
  Status ForEachDue(int64_t now,
                    const std::function<void(std::string_view workflow, std::string_view key)>&
                        visit) override {
    return Pass("ForEachDue", [&] { return inner_->ForEachDue(now, visit); });
  }
  Result<std::optional<int64_t>> NextDueAfter(int64_t now) override {
    return Pass("NextDueAfter", [&] { return inner_->NextDueAfter(now); });
  }
  Status FillIndexValues(std::string_view workflow, std::string_view version,
                         std::string_view var, size_t slot) override {
    return Pass("FillIndexValues",
                [&] { return inner_->FillIndexValues(workflow, version, var, slot); });
  }
  Status ClearIndexValues() override {
    return Pass("ClearIndexValues", [&] { return inner_->ClearIndexValues(); });
  }
  Result<std::vector<std::pair<std::string, std::string>>> OpenVersions() override {
    return Pass("OpenVersions", [&] { return inner_->OpenVersions(); });
  }
  Status ForEachRuleState(
      const std::function<Status(std::string_view rule, std::string_view key,
                                 std::string_view state)>& visit) override {
    return Pass("ForEachRuleState", [&] { return inner_->ForEachRuleState(visit); });
  }
  Result<bool> LoadSequence(std::string_view source, std::string_view key,
                            store::SequenceRow& row) override {
    return Pass("LoadSequence", [&] { return inner_->LoadSequence(source, key, row); });
  }
  Result<SequenceTotals> SequenceTotalsOfAll() override {
    return Pass("SequenceTotalsOfAll", [&] { return inner_->SequenceTotalsOfAll(); });
  }
  Result<int64_t> AppliedClock() override {
    return Pass("AppliedClock", [&] { return inner_->AppliedClock(); });
  }
  Status ForEachCommand(const std::function<void(const store::CommandRow&)>& visit) override {
    return Pass("ForEachCommand", [&] { return inner_->ForEachCommand(visit); });
  }
  Status ForEachPendingCommand(
      size_t max, const std::function<void(const store::CommandRow&)>& visit) override {
    return Pass("ForEachPendingCommand", [&] { return inner_->ForEachPendingCommand(max, visit); });
  }
  Status MarkDelivered(std::string_view id) override {
    return Pass("MarkDelivered", [&] { return inner_->MarkDelivered(id); });
  }
  Status MarkFailed(std::string_view id, std::string_view error, bool give_up,
                    std::optional<int64_t> retry_at_ms) override {
    return Pass("MarkFailed",
                [&] { return inner_->MarkFailed(id, error, give_up, retry_at_ms); });
  }
  Status MarkInFlight(std::string_view id, int64_t now_ms) override {
    return Pass("MarkInFlight", [&] { return inner_->MarkInFlight(id, now_ms); });
  }
  Status ForEachDeadCommand(size_t max,
                            const std::function<void(const store::CommandRow&)>& visit) override {
    return Pass("ForEachDeadCommand", [&] { return inner_->ForEachDeadCommand(max, visit); });
  }
  Status ReviveDead(std::string_view id) override {
    return Pass("ReviveDead", [&] { return inner_->ReviveDead(id); });
  }
  Status DropDead(std::string_view id) override {
    return Pass("DropDead", [&] { return inner_->DropDead(id); });
  }
  Status Checkpoint() override { return Pass("Checkpoint", [&] { return inner_->Checkpoint(); }); }
  Result<store::OutcomeCounts> Counts() override {
    return Pass("Counts", [&] { return inner_->Counts(); });
  }
  void CrashPoint(const char* name) override { inner_->CrashPoint(name); }

 private:
  // Counts the call, and fails it (without reaching the inner store) once its turn has come.
  template <typename Call>
  auto Pass(const char* name, Call call) -> decltype(call()) {
    ++faults_->calls;
    const bool counts = faults_->fail_at.empty() || faults_->fail_at == name;
    if (faults_->fail_after > 0) {
      if (counts) --faults_->fail_after;
    } else if (faults_->fail_after == 0 && counts) {
      faults_->fail_at.clear();
      ++faults_->failed;
      if (faults_->first_failed.empty()) faults_->first_failed = name;
      return Status::IoError(std::string("injected fault: the store failed ") + name);
    }
    return call();
  }

  std::unique_ptr<Store> inner_;
  std::shared_ptr<StoreFaults> faults_;
};

}  // namespace

std::unique_ptr<store::Store> WrapFaulty(std::unique_ptr<store::Store> inner,
                                         std::shared_ptr<StoreFaults> faults) {
  return std::make_unique<FaultyStore>(std::move(inner), std::move(faults));
}

}  // namespace takt::test
