// WalSync: one sync covers every commit whose ticket was taken before it began, concurrent
// waiters share syncs, and a failed sync fails every later wait.
#include "engine/store/wal_sync.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <vector>

#include "store/store_support.h"

namespace takt::store {
namespace {

using test::TempDir;

TEST(WalSyncTest, ASyncCoversEveryTicketTakenBeforeIt) {
  TempDir dir("wal-sync");
  const std::string wal = dir.File("t.db-wal");
  std::ofstream(wal) << "frames";
  WalSync sync(wal);
  ASSERT_TRUE(sync.WaitDurable(0).ok());
  EXPECT_EQ(sync.syncs(), 0u) << "ticket 0: nothing to wait for";
  const uint64_t first = sync.Ticket();
  const uint64_t second = sync.Ticket();
  ASSERT_TRUE(sync.WaitDurable(first).ok());
  EXPECT_EQ(sync.syncs(), 1u);
  ASSERT_TRUE(sync.WaitDurable(second).ok());
  EXPECT_EQ(sync.syncs(), 1u) << "the sync for the first ticket covered the second";
  ASSERT_TRUE(sync.WaitDurable(sync.Ticket()).ok());
  EXPECT_EQ(sync.syncs(), 2u);
}

TEST(WalSyncTest, ConcurrentWaitersAllReturnDurableWithNoMoreSyncsThanTickets) {
  TempDir dir("wal-sync");
  const std::string wal = dir.File("t.db-wal");
  std::ofstream(wal) << "frames";
  WalSync sync(wal);
  constexpr int kThreads = 8, kRounds = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int r = 0; r < kRounds; ++r) {
        if (!sync.WaitDurable(sync.Ticket()).ok()) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_GE(sync.syncs(), 1u);
  EXPECT_LE(sync.syncs(), static_cast<uint64_t>(kThreads * kRounds));
}

TEST(WalSyncTest, AFailedSyncFailsEveryLaterWaitButNotWhatWasDurableBefore) {
  TempDir dir("wal-sync");
  const std::string wal = dir.File("t.db-wal");
  std::ofstream(wal) << "frames";
  WalSync sync(wal);
  const uint64_t durable = sync.Ticket();
  ASSERT_TRUE(sync.WaitDurable(durable).ok());

  // A WAL that cannot be opened cannot be synced.
  WalSync failing(dir.File("missing-wal"));
  const Status failed = failing.WaitDurable(failing.Ticket());
  ASSERT_EQ(failed.code(), Code::kIoError);
  EXPECT_NE(failed.message().find("missing-wal"), std::string::npos) << failed.message();
  std::ofstream(dir.File("missing-wal")) << "frames";  // there now, but the failure stays
  EXPECT_EQ(failing.WaitDurable(failing.Ticket()).code(), Code::kIoError);
  EXPECT_EQ(failing.failure().code(), Code::kIoError);
  failing.AllDurable();
  EXPECT_EQ(failing.WaitDurable(1).code(), Code::kIoError) << "AllDurable() does not clear it";

  EXPECT_TRUE(sync.WaitDurable(durable).ok()) << "durable before: still durable";
  EXPECT_TRUE(sync.failure().ok());
}

}  // namespace
}  // namespace takt::store
