// Each table of the SQLite schema as an ordered container keyed as its primary key, so that
// visits come out in the order the interface promises without sorting.
#include "engine/store/memory_store.h"

#include <algorithm>
#include <climits>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace takt::store {

struct StoredEvent {
  std::string id, source, type, key, reason, body;
  int64_t seq = 0, ts = 0;
  Outcome outcome = Outcome::kApplied;
};

struct StoredInstance {
  std::string version, state, variables, indexed_at, timers;
  bool final = false;
  int64_t created_pos = 0, updated_pos = 0;
  std::optional<int64_t> next_due;
  std::optional<int64_t> overdue_since;
};

struct StoredCommand {
  std::string id, name, payload, caused_by, emitted_by, status, last_error, key;
  int64_t pos = 0, attempts = 0;
  std::optional<int64_t> next_attempt_at, first_attempt_at;
};

// Waiting for delivery: what ForEachPendingCommand() offers and a delivery may change.
bool Undelivered(const StoredCommand& c) {
  return c.status == "pending" || c.status == "in_flight" || c.status == "retry";
}
bool Dead(const StoredCommand& c) { return c.status == "dead"; }

struct HeldState {
  std::optional<int64_t> released_pos;
  Outcome outcome = Outcome::kHeld;
};

struct StoredSequence {
  int64_t last_seq = 0, gaps = 0, late = 0, next_seq = 1, last_pos = 0, last_accepted = 0;
};

struct IndexEntry {
  std::string value;
  uint64_t at = 0;
};

using Key2 = std::pair<std::string, std::string>;

struct MemoryStoreData {
  std::map<std::string, int64_t, std::less<>> inbox;
  std::map<int64_t, StoredEvent> events;
  std::map<int64_t, HeldState> held;
  std::map<Key2, StoredInstance> instances;  // (workflow, key)
  std::map<Key2, std::string> rule_state;    // (rule, key)
  std::map<Key2, StoredSequence> sequences;  // (source, key)
  std::vector<StoredCommand> outbox;         // in emission order
  std::map<std::string, StoredDefinition, std::less<>> definitions;
  std::map<std::string, InputCursor, std::less<>> cursors;
  std::map<std::tuple<std::string, std::string, std::string>, IndexEntry> index;  // wf, key, var
  std::vector<AuditRow> audit_rows;  // positions only; the hash chain is SQLite's (audit.h)
};

std::shared_ptr<MemoryStoreData> NewMemoryStoreData() {
  return std::make_shared<MemoryStoreData>();
}

namespace {

Key2 K(std::string_view a, std::string_view b) { return {std::string(a), std::string(b)}; }

InstanceRow RowOf(const Key2& id, const StoredInstance& i) {
  InstanceRow row;
  row.workflow = id.first;
  row.key = id.second;
  row.version = i.version;
  row.state = i.state;
  row.final = i.final;
  row.variables = i.variables;
  row.indexed_at = i.indexed_at;
  row.timers = i.timers;
  row.created_pos = i.created_pos;
  row.updated_pos = i.updated_pos;
  row.next_due = i.next_due;
  row.overdue_since = i.overdue_since;
  return row;
}

CommandRow RowOf(const StoredCommand& c) {
  CommandRow row;
  row.id = c.id;
  row.name = c.name;
  row.payload = c.payload;
  row.caused_by = c.caused_by;
  row.emitted_by = c.emitted_by;
  row.status = c.status;
  row.pos = c.pos;
  row.attempts = c.attempts;
  row.last_error = c.last_error;
  row.key = c.key;
  row.next_attempt_at = c.next_attempt_at;
  row.first_attempt_at = c.first_attempt_at;
  return row;
}

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(std::shared_ptr<MemoryStoreData> data) : committed_(std::move(data)) {}
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  Status Begin() override {
    if (staged_) return Status::InvalidArgument("a batch is already open");
    staged_ = std::make_unique<MemoryStoreData>(*committed_);
    return Status();
  }
  Status Commit() override {
    if (!staged_) return Status::InvalidArgument("no batch is open");
    *committed_ = std::move(*staged_);
    staged_.reset();
    return Status();
  }
  void Rollback() override { staged_.reset(); }
  uint64_t DurabilityTicket() override { return 0; }
  uint64_t OutboxTicket() override { return 0; }
  std::shared_ptr<WalSync> wal_sync() const override { return nullptr; }

  Result<bool> RememberId(std::string_view id, int64_t pos) override {
    return d().inbox.emplace(std::string(id), pos).second;
  }
  Status AppendEvent(const EventRow& row) override {
    StoredEvent e{std::string(row.id),
                  std::string(row.source),
                  std::string(row.type),
                  std::string(row.key),
                  std::string(row.reason),
                  std::string(row.body),
                  row.seq,
                  row.ts,
                  row.outcome};
    if (!d().events.emplace(row.pos, std::move(e)).second) {
      return Status::AlreadyExists("an event at position " + std::to_string(row.pos));
    }
    return Status();
  }
  Status PutInstance(const InstanceRow& row) override {
    d().instances[K(row.workflow, row.key)] = StoredInstance{std::string(row.version),
                                                             std::string(row.state),
                                                             std::string(row.variables),
                                                             std::string(row.indexed_at),
                                                             std::string(row.timers),
                                                             row.final,
                                                             row.created_pos,
                                                             row.updated_pos,
                                                             row.next_due,
                                                             row.overdue_since};
    return Status();
  }
  Status PutRuleState(std::string_view rule, std::string_view key, std::string_view state,
                      int64_t) override {
    d().rule_state[K(rule, key)] = std::string(state);
    return Status();
  }
  Status PutSequence(const SequenceRow& row) override {
    d().sequences[K(row.source, row.key)] = StoredSequence{
        row.last_seq, row.gaps, row.late, row.next_seq, row.last_pos, row.last_accepted};
    return Status();
  }
  Status Hold(int64_t pos) override {
    d().held[pos] = HeldState{};
    return Status();
  }
  Status Release(int64_t pos, Outcome outcome, int64_t released_pos) override {
    auto held = d().held.find(pos);
    if (held == d().held.end()) return Status::NotFound("no held event at " + std::to_string(pos));
    held->second = HeldState{released_pos, outcome};
    return Status();
  }
  Status ForEachHeld(const std::function<void(const HeldRow&)>& visit) override {
    for (const auto& [pos, held] : d().held) {
      if (held.released_pos) continue;
      const StoredEvent& e = d().events.at(pos);
      visit(HeldRow{pos, e.source, e.key, e.id, e.body, e.seq, e.ts});
    }
    return Status();
  }
  Status AddCommand(const CommandRow& row) override {
    for (const StoredCommand& c : d().outbox) {
      if (c.id == row.id) {
        return Status::AlreadyExists("command id " + std::string(row.id) +
                                     " is in the outbox already");
      }
    }
    StoredCommand& c = d().outbox.emplace_back();
    c.id = row.id;
    c.name = row.name;
    c.payload = row.payload;
    c.caused_by = row.caused_by;
    c.emitted_by = row.emitted_by;
    c.status = row.status;
    c.key = row.key;
    c.pos = row.pos;
    return Status();
  }
  Status AddAudit(const AuditRow& row) override {
    d().audit_rows.push_back(AuditRow{row.pos, row.at, {}, {}, {}, {}, {}, {}, {}});
    return Status();
  }
  Status PutDefinition(std::string_view hash, std::string_view kind, std::string_view name,
                       std::string_view file, std::string_view text, std::string_view imports,
                       int64_t) override {
    d().definitions.emplace(
        std::string(hash), StoredDefinition{std::string(kind), std::string(name), std::string(file),
                                            std::string(text), std::string(imports)});
    return Status();
  }
  Result<StoredDefinition> Definition(std::string_view hash) override {
    auto found = d().definitions.find(hash);
    if (found == d().definitions.end()) {
      return Status::NotFound("no definition version " + std::string(hash));
    }
    return found->second;
  }
  Status SetCursor(const InputCursor& cursor) override {
    Result<int64_t> first_line = FirstCheckedLine(cursor);
    if (!first_line.ok()) return first_line.status();
    InputCursor& kept = d().cursors[cursor.name];
    std::string checks = std::move(kept.line_checks);
    checks.resize(std::min(checks.size(), static_cast<size_t>(first_line.value() - 1) *
                                              InputCursor::kLineCheckBytes));
    checks += cursor.line_checks;
    kept = cursor;
    kept.line_checks = std::move(checks);
    return Status();
  }
  Result<InputCursor> Cursor(std::string_view name) override {
    auto found = d().cursors.find(name);
    if (found != d().cursors.end()) return found->second;
    InputCursor none;
    none.name = std::string(name);
    return none;
  }

  Status ForEachOpenInstance(const std::function<Status(const InstanceRow&)>& visit,
                             uint64_t most_recent) override {
    std::vector<const std::pair<const Key2, StoredInstance>*> open;
    for (const auto& entry : d().instances) {
      if (!entry.second.final) open.push_back(&entry);
    }
    if (most_recent > 0 && open.size() > most_recent) {
      std::sort(open.begin(), open.end(), [](const auto* a, const auto* b) {
        return a->second.updated_pos > b->second.updated_pos;
      });
      open.resize(most_recent);
    }
    std::sort(open.begin(), open.end(), [](const auto* a, const auto* b) {
      return std::tie(a->first.first, a->second.created_pos) <
             std::tie(b->first.first, b->second.created_pos);
    });
    for (const auto* entry : open) TAKT_RETURN_IF_ERROR(visit(RowOf(entry->first, entry->second)));
    return Status();
  }
  Status ForEachInstance(const std::function<Status(const InstanceRow&)>& visit) override {
    for (const auto& [id, instance] : d().instances)
      TAKT_RETURN_IF_ERROR(visit(RowOf(id, instance)));
    return Status();
  }
  Result<bool> LoadInstance(std::string_view workflow, std::string_view key,
                            const std::function<Status(const InstanceRow&)>& visit) override {
    auto found = d().instances.find(K(workflow, key));
    if (found == d().instances.end()) return false;
    TAKT_RETURN_IF_ERROR(visit(RowOf(found->first, found->second)));
    return true;
  }
  Result<std::vector<InstanceTotals>> InstanceTotalsByWorkflow() override {
    std::vector<InstanceTotals> totals;
    for (const auto& [id, instance] : d().instances) {
      if (totals.empty() || totals.back().workflow != id.first) {
        totals.push_back(InstanceTotals{id.first, 0, 0, 0, 0});
      }
      InstanceTotals& t = totals.back();
      (instance.final ? t.final_count : t.open_count)++;
      if (instance.next_due) ++t.timed_count;
      const nlohmann::json at = nlohmann::json::parse(instance.indexed_at, nullptr, false);
      if (at.is_array()) {
        for (const nlohmann::json& v : at) {
          if (!v.is_number_unsigned()) continue;
          t.last_indexed_at = std::max(t.last_indexed_at, v.get<uint64_t>());
        }
      }
    }
    return totals;
  }
  Status PutIndexValue(std::string_view workflow, std::string_view key, std::string_view var,
                       std::string_view value, uint64_t at) override {
    d().index[{std::string(workflow), std::string(key), std::string(var)}] =
        IndexEntry{std::string(value), at};
    return Status();
  }
  Status DropIndexValues(std::string_view workflow, std::string_view key) override {
    auto& index = d().index;
    for (auto it = index.begin(); it != index.end();) {
      it = std::get<0>(it->first) == workflow && std::get<1>(it->first) == key ? index.erase(it)
                                                                               : std::next(it);
    }
    return Status();
  }
  Status ForEachIndexed(std::string_view workflow, std::string_view var, std::string_view value,
                        const std::function<bool(std::string_view, uint64_t)>& visit) override {
    std::vector<std::pair<uint64_t, const std::string*>> holders;
    for (const auto& [id, entry] : d().index) {
      if (std::get<0>(id) == workflow && std::get<2>(id) == var && entry.value == value) {
        holders.emplace_back(entry.at, &std::get<1>(id));
      }
    }
    std::stable_sort(holders.begin(), holders.end(),
                     [](const auto& a, const auto& b) { return a.first > b.first; });
    for (const auto& [at, key] : holders) {
      if (!visit(*key, at)) break;
    }
    return Status();
  }
  Status ForEachDue(int64_t now,
                    const std::function<void(std::string_view, std::string_view)>& visit) override {
    std::vector<std::pair<int64_t, const Key2*>> due;
    for (const auto& [id, instance] : d().instances) {
      if (instance.next_due && *instance.next_due <= now) due.emplace_back(*instance.next_due, &id);
    }
    std::stable_sort(due.begin(), due.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [at, id] : due) visit(id->first, id->second);
    return Status();
  }
  Result<std::optional<int64_t>> NextDueAfter(int64_t now) override {
    std::optional<int64_t> next;
    for (const auto& [id, instance] : d().instances) {
      if (instance.next_due && *instance.next_due > now && (!next || *instance.next_due < *next)) {
        next = instance.next_due;
      }
    }
    return next;
  }
  Status FillIndexValues(std::string_view workflow, std::string_view version, std::string_view var,
                         size_t slot) override {
    for (const auto& [id, instance] : d().instances) {
      if (id.first != workflow || instance.version != version || instance.final) continue;
      auto entry = std::make_tuple(id.first, id.second, std::string(var));
      if (d().index.count(entry) != 0) continue;
      const nlohmann::json vars = nlohmann::json::parse(instance.variables, nullptr, false);
      const nlohmann::json at = nlohmann::json::parse(instance.indexed_at, nullptr, false);
      const std::string value =
          vars.is_object() && vars.contains(var) ? vars[std::string(var)].dump() : "null";
      const uint64_t time = at.is_array() && slot < at.size() && at[slot].is_number_unsigned()
                                ? at[slot].get<uint64_t>()
                                : 0;
      d().index[entry] = IndexEntry{value, time};
    }
    return Status();
  }
  Status ClearIndexValues() override {
    d().index.clear();
    return Status();
  }
  Result<std::vector<std::pair<std::string, std::string>>> OpenVersions() override {
    std::vector<std::pair<std::string, std::string>> versions;
    for (const auto& [id, instance] : d().instances) {
      if (!instance.final) versions.emplace_back(id.first, instance.version);
    }
    std::sort(versions.begin(), versions.end());
    versions.erase(std::unique(versions.begin(), versions.end()), versions.end());
    return versions;
  }
  Status ForEachRuleState(const std::function<Status(std::string_view, std::string_view,
                                                     std::string_view)>& visit) override {
    for (const auto& [id, state] : d().rule_state)
      TAKT_RETURN_IF_ERROR(visit(id.first, id.second, state));
    return Status();
  }
  Result<bool> LoadSequence(std::string_view source, std::string_view key,
                            SequenceRow& row) override {
    auto found = d().sequences.find(K(source, key));
    if (found == d().sequences.end()) return false;
    const StoredSequence& s = found->second;
    row = SequenceRow{source, key,        s.last_seq, s.gaps,
                      s.late, s.next_seq, s.last_pos, s.last_accepted};
    return true;
  }
  Result<SequenceTotals> SequenceTotalsOfAll() override {
    SequenceTotals totals;
    for (const auto& [id, s] : d().sequences) {
      ++totals.count;
      totals.gaps += static_cast<uint64_t>(s.gaps);
      totals.late += static_cast<uint64_t>(s.late);
    }
    return totals;
  }
  Result<int64_t> AppliedClock() override {
    int64_t clock = INT64_MIN + 1;
    for (const auto& [pos, e] : d().events) {
      if (e.outcome == Outcome::kDuplicate || e.outcome == Outcome::kOwnershipViolation ||
          e.outcome == Outcome::kMalformed) {
        continue;
      }
      if (e.outcome == Outcome::kHeld) {
        auto held = d().held.find(pos);
        if (held == d().held.end() || !held->second.released_pos) continue;
      }
      clock = std::max(clock, e.ts);
    }
    return clock;
  }
  Status ForEachCommand(const std::function<void(const CommandRow&)>& visit) override {
    for (const StoredCommand& c : d().outbox) visit(RowOf(c));
    return Status();
  }
  Status ForEachPendingCommand(size_t max,
                               const std::function<void(const CommandRow&)>& visit) override {
    return VisitCommands(max, Undelivered, visit);
  }
  Status MarkInFlight(std::string_view id, int64_t now_ms) override {
    return ChangeDelivery(id, /*again_is_ok=*/false, [&](StoredCommand& c) {
      c.status = "in_flight";
      if (!c.first_attempt_at) c.first_attempt_at = now_ms;
    });
  }
  Status MarkDelivered(std::string_view id) override {
    return ChangeDelivery(id, /*again_is_ok=*/true, [](StoredCommand& c) {
      ++c.attempts;
      c.status = "delivered";
      c.next_attempt_at.reset();
    });
  }
  Status MarkFailed(std::string_view id, std::string_view error, bool give_up,
                    std::optional<int64_t> retry_at_ms) override {
    return ChangeDelivery(id, /*again_is_ok=*/false, [&](StoredCommand& c) {
      ++c.attempts;
      c.last_error = std::string(error);
      c.next_attempt_at = give_up ? std::nullopt : retry_at_ms;
      c.status = give_up ? "dead" : retry_at_ms ? "retry" : "pending";
    });
  }
  Status ForEachDeadCommand(size_t max,
                            const std::function<void(const CommandRow&)>& visit) override {
    return VisitCommands(max, Dead, visit);
  }
  Status ReviveDead(std::string_view id) override {
    return ChangeDead(id, [](StoredCommand& c) {
      c.status = "pending";
      c.next_attempt_at.reset();
      c.first_attempt_at.reset();
    });
  }
  Status DropDead(std::string_view id) override {
    return ChangeDead(id, [](StoredCommand& c) { c.status = "dropped"; });
  }
  Status Checkpoint() override { return Status(); }
  Result<OutcomeCounts> Counts() override {
    OutcomeCounts counts;
    for (const auto& [pos, e] : d().events) {
      Outcome outcome = e.outcome;
      auto held = d().held.find(pos);
      if (held != d().held.end() && held->second.released_pos) outcome = held->second.outcome;
      ++counts.by_outcome[static_cast<int>(outcome)];
      counts.last_pos = std::max(counts.last_pos, static_cast<uint64_t>(pos));
    }
    counts.commands = d().outbox.size();
    return counts;
  }

 private:
  // What a batch sees: its staged copy while one is open, else what is committed.
  MemoryStoreData& d() { return staged_ ? *staged_ : *committed_; }

  // The first `max` commands that `wanted` selects, in emission order.
  Status VisitCommands(size_t max, bool (*wanted)(const StoredCommand&),
                       const std::function<void(const CommandRow&)>& visit) {
    size_t given = 0;
    for (const StoredCommand& c : d().outbox) {
      if (given == max) break;
      if (!wanted(c)) continue;
      visit(RowOf(c));
      ++given;
    }
    return Status();
  }
  // Applies `change` to command `id` when `allowed` says it may change (`allowed_name` says
  // what it must be otherwise); a delivered one is fine again with `again_is_ok`.
  template <typename Change>
  Status ChangeCommand(std::string_view id, bool (*allowed)(const StoredCommand&),
                       const char* allowed_name, bool again_is_ok, Change change) {
    for (StoredCommand& c : d().outbox) {
      if (c.id != id) continue;
      if (allowed(c)) {
        change(c);
        return Status();
      }
      if (again_is_ok && c.status == "delivered") return Status();
      return Status::InvalidArgument("command " + c.id + " is " + c.status + ", not " +
                                     allowed_name);
    }
    return Status::NotFound("no command " + std::string(id) + " in the outbox");
  }
  template <typename Change>
  Status ChangeDelivery(std::string_view id, bool again_is_ok, Change change) {
    return ChangeCommand(id, Undelivered, "waiting for delivery", again_is_ok, change);
  }
  template <typename Change>
  Status ChangeDead(std::string_view id, Change change) {
    return ChangeCommand(id, Dead, "dead", /*again_is_ok=*/false, change);
  }

  std::shared_ptr<MemoryStoreData> committed_;
  std::unique_ptr<MemoryStoreData> staged_;
};

}  // namespace

std::unique_ptr<Store> OpenMemoryStore(std::shared_ptr<MemoryStoreData> data) {
  return std::make_unique<MemoryStore>(std::move(data));
}

}  // namespace takt::store
