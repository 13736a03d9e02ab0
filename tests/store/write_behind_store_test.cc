// The write-behind store (engine/store/write_behind_store.h) on SQLite: what a queued row's
// failure does (the conformance and fault suites run it otherwise), that the rows reach the
// database in the order given, chain and all, and that reads and writes beside the queue go on
// while it is written.
#include <gtest/gtest.h>

#include <deque>
#include <filesystem>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "engine/store/sqlite_store.h"
#include "engine/store/write_behind_store.h"
#include "store/store_support.h"

namespace takt::store {
namespace {

std::unique_ptr<Store> OpenSqlite(const std::string& dir) {
  StoreOptions options;
  options.path = dir + "/takt.db";
  options.durability = Durability::kNormal;
  Result<std::unique_ptr<SqliteStore>> opened = OpenSqliteStore(options);
  EXPECT_TRUE(opened.ok()) << opened.status().message();
  return opened.ok() ? std::move(opened).value() : nullptr;
}

class WriteBehindStoreTest : public testing::Test {
 protected:
  WriteBehindStoreTest() : dir_("write-behind") {}

  // An event row at `pos`, its text kept in `texts_` (a row's views must outlive the call only;
  // a deque's elements stay where they are).
  EventRow Event(int64_t pos) {
    texts_.push_back("e" + std::to_string(pos));
    EventRow row;
    row.pos = pos;
    row.id = texts_.back();
    row.source = "mes";
    row.type = "order.started";
    row.key = "MO-1";
    row.seq = pos;
    row.ts = pos * 1000;
    row.envelope = true;
    texts_.push_back(R"({"id":"e)" + std::to_string(pos) + "\"}");
    row.body = texts_.back();
    return row;
  }
  static AuditRow Audit(int64_t pos, const std::string& detail) {
    AuditRow row;
    row.pos = pos;
    row.at = pos * 1000;
    row.kind = "command";
    row.key = "MO-1";
    row.detail = detail;
    return row;
  }

  test::TempDir dir_;
  std::deque<std::string> texts_;
};

TEST_F(WriteBehindStoreTest, AQueuedRowThatFailsFailsTheBatchAndNothingAfterItIsWritten) {
  std::unique_ptr<Store> store = WriteBehind(OpenSqlite(dir_.path()));
  ASSERT_TRUE(store->Begin().ok());
  ASSERT_TRUE(store->AppendEvent(Event(1)).ok());
  // The log's position is its primary key: the second row at 1 fails, on the writer's thread.
  // The call that queued it cannot know; a later one says so, the commit at the latest.
  (void)store->AppendEvent(Event(1));
  (void)store->AppendEvent(Event(2));
  Status committed = store->Commit();
  ASSERT_FALSE(committed.ok()) << "a failed row went unnoticed";
  EXPECT_NE(committed.message().find("UNIQUE"), std::string::npos) << committed.message();
  store->Rollback();
  EXPECT_EQ(store->Counts().value().last_pos, 0u) << "nothing of the batch is kept";

  // Rolled back, the store takes the next batch as if the failure had never been.
  ASSERT_TRUE(store->Begin().ok());
  ASSERT_TRUE(store->AppendEvent(Event(1)).ok());
  ASSERT_TRUE(store->AppendEvent(Event(2)).ok());
  ASSERT_TRUE(store->Commit().ok());
  const OutcomeCounts counts = store->Counts().value();
  EXPECT_EQ(counts.last_pos, 2u);
  EXPECT_EQ(counts.by_outcome[static_cast<int>(Outcome::kApplied)], 2u);
}

TEST_F(WriteBehindStoreTest, ABatchThatFillsTheDiskLeavesNothingOfWhatWasWrittenBesideIt) {
  // A full database makes SQLite roll the whole transaction back by itself. The writer's row
  // fails so while the engine goes on writing beside it: those writes must not be committed one
  // by one outside the batch, and the error names the cause.
  StoreOptions options;
  options.path = dir_.path() + "/takt.db";
  options.durability = Durability::kNormal;
  options.max_bytes = 256 * 1024;
  Result<std::unique_ptr<SqliteStore>> opened = OpenSqliteStore(options);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  std::unique_ptr<Store> store = WriteBehind(std::move(opened).value());
  ASSERT_TRUE(store->Begin().ok());
  EventRow huge = Event(1);
  texts_.push_back(std::string(1 << 20, 'x'));
  huge.body = texts_.back();
  ASSERT_TRUE(store->AppendEvent(huge).ok());  // fails later, on the writer's thread
  InstanceRow instance;
  instance.workflow = "production_order";
  instance.key = "MO-1";
  instance.version = "v1";
  instance.state = "released";
  instance.variables = "{}";
  instance.indexed_at = "[]";
  instance.timers = "[]";
  Status status = store->PutInstance(instance);  // the end of the batch: the writer is woken
  std::vector<std::string> ids;
  for (int i = 0; i < 2000 && status.ok(); ++i) {
    ids.push_back("c" + std::to_string(i));
    CommandRow command;
    command.id = ids.back();
    command.name = "odoo.maintenance.create";
    command.payload = "{}";
    command.caused_by = "e1";
    command.emitted_by = "rule r";
    command.status = "pending";
    command.pos = 1;
    status = store->AddCommand(command);
    if (status.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_FALSE(status.ok()) << "writes went on after the batch was rolled back";
  EXPECT_NE(status.message().find("full"), std::string::npos) << status.message();
  EXPECT_FALSE(store->Commit().ok());
  store->Rollback();
  store.reset();
  EXPECT_EQ(test::Dump(options.path, "SELECT (SELECT count(*) FROM events), "
                                     "(SELECT count(*) FROM outbox), "
                                     "(SELECT count(*) FROM instances)"),
            "0|0|0\n");
}

TEST_F(WriteBehindStoreTest, TheChainIsTheOneTheStoreUnderneathWritesByItself) {
  // Many rows, more than the writer is woken for at once, events and audit rows interleaved,
  // with ids remembered beside them: the same database, hashes and all, as SQLite written
  // directly.
  const auto write = [&](Store& store) {
    for (int64_t batch = 0; batch < 5; ++batch) {
      ASSERT_TRUE(store.Begin().ok());
      for (int64_t i = 1; i <= 150; ++i) {
        const int64_t pos = batch * 150 + i;
        EventRow row = Event(pos);
        ASSERT_TRUE(store.RememberId(row.id, pos).value());
        ASSERT_TRUE(store.AppendEvent(row).ok());
        if (pos % 3 == 0) {
          ASSERT_TRUE(store.AddAudit(Audit(pos, "detail " + std::to_string(pos))).ok());
        }
      }
      ASSERT_TRUE(store.Commit().ok());
    }
  };
  std::filesystem::create_directories(dir_.path() + "/direct");
  std::filesystem::create_directories(dir_.path() + "/behind");
  std::unique_ptr<Store> direct = OpenSqlite(dir_.path() + "/direct");
  std::unique_ptr<Store> behind = WriteBehind(OpenSqlite(dir_.path() + "/behind"));
  ASSERT_NE(direct, nullptr);
  write(*direct);
  write(*behind);
  for (Store* store : {direct.get(), behind.get()}) {
    EXPECT_EQ(store->Counts().value().last_pos, 750u);
  }
  direct.reset();
  behind.reset();
  const std::string written = test::DumpAll(dir_.path() + "/behind/takt.db");
  EXPECT_EQ(written, test::DumpAll(dir_.path() + "/direct/takt.db"));
  EXPECT_NE(written.find("detail 750"), std::string::npos);
}

}  // namespace
}  // namespace takt::store
