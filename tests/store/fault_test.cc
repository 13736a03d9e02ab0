// Failing I/O never half-applies anything: with writes failing at every possible point of a
// commit (through a VFS that wraps the platform's), each batch is either whole in the database
// or absent from it and from the engine's memory, and the run, retried, ends as one that never
// failed.
#include <gtest/gtest.h>

#include <random>

#include "store/fault_vfs.h"
#include "store/store_support.h"
#include "takt/simulation.h"
#include "takt/store.h"

namespace takt {
namespace {

TEST(FaultTest, AFailedWriteAnywhereInACommitLeavesNothingOfTheBatch) {
  test::InstallFaultVfs();
  const std::vector<std::string> events = test::PlantEvents(150, 5);
  const std::string expected = test::Report(test::PlantOptions(""), events);
  test::TempDir dir("fault");
  const std::string db = dir.File("t.db");
  auto engine = Engine::Open(test::PlantOptions(db));
  ASSERT_TRUE(engine.ok()) << engine.status().message();

  std::mt19937 random(7);
  std::vector<SubmitResult> results;
  size_t committed = 0;
  int failures = 0;
  while (committed < events.size()) {
    std::vector<std::string_view> batch;
    for (size_t i = committed; i < std::min(events.size(), committed + 40); ++i) {
      batch.emplace_back(events[i]);
    }
    // Fail after 0, 1, 2, ... writes: the first page of the log, a later one, the sync.
    test::FailWritesAfter(std::uniform_int_distribution<int64_t>(0, 30)(random));
    Status status = engine.value()->SubmitBatch(batch, results);
    test::FailWritesAfter(-1);
    if (!status.ok()) {
      ++failures;
      EXPECT_EQ(status.code(), Code::kIoError) << status.message();
      EXPECT_TRUE(results.empty());
      // Nothing of the batch anywhere: not in memory, not in the file.
      EXPECT_EQ(engine.value()->stats().events, committed) << status.message();
      EXPECT_EQ(test::Dump(db, "SELECT count(*) FROM events"), std::to_string(committed) + "\n");
      status = engine.value()->SubmitBatch(batch, results);  // the disk is back: retry
    }
    ASSERT_TRUE(status.ok()) << status.message();
    ASSERT_EQ(results.size(), batch.size());
    committed += batch.size();
    EXPECT_EQ(engine.value()->stats().events, committed);
  }
  EXPECT_GT(failures, 5) << "the faults hit too few commits to mean anything";
  EXPECT_GT(test::FailedWrites(), 0);
  engine = Status::NotFound("closed");  // close before reading the file as a whole

  auto reopened = Engine::Open(test::PlantOptions(db));
  ASSERT_TRUE(reopened.ok()) << reopened.status().message();
  Simulation sim(*reopened.value(), "events");
  EXPECT_EQ(sim.ReportJson().value(), expected);
  EXPECT_EQ(test::IntegrityCheck(db), "ok");
  EXPECT_TRUE(VerifyAudit(db).value().ok);
}

}  // namespace
}  // namespace takt
