// The Store interface's contract (engine/store/store.h), run against every implementation
// (SQLite, and the memory store that is its reference): a store for another database passes
// these cases before the engine runs on it. Each case goes
// through the interface only, and reopens the store where it asks what survives a close.
#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/store/memory_store.h"
#include "engine/store/sqlite_store.h"
#include "engine/store/store.h"
#include "engine/store/write_behind_store.h"
#include "store/store_support.h"

namespace takt::store {
namespace {

using test::TempDir;

struct Implementation {
  const char* name;
  // Opens the store kept in `dir`: an empty one when `fresh`, else the one kept there.
  std::function<Result<std::unique_ptr<Store>>(const std::string& dir, bool fresh)> open;
};

void PrintTo(const Implementation& i, std::ostream* os) { *os << i.name; }

const Implementation kSqlite{
    "sqlite", [](const std::string& dir, bool) -> Result<std::unique_ptr<Store>> {
      StoreOptions options;
      options.path = dir + "/takt.db";
      options.durability = Durability::kNormal;
      Result<std::unique_ptr<SqliteStore>> opened = OpenSqliteStore(options);
      if (!opened.ok()) return opened.status();
      return std::unique_ptr<Store>(std::move(opened).value());
    }};

// A memory store "reopened" on the same directory finds what was committed there.
const Implementation kMemory{
    "memory", [](const std::string& dir, bool fresh) -> Result<std::unique_ptr<Store>> {
      static std::map<std::string, std::shared_ptr<MemoryStoreData>> kept;
      std::shared_ptr<MemoryStoreData>& data = kept[dir];
      if (data == nullptr || fresh) data = NewMemoryStoreData();
      return OpenMemoryStore(data);
    }};

// The same two under a write-behind store (write_behind_store.h), as the engine runs SQLite.
Implementation WrittenBehind(const char* name, const Implementation& inner) {
  return {name, [inner](const std::string& dir, bool fresh) -> Result<std::unique_ptr<Store>> {
            Result<std::unique_ptr<Store>> opened = inner.open(dir, fresh);
            if (!opened.ok()) return opened.status();
            return WriteBehind(std::move(opened).value());
          }};
}

class StoreConformanceTest : public testing::TestWithParam<Implementation> {
 protected:
  StoreConformanceTest() : dir_("conformance") {}
  void SetUp() override { Reopen(/*fresh=*/true); }
  // Closes the store (if open) and opens it again on the same directory (`fresh`: empty).
  void Reopen(bool fresh = false) {
    store_.reset();
    Result<std::unique_ptr<Store>> opened = GetParam().open(dir_.path(), fresh);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    store_ = std::move(opened).value();
  }
  // Runs `write` between Begin() and Commit().
  void Batch(const std::function<void(Store&)>& write) {
    ASSERT_TRUE(store_->Begin().ok());
    write(*store_);
    ASSERT_TRUE(store_->Commit().ok());
  }
  // An accepted event of `key` at `pos`, its id "e<pos>" (kept alive in `ids_`).
  EventRow Event(int64_t pos, std::string_view key, Outcome outcome = Outcome::kApplied) {
    ids_.push_back("e" + std::to_string(pos));
    EventRow row;
    row.pos = pos;
    row.id = ids_.back();
    row.source = "mes";
    row.type = "order.started";
    row.key = key;
    row.seq = pos;
    row.ts = pos * 1000;
    row.envelope = true;
    row.outcome = outcome;
    row.body = "{}";
    return row;
  }
  static InstanceRow Instance(std::string_view key, std::string_view state, bool final,
                              int64_t pos) {
    InstanceRow row;
    row.workflow = "production_order";
    row.key = key;
    row.version = "v1";
    row.state = state;
    row.final = final;
    row.variables = R"({"asset":"A1"})";
    row.indexed_at = "[]";
    row.timers = "[]";
    row.created_pos = 1;
    row.updated_pos = pos;
    return row;
  }
  static CommandRow Command(std::string_view id, int64_t pos) {
    CommandRow row;
    row.id = id;
    row.name = "odoo.maintenance.create";
    row.payload = R"({"asset":"A1"})";
    row.caused_by = "e1";
    row.emitted_by = "rule r";
    row.status = "pending";
    row.pos = pos;
    return row;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
  std::vector<std::string> ids_;
};

TEST_P(StoreConformanceTest, AnIdIsRememberedOnceAndARolledBackBatchLeavesNothing) {
  Batch([&](Store& s) {
    EXPECT_TRUE(s.RememberId("e1", 1).value());
    EXPECT_FALSE(s.RememberId("e1", 2).value()) << "a second time is a duplicate";
    EXPECT_TRUE(s.AppendEvent(Event(1, "MO-1")).ok());
  });
  ASSERT_TRUE(store_->Begin().ok());
  EXPECT_TRUE(store_->RememberId("e2", 2).value());
  EXPECT_TRUE(store_->AppendEvent(Event(2, "MO-2")).ok());
  EXPECT_TRUE(store_->PutInstance(Instance("MO-2", "released", false, 2)).ok());
  EXPECT_TRUE(store_->AddCommand(Command("e2/wf/1", 2)).ok());
  store_->Rollback();

  Reopen();
  Batch([&](Store& s) {
    EXPECT_FALSE(s.RememberId("e1", 3).value()) << "committed: remembered after a reopen";
    EXPECT_TRUE(s.RememberId("e2", 3).value()) << "rolled back: never remembered";
  });
  OutcomeCounts counts = store_->Counts().value();
  EXPECT_EQ(counts.by_outcome[static_cast<int>(Outcome::kApplied)], 1u);
  EXPECT_EQ(counts.commands, 0u);
  EXPECT_EQ(counts.last_pos, 1u);
  EXPECT_FALSE(
      store_->LoadInstance("production_order", "MO-2", [](const InstanceRow&) { return Status(); })
          .value());
}

TEST_P(StoreConformanceTest, InstancesAreReadBackWholeOpenOnesApart) {
  Batch([&](Store& s) {
    EXPECT_TRUE(s.PutInstance(Instance("MO-2", "executing", false, 5)).ok());
    EXPECT_TRUE(s.PutInstance(Instance("MO-1", "completed", true, 4)).ok());
    EXPECT_TRUE(s.PutInstance(Instance("MO-3", "released", false, 3)).ok());
  });
  Batch(
      [&](Store& s) { EXPECT_TRUE(s.PutInstance(Instance("MO-3", "executing", false, 6)).ok()); });
  Reopen();

  std::vector<std::string> all;
  ASSERT_TRUE(store_
                  ->ForEachInstance([&](const InstanceRow& r) {
                    all.push_back(std::string(r.key) + ":" + std::string(r.state));
                    return Status();
                  })
                  .ok());
  EXPECT_EQ(all, (std::vector<std::string>{"MO-1:completed", "MO-2:executing", "MO-3:executing"}));
  std::vector<std::string> open;
  ASSERT_TRUE(store_
                  ->ForEachOpenInstance([&](const InstanceRow& r) {
                    open.emplace_back(r.key);
                    return Status();
                  })
                  .ok());
  EXPECT_EQ(open.size(), 2u);
  std::vector<std::string> latest;
  ASSERT_TRUE(store_
                  ->ForEachOpenInstance(
                      [&](const InstanceRow& r) {
                        latest.emplace_back(r.key);
                        return Status();
                      },
                      1)
                  .ok());
  EXPECT_EQ(latest, std::vector<std::string>{"MO-3"}) << "the one last updated";

  std::string variables;
  ASSERT_TRUE(store_
                  ->LoadInstance("production_order", "MO-2",
                                 [&](const InstanceRow& r) {
                                   variables = std::string(r.variables);
                                   EXPECT_EQ(r.version, "v1");
                                   EXPECT_EQ(r.updated_pos, 5);
                                   EXPECT_FALSE(r.final);
                                   return Status();
                                 })
                  .value());
  EXPECT_EQ(variables, R"({"asset":"A1"})");
  Result<std::vector<Store::InstanceTotals>> totals = store_->InstanceTotalsByWorkflow();
  ASSERT_TRUE(totals.ok());
  ASSERT_EQ(totals.value().size(), 1u);
  EXPECT_EQ(totals.value()[0].open_count, 2u);
  EXPECT_EQ(totals.value()[0].final_count, 1u);
  EXPECT_EQ(store_->OpenVersions().value(),
            (std::vector<std::pair<std::string, std::string>>{{"production_order", "v1"}}));
}

TEST_P(StoreConformanceTest, SequencesAndRuleStateKeepTheirLatestValue) {
  Batch([&](Store& s) {
    SequenceRow row{"scada", "A1", 7, 1, 0, 8, 7, 7};
    EXPECT_TRUE(s.PutSequence(row).ok());
    EXPECT_TRUE(s.PutRuleState("r1", "A1", "state-1", 1).ok());
  });
  Batch([&](Store& s) {
    SequenceRow row{"scada", "A1", 9, 2, 1, 10, 9, 9};
    EXPECT_TRUE(s.PutSequence(row).ok());
    EXPECT_TRUE(s.PutRuleState("r1", "A1", "state-2", 2).ok());
    EXPECT_TRUE(s.PutRuleState("r0", "B2", "other", 2).ok());
  });
  Reopen();
  SequenceRow row;
  ASSERT_TRUE(store_->LoadSequence("scada", "A1", row).value());
  EXPECT_EQ(row.last_seq, 9);
  EXPECT_EQ(row.gaps, 2);
  EXPECT_EQ(row.late, 1);
  EXPECT_EQ(row.next_seq, 10);
  EXPECT_EQ(row.last_accepted, 9);
  EXPECT_FALSE(store_->LoadSequence("scada", "A2", row).value());
  const Store::SequenceTotals totals = store_->SequenceTotalsOfAll().value();
  EXPECT_EQ(totals.count, 1u);
  EXPECT_EQ(totals.gaps, 2u);
  std::vector<std::string> states;
  ASSERT_TRUE(store_
                  ->ForEachRuleState(
                      [&](std::string_view rule, std::string_view key, std::string_view state) {
                        states.push_back(std::string(rule) + "/" + std::string(key) + "=" +
                                         std::string(state));
                        return Status();
                      })
                  .ok());
  EXPECT_EQ(states, (std::vector<std::string>{"r0/B2=other", "r1/A1=state-2"}));
}

TEST_P(StoreConformanceTest, TheOutboxOffersPendingCommandsInOrderUntilDeliveredOrDead) {
  Batch([&](Store& s) {
    for (const char* id : {"c1", "c2", "c3"}) EXPECT_TRUE(s.AddCommand(Command(id, 1)).ok());
    EXPECT_EQ(s.AddCommand(Command("c1", 1)).code(), Code::kAlreadyExists);
  });
  const auto pending = [&](size_t max) {
    std::vector<std::string> ids;
    EXPECT_TRUE(
        store_->ForEachPendingCommand(max, [&](const CommandRow& r) { ids.emplace_back(r.id); })
            .ok());
    return ids;
  };
  EXPECT_EQ(pending(2), (std::vector<std::string>{"c1", "c2"}));
  EXPECT_TRUE(store_->MarkFailed("c1", "connection refused", /*give_up=*/false, std::nullopt).ok());
  EXPECT_EQ(pending(10), (std::vector<std::string>{"c1", "c2", "c3"})) << "a retry stays pending";
  EXPECT_TRUE(store_->MarkDelivered("c1").ok());
  EXPECT_TRUE(store_->MarkDelivered("c1").ok()) << "delivering a delivered command again is fine";
  EXPECT_TRUE(store_->MarkFailed("c2", "access denied", /*give_up=*/true, std::nullopt).ok());
  EXPECT_EQ(store_->MarkFailed("c2", "again", false, std::nullopt).code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->MarkDelivered("nope").code(), Code::kNotFound);
  Reopen();
  EXPECT_EQ(pending(10), std::vector<std::string>{"c3"});
  std::vector<std::string> all;
  ASSERT_TRUE(store_
                  ->ForEachCommand([&](const CommandRow& r) {
                    all.push_back(std::string(r.id) + ":" + std::string(r.status) + ":" +
                                  std::to_string(r.attempts) + ":" + std::string(r.last_error));
                  })
                  .ok());
  EXPECT_EQ(all, (std::vector<std::string>{"c1:delivered:2:connection refused",
                                           "c2:dead:1:access denied", "c3:pending:0:"}));
}

// The delivery lifecycle as the dispatcher drives it: in flight, waiting to retry at a time,
// delivered or dead; a dead letter revived or dropped; all of it durable, with each command's
// ordering key.
TEST_P(StoreConformanceTest, EachCommandsDeliveryStateSurvivesAReopen) {
  Batch([&](Store& s) {
    for (const char* id : {"c1", "c2", "c3", "c4"}) {
      CommandRow row = Command(id, 1);
      row.key = id[1] == '1' || id[1] == '2' ? "MO-1" : "A07";
      EXPECT_TRUE(s.AddCommand(row).ok());
    }
  });
  EXPECT_TRUE(store_->MarkInFlight("c1", 1000).ok());
  EXPECT_TRUE(store_->MarkFailed("c1", "HTTP 503", /*give_up=*/false, 3000).ok());
  EXPECT_TRUE(store_->MarkInFlight("c1", 3000).ok());  // the second try keeps the first's time
  EXPECT_TRUE(store_->MarkInFlight("c2", 1500).ok());  // then the process stopped
  EXPECT_TRUE(store_->MarkInFlight("c3", 1600).ok());
  EXPECT_TRUE(store_->MarkFailed("c3", "HTTP 400: bad asset", /*give_up=*/true, 9999).ok());
  EXPECT_TRUE(store_->MarkFailed("c4", "refused", /*give_up=*/false, 5000).ok());
  Reopen();
  std::vector<std::string> waiting;
  ASSERT_TRUE(store_
                  ->ForEachPendingCommand(10,
                                          [&](const CommandRow& r) {
                                            waiting.push_back(
                                                std::string(r.id) + ":" + std::string(r.status) +
                                                ":" + std::string(r.key) + ":" +
                                                std::to_string(r.attempts) + ":" +
                                                std::to_string(r.next_attempt_at.value_or(-1)) +
                                                ":" +
                                                std::to_string(r.first_attempt_at.value_or(-1)));
                                          })
                  .ok());
  EXPECT_EQ(waiting, (std::vector<std::string>{"c1:in_flight:MO-1:1:3000:1000",
                                               "c2:in_flight:MO-1:0:-1:1500",
                                               "c4:retry:A07:1:5000:-1"}));
  std::vector<std::string> dead;
  const auto read_dead = [&] {
    dead.clear();
    EXPECT_TRUE(store_
                    ->ForEachDeadCommand(10,
                                         [&](const CommandRow& r) {
                                           dead.push_back(std::string(r.id) + ":" +
                                                          std::string(r.last_error));
                                         })
                    .ok());
  };
  read_dead();
  EXPECT_EQ(dead, std::vector<std::string>{"c3:HTTP 400: bad asset"});
  EXPECT_EQ(store_->ReviveDead("c1").code(), Code::kInvalidArgument) << "c1 is not dead";
  EXPECT_TRUE(store_->ReviveDead("c3").ok());
  read_dead();
  EXPECT_TRUE(dead.empty());
  EXPECT_TRUE(store_->MarkFailed("c3", "HTTP 400 again", /*give_up=*/true, std::nullopt).ok());
  EXPECT_TRUE(store_->DropDead("c3").ok());
  EXPECT_EQ(store_->DropDead("c3").code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->MarkInFlight("c3", 1).code(), Code::kInvalidArgument) << "dropped for good";
  Reopen();
  read_dead();
  EXPECT_TRUE(dead.empty());
}

TEST_P(StoreConformanceTest, DefinitionsAndCursorsAreReadBackAsWritten) {
  InputCursor cursor;
  cursor.name = "events.jsonl";
  cursor.position = 2;
  cursor.bytes = 20;
  cursor.sha256 = std::string(64, 'a');
  cursor.line_checks = std::string(16, 'x');
  Batch([&](Store& s) {
    EXPECT_TRUE(s.PutDefinition("h1", "workflow", "production_order", "order.takt", "text",
                                R"([["plant.takt","decls"]])", 1)
                    .ok());
    EXPECT_TRUE(s.SetCursor(cursor).ok());
  });
  cursor.position = 3;
  cursor.bytes = 30;
  cursor.line_checks = std::string(8, 'y');
  Batch([&](Store& s) { EXPECT_TRUE(s.SetCursor(cursor).ok()); });
  Reopen();
  Result<StoredDefinition> d = store_->Definition("h1");
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d.value().kind, "workflow");
  EXPECT_EQ(d.value().name, "production_order");
  EXPECT_EQ(d.value().file, "order.takt");
  EXPECT_EQ(d.value().text, "text");
  EXPECT_EQ(d.value().imports, R"([["plant.takt","decls"]])");
  EXPECT_EQ(store_->Definition("h2").status().code(), Code::kNotFound);
  Result<InputCursor> read = store_->Cursor("events.jsonl");
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(read.value().position, 3u);
  EXPECT_EQ(read.value().bytes, 30u);
  EXPECT_EQ(read.value().line_checks, std::string(16, 'x') + std::string(8, 'y'))
      << "every line's check, across commits";
  EXPECT_EQ(store_->Cursor("other").value().position, 0u);
}

TEST_P(StoreConformanceTest, HeldEventsComeBackUntilReleased) {
  Batch([&](Store& s) {
    EXPECT_TRUE(s.AppendEvent(Event(1, "A1")).ok());
    EXPECT_TRUE(s.AppendEvent(Event(2, "A1", Outcome::kHeld)).ok());
    EXPECT_TRUE(s.Hold(2).ok());
    EXPECT_TRUE(s.AppendEvent(Event(3, "A1", Outcome::kHeld)).ok());
    EXPECT_TRUE(s.Hold(3).ok());
  });
  EXPECT_EQ(store_->AppliedClock().value(), 1000) << "held events have not reached a workflow";
  Batch([&](Store& s) {
    EXPECT_TRUE(s.AppendEvent(Event(4, "A1")).ok());
    EXPECT_TRUE(s.Release(3, Outcome::kApplied, 4).ok());
  });
  Reopen();
  std::vector<int64_t> held;
  ASSERT_TRUE(store_->ForEachHeld([&](const HeldRow& r) { held.push_back(r.pos); }).ok());
  EXPECT_EQ(held, std::vector<int64_t>{2});
  EXPECT_EQ(store_->AppliedClock().value(), 4000);
  const OutcomeCounts counts = store_->Counts().value();
  EXPECT_EQ(counts.by_outcome[static_cast<int>(Outcome::kApplied)], 3u) << "1, 4, and 3 released";
  EXPECT_EQ(counts.by_outcome[static_cast<int>(Outcome::kHeld)], 1u);
}

TEST_P(StoreConformanceTest, TimersAndIndexValuesAreFoundByTimeAndValue) {
  Batch([&](Store& s) {
    InstanceRow a = Instance("MO-1", "inspecting", false, 1);
    a.next_due = 5000;
    InstanceRow b = Instance("MO-2", "inspecting", false, 2);
    b.next_due = 9000;
    EXPECT_TRUE(s.PutInstance(a).ok());
    EXPECT_TRUE(s.PutInstance(b).ok());
    EXPECT_TRUE(s.PutIndexValue("production_order", "MO-1", "asset", R"("A1")", 10).ok());
    EXPECT_TRUE(s.PutIndexValue("production_order", "MO-2", "asset", R"("A1")", 20).ok());
  });
  std::vector<std::string> due;
  ASSERT_TRUE(
      store_
          ->ForEachDue(6000, [&](std::string_view, std::string_view key) { due.emplace_back(key); })
          .ok());
  EXPECT_EQ(due, std::vector<std::string>{"MO-1"});
  EXPECT_EQ(store_->NextDueAfter(6000).value(), std::optional<int64_t>(9000));
  EXPECT_EQ(store_->NextDueAfter(9000).value(), std::nullopt);
  const auto holders = [&] {
    std::vector<std::string> keys;
    EXPECT_TRUE(store_
                    ->ForEachIndexed("production_order", "asset", R"("A1")",
                                     [&](std::string_view key, uint64_t) {
                                       keys.emplace_back(key);
                                       return true;
                                     })
                    .ok());
    return keys;
  };
  EXPECT_EQ(holders(), (std::vector<std::string>{"MO-2", "MO-1"})) << "latest first";
  Batch([&](Store& s) { EXPECT_TRUE(s.DropIndexValues("production_order", "MO-2").ok()); });
  EXPECT_EQ(holders(), std::vector<std::string>{"MO-1"});
  Batch([&](Store& s) { EXPECT_TRUE(s.ClearIndexValues().ok()); });
  EXPECT_TRUE(holders().empty());
}

INSTANTIATE_TEST_SUITE_P(Implementations, StoreConformanceTest,
                         testing::Values(kSqlite, kMemory,
                                         WrittenBehind("sqlite_write_behind", kSqlite),
                                         WrittenBehind("memory_write_behind", kMemory)),
                         [](const testing::TestParamInfo<Implementation>& param) {
                           return std::string(param.param.name);
                         });

}  // namespace
}  // namespace takt::store
