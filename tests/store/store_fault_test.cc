// The engine over a store that fails, at the Store seam and for every implementation: a store
// call failing anywhere (a read in the middle of an event, from a rule's ctx.current() too, a
// write, the commit) fails the batch as a whole, leaves nothing of it in the store or in
// memory, and the run, retried, ends as one that never failed.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "engine/engine_impl.h"
#include "engine/store/memory_store.h"
#include "engine/store/sqlite_store.h"
#include "engine/store/write_behind_store.h"
#include "store/faulty_store.h"
#include "support/test_support.h"
#include "store/store_support.h"
#include "takt/simulation.h"

namespace takt {
namespace {

struct Implementation {
  const char* name;
  // Opens the store kept in `dir`: the one an earlier call opened there, as a reopened
  // database finds what was committed before.
  std::function<std::unique_ptr<store::Store>(const std::string& dir)> open;
  // The store that fails under a write-behind store (write_behind_store.h), as the engine runs
  // SQLite: a queued row's failure comes back from a later call.
  bool write_behind = false;
};

// `inner`, failing as `faults` says, as the engine would have it.
std::unique_ptr<store::Store> Faulty(const Implementation& implementation,
                                     std::unique_ptr<store::Store> inner,
                                     std::shared_ptr<test::StoreFaults> faults) {
  std::unique_ptr<store::Store> faulty = test::WrapFaulty(std::move(inner), std::move(faults));
  return implementation.write_behind ? store::WriteBehind(std::move(faulty)) : std::move(faulty);
}

void PrintTo(const Implementation& i, std::ostream* os) { *os << i.name; }

const Implementation kSqlite{"sqlite", [](const std::string& dir) {
                               store::StoreOptions options;
                               options.path = dir + "/takt.db";
                               options.durability = Durability::kNormal;
                               auto opened = store::OpenSqliteStore(options);
                               EXPECT_TRUE(opened.ok()) << opened.status().message();
                               return std::unique_ptr<store::Store>(std::move(opened).value());
                             }};

const Implementation kMemory{"memory", [](const std::string& dir) {
                               static std::map<std::string, std::shared_ptr<store::MemoryStoreData>>
                                   kept;
                               std::shared_ptr<store::MemoryStoreData>& data = kept[dir];
                               if (data == nullptr) data = store::NewMemoryStoreData();
                               return store::OpenMemoryStore(data);
                             }};

class StoreFaultTest : public testing::TestWithParam<Implementation> {};

// With a small cap on instances in memory, so that events, timers and the quality-hold rule's
// ctx.current() read evicted instances and sequence positions back in the middle of a batch.
EngineOptions CappedOptions() {
  EngineOptions options = test::PlantOptions("");
  options.max_instances_in_memory = 16;
  return options;
}

TEST_P(StoreFaultTest, AFailedCallAnywhereFailsTheWholeBatchAndARetryEndsAsIfNoneFailed) {
  const std::vector<std::string> events = test::PlantEvents(120, 11);
  const std::string expected = test::Report(test::PlantOptions(""), events);
  test::TempDir dir("store-fault");
  auto faults = std::make_shared<test::StoreFaults>();
  auto engine = OpenEngineOnStore(
      CappedOptions(), Faulty(GetParam(), GetParam().open(dir.path()), faults), GetParam().name);
  ASSERT_TRUE(engine.ok()) << engine.status().message();

  std::mt19937 random(3);
  std::vector<SubmitResult> results;
  std::set<std::string> failed_calls;
  // The faults hit reads in the middle of events, not only writes and commits: each of these
  // fails first (in a batch that makes such a call), then calls chosen at random.
  std::vector<std::string> to_fail = {"RememberId", "AppendEvent", "LoadSequence", "PutInstance",
                                      "Commit"};
  size_t committed = 0;
  while (committed < events.size()) {
    std::vector<std::string_view> batch;
    for (size_t i = committed; i < std::min(events.size(), committed + 30); ++i) {
      batch.emplace_back(events[i]);
    }
    // A batch of 30 events makes a few hundred calls: fail one of them, or none.
    faults->fail_after = std::uniform_int_distribution<int64_t>(0, 400)(random);
    faults->fail_at.clear();
    for (const std::string& call : to_fail) {
      if (failed_calls.count(call) != 0) continue;
      faults->fail_after = 0;
      faults->fail_at = call;
      break;
    }
    const int64_t failed_before = faults->failed;
    faults->first_failed.clear();
    Status status = engine.value()->SubmitBatch(batch, results);
    const bool failed = faults->failed > failed_before;
    faults->fail_after = -1;
    if (failed) {
      failed_calls.insert(faults->first_failed);
      ASSERT_FALSE(status.ok()) << "a failed " << faults->first_failed << " went unnoticed";
      EXPECT_EQ(status.code(), Code::kIoError) << status.message();
      EXPECT_NE(status.message().find("injected fault"), std::string::npos) << status.message();
      EXPECT_TRUE(results.empty());
      EXPECT_EQ(engine.value()->stats().events, committed) << status.message();
      status = engine.value()->SubmitBatch(batch, results);  // the store is back: retry
    }
    ASSERT_TRUE(status.ok()) << status.message();
    ASSERT_EQ(results.size(), batch.size());
    committed += batch.size();
    ASSERT_EQ(engine.value()->stats().events, committed);
  }
  for (const std::string& call : to_fail) {
    EXPECT_EQ(failed_calls.count(call), 1u) << call << " never failed; failed: " << [&] {
      std::string all;
      for (const std::string& c : failed_calls) all += c + " ";
      return all;
    }();
  }
  engine = Status::NotFound("closed");

  auto reopened = OpenEngineOnStore(test::PlantOptions(""), GetParam().open(dir.path()),
                                    GetParam().name);
  ASSERT_TRUE(reopened.ok()) << reopened.status().message();
  Simulation sim(*reopened.value(), "events");
  EXPECT_TRUE(sim.ReportJson().value() == expected)
      << "the report differs from a run without faults";
}

// The rule's read through ctx.current() fails the event (and its batch); it is not a rule
// error that lets the event through on a wrong "no such order".
TEST_P(StoreFaultTest, AReadThatFailsUnderARuleFailsTheEventNotJustTheRule) {
  test::TempDir dir("store-fault-rule");
  auto faults = std::make_shared<test::StoreFaults>();
  EngineOptions options = test::PlantOptions("");
  options.max_instances_in_memory = 1;
  auto engine = OpenEngineOnStore(options, Faulty(GetParam(), GetParam().open(dir.path()), faults),
                                  GetParam().name);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  // Two orders on asset A1, then enough others that both leave memory.
  std::vector<std::string> setup;
  for (int i = 1; i <= 4; ++i) {
    const std::string n = std::to_string(i);
    setup.push_back(R"({"id":"o)" + n + R"(","source":"odoo","type":"order.released","key":"MO-)" +
                    n + R"(","seq":1,"ts":)" + n + R"(000,"data":{"order":"MO-)" + n +
                    R"(","product":"P","qty":1,"asset":"A)" + n + R"("}})");
    setup.push_back(R"({"id":"m)" + n + R"(","source":"mes","type":"order.started","key":"MO-)" +
                    n + R"(","seq":1,"ts":)" + n + R"(100,"data":{"order":"MO-)" + n + R"("}})");
  }
  for (const std::string& e : setup) {
    Result<SubmitResult> r = engine.value()->Submit(e);
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_EQ(r.value().outcome, Outcome::kApplied) << e << ": " << r.value().reason;
  }
  ASSERT_LT(engine.value()->stats().instances_in_memory, 4u);

  // A critical alarm on A1: R2 asks ctx.current() for the order running on A1, which is in the
  // store only. Fail exactly the store's index lookup.
  const std::string alarm =
      R"({"id":"a1","source":"scada","type":"alarm","key":"A1","seq":1,"ts":9000,)"
      R"("data":{"asset":"A1","code":"OVERHEAT","severity":3}})";
  std::set<std::string> failed_calls;
  for (int64_t n = 0; n < 200; ++n) {
    faults->fail_after = n;
    const int64_t failed_before = faults->failed;
    faults->first_failed.clear();
    Result<SubmitResult> r = engine.value()->Submit(alarm);
    faults->fail_after = -1;
    if (faults->failed == failed_before) {  // got through: no call left to fail
      // Among the calls failed on the way: the rule's own reads.
      EXPECT_EQ(failed_calls.count("ForEachIndexed"), 1u);
      EXPECT_EQ(failed_calls.count("LoadInstance"), 1u);
      ASSERT_TRUE(r.ok()) << r.status().message();
      EXPECT_TRUE(r.value().rule_errors.empty());
      ASSERT_EQ(r.value().signals.size(), 1u) << "the rule found no order on A1";
      EXPECT_TRUE(r.value().signals[0].delivered);
      EXPECT_EQ(r.value().signals[0].key, "MO-1");
      return;
    }
    failed_calls.insert(faults->first_failed);
    EXPECT_FALSE(r.ok()) << "failed " << faults->first_failed << " and yet accepted";
    EXPECT_EQ(engine.value()->stats().events, setup.size());
  }
  FAIL() << "the alarm never got through";
}

// A rule's state read back after a failed batch is the one a later failed evaluation puts
// back: what the engine kept of the failed batch's evaluations (the snapshot each one left, to
// start the next evaluation of the key from) goes with the batch.
TEST_P(StoreFaultTest, AStateReadBackAfterAFailedBatchIsTheOneAFailedEvaluationPutsBack) {
  test::TempDir dir("store-fault-state");
  const std::string rules = dir.path() + "/rules";
  std::filesystem::create_directories(rules);
  test::WriteFile(rules + "/count.lua", R"(return rule 'count' { on = 'alarm', commands = '*',
    decide = function(ev, state)
      state.n = (state.n or 0) + 1
      if ev.data.severity == 4 then error('severity 4 is not handled') end
      return command('counted', { n = state.n })
    end })");
  auto faults = std::make_shared<test::StoreFaults>();
  EngineOptions options = test::PlantOptions("");
  options.rules_dir = rules;
  auto engine = OpenEngineOnStore(options, Faulty(GetParam(), GetParam().open(dir.path()), faults),
                                  GetParam().name);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  const auto alarm = [](int n, int severity) {
    return R"({"id":"a)" + std::to_string(n) + R"(","source":"scada","type":"alarm","key":"A1",)"
           R"("seq":)" + std::to_string(n) + R"(,"ts":)" + std::to_string(n * 1000) +
           R"(,"data":{"asset":"A1","code":"OVERHEAT","severity":)" + std::to_string(severity) +
           "}}";
  };
  Result<SubmitResult> first = engine.value()->Submit(alarm(1, 1));  // n = 1, committed
  ASSERT_TRUE(first.ok()) << first.status().message();
  faults->fail_at = "Commit";
  faults->fail_after = 0;
  EXPECT_FALSE(engine.value()->Submit(alarm(2, 1)).ok());  // n = 2, never committed
  faults->fail_after = -1;
  Result<SubmitResult> failed = engine.value()->Submit(alarm(3, 4));  // puts n = 1 back
  ASSERT_TRUE(failed.ok()) << failed.status().message();
  ASSERT_EQ(failed.value().rule_errors.size(), 1u);
  Result<SubmitResult> next = engine.value()->Submit(alarm(4, 1));
  ASSERT_TRUE(next.ok()) << next.status().message();
  ASSERT_EQ(next.value().commands.size(), 1u);
  EXPECT_EQ(next.value().commands[0].payload_json, R"({"n":2})");
}

const Implementation kSqliteWriteBehind{"sqlite_write_behind", kSqlite.open, true};
// Its own data: a memory store's is kept by the directory's name, which each test reuses.
const Implementation kMemoryWriteBehind{
    "memory_write_behind",
    [](const std::string& dir) { return kMemory.open(dir + "/write-behind"); }, true};

INSTANTIATE_TEST_SUITE_P(Stores, StoreFaultTest,
                         testing::Values(kSqlite, kMemory, kSqliteWriteBehind, kMemoryWriteBehind),
                         [](const testing::TestParamInfo<Implementation>& param) {
                           return std::string(param.param.name);
                         });

}  // namespace
}  // namespace takt
