// Background checkpoints: while commits go on, the WAL is copied back into the database file by
// the store's checkpointer thread and starts over, so it stays a small fraction of what was
// written; after Checkpoint() the automatic checkpoint keeps it bounded; nothing is lost.
#include "engine/store/checkpointer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "engine/store/sqlite_store.h"
#include "store/store_support.h"

namespace takt::store {
namespace {

using test::Dump;
using test::TempDir;

constexpr CheckpointPolicy kSmallWal{/*start_frames=*/200, /*finish_frames=*/100};

// Appends `batches` transactions of `per_batch` events with ids from `first`, and returns the
// largest size the WAL file had after a commit.
uint64_t WriteBatches(Store& store, const std::string& path, int64_t first, int batches,
                      int per_batch) {
  uint64_t wal_max = 0;
  int64_t pos = first;
  for (int b = 0; b < batches; ++b) {
    EXPECT_TRUE(store.Begin().ok());
    for (int i = 0; i < per_batch; ++i, ++pos) {
      const std::string id = "evt-" + std::to_string(pos);
      const std::string key = "MO-" + std::to_string(pos % 997);
      const std::string body = R"({"id":")" + id + R"(","payload":")" + std::string(200, 'x') +
                               R"("})";
      EXPECT_TRUE(store.RememberId(id, pos).value());
      EventRow row;
      row.pos = pos;
      row.id = id;
      row.source = "test";
      row.type = "order.progress";
      row.key = key;
      row.seq = pos;
      row.ts = pos;
      row.envelope = true;
      row.body = body;
      EXPECT_TRUE(store.AppendEvent(row).ok());
    }
    EXPECT_TRUE(store.Commit().ok());
    std::error_code error;
    const uint64_t wal = std::filesystem::file_size(path + "-wal", error);
    if (!error && wal > wal_max) wal_max = wal;
  }
  return wal_max;
}

// A store on `path` whose WAL limit is 200 pages, so that a test reaches it quickly.
std::unique_ptr<SqliteStore> OpenWithSmallWal(const std::string& path, Durability durability) {
  StoreOptions options;
  options.path = path;
  options.durability = durability;
  options.checkpoint = kSmallWal;
  Result<std::unique_ptr<SqliteStore>> store = OpenSqliteStore(options);
  EXPECT_TRUE(store.ok()) << store.status().message();
  return store.ok() ? std::move(store).value() : nullptr;
}

TEST(CheckpointerTest, TheWalStaysSmallWhileCommitsGoOn) {
  TempDir dir("checkpointer");
  const std::string path = dir.File("t.db");
  std::unique_ptr<SqliteStore> store = OpenWithSmallWal(path, Durability::kNormal);
  ASSERT_NE(store, nullptr);

  const uint64_t wal_max = WriteBatches(*store, path, 1, 800, 100);
  const CheckpointStats stats = store->checkpoint_stats();
  EXPECT_GT(stats.background_runs, 0u);
  EXPECT_GE(stats.wal_max_frames, kSmallWal.start_frames);
  // 80,000 events of about 300 bytes: some 24 MB went through the WAL, 30 times its limit.
  // Copied back and started over again and again, the WAL stays a fraction of that; how small
  // depends on how often the thread got a core, so the bound here is loose.
  EXPECT_GE(stats.wal_restarts, 3u);
  const uint64_t db_size = std::filesystem::file_size(path);
  EXPECT_GT(db_size, 12u << 20) << "the database file holds what the checkpoints copied";
  EXPECT_LT(wal_max, db_size / 2);

  ASSERT_TRUE(store->Checkpoint().ok());
  EXPECT_EQ(std::filesystem::file_size(path + "-wal"), 0u);
  EXPECT_EQ(Dump(path, "SELECT count(*), count(DISTINCT id), max(pos) FROM events"),
            "80000|80000|80000\n");
  EXPECT_EQ(test::IntegrityCheck(path), "ok");
}

TEST(CheckpointerTest, AfterCheckpointTheAutomaticCheckpointTakesOver) {
  TempDir dir("checkpointer-after");
  const std::string path = dir.File("t.db");
  std::unique_ptr<SqliteStore> store = OpenWithSmallWal(path, Durability::kFull);
  ASSERT_NE(store, nullptr);
  (void)WriteBatches(*store, path, 1, 20, 100);
  ASSERT_TRUE(store->Checkpoint().ok());

  // The thread is gone; SQLite copies the WAL back inside the commit that takes it over the
  // same limit, so it never grows much past the limit's 200 pages.
  const uint64_t wal_max = WriteBatches(*store, path, 2001, 200, 100);
  EXPECT_LT(wal_max, uint64_t{4} * 200 * 4096);
  EXPECT_EQ(Dump(path, "SELECT count(*), max(pos) FROM events"), "22000|22000\n");
}

TEST(CheckpointerTest, AReaderHoldingTheWalDoesNotStopCommits) {
  TempDir dir("checkpointer-reader");
  const std::string path = dir.File("t.db");
  std::unique_ptr<SqliteStore> store = OpenWithSmallWal(path, Durability::kNormal);
  ASSERT_NE(store, nullptr);
  (void)WriteBatches(*store, path, 1, 10, 100);

  // A reader in the middle of a read transaction pins the frames of its snapshot: no
  // checkpoint may copy past them, and the WAL cannot start over. Commits go on regardless.
  Result<Database> reader = Database::Open(path, Database::Mode::kReadWrite);
  ASSERT_TRUE(reader.ok());
  Result<Statement> scan = reader.value().Prepare("SELECT pos FROM events ORDER BY pos");
  ASSERT_TRUE(scan.ok());
  ASSERT_TRUE(scan.value().Step().value());
  (void)WriteBatches(*store, path, 1001, 100, 100);
  EXPECT_EQ(scan.value().Int(0), 1);
  scan.value().Reset();

  EXPECT_EQ(Dump(path, "SELECT count(*), max(pos) FROM events"), "11000|11000\n");
  ASSERT_TRUE(store->Checkpoint().ok());
  EXPECT_EQ(std::filesystem::file_size(path + "-wal"), 0u);
}

// The writeback after each copy walks the whole database file: small slices while the file is
// small, and never more than 4,096 calls a copy however large it grows.
TEST(CheckpointerTest, WriteBackSlicesStayFewForLargeFiles) {
  constexpr int64_t kKiB = 1 << 10;
  EXPECT_EQ(WriteBackSliceBytes(0), 64 * kKiB);
  EXPECT_EQ(WriteBackSliceBytes(10 * 1024 * kKiB), 64 * kKiB);
  EXPECT_EQ(WriteBackSliceBytes(256 * 1024 * kKiB), 64 * kKiB);
  for (const int64_t size : {int64_t{256} * 1024 * kKiB + 1, int64_t{8} << 30,
                             int64_t{8} * 1000 * 1000 * 1000 + 12345}) {
    const int64_t slice = WriteBackSliceBytes(size);
    EXPECT_EQ(slice % 4096, 0) << size;
    EXPECT_LE((size + slice - 1) / slice, 4096) << size;
    EXPECT_GT(slice, 64 * kKiB) << size;
  }
}

}  // namespace
}  // namespace takt::store
