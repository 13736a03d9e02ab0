// The ordering policies. reorder: events ahead of their (source, key)'s sequence are held back
// until the missing ones arrive, or until too many wait or they wait too long in event time;
// then they are applied in seq order. monotonic: an event whose seq is not above the last
// accepted seq of its (source, key) is rejected as stale, so a late update never overwrites a
// newer one, and the bar survives a restart. Sources without a policy stay strict.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "support/test_support.h"

namespace takt {
namespace {

std::string Mes(const std::string& id, const std::string& type, int64_t seq, int64_t ts,
                const std::string& data = "{}") {
  return R"({"id":")" + id + R"(","source":"mes","type":")" + type + R"(","key":"MO-1","seq":)" +
         std::to_string(seq) + R"(,"ts":)" + std::to_string(ts) + R"(,"data":)" + data + "}";
}
const std::string kReleased =
    R"({"id":"o1","source":"odoo","type":"order.released","key":"MO-1","seq":1,"ts":0,"data":{"asset":"A1"}})";
std::string Alarm(const std::string& id, int64_t ts) {
  return R"({"id":")" + id + R"(","source":"scada","type":"alarm","key":"A9","seq":1,"ts":)" +
         std::to_string(ts) + R"(,"data":{"asset":"A9","code":"X","severity":1}})";
}

std::unique_ptr<Engine> Open(std::vector<ReorderPolicy> reorder, const std::string& db = "",
                             std::vector<std::string> monotonic = {}) {
  EngineOptions options;
  options.workflow_paths = {"workflows"};
  options.reorder = std::move(reorder);
  options.monotonic = std::move(monotonic);
  options.store_path = db;
  Result<std::unique_ptr<Engine>> engine = Engine::Open(options);
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  return engine.ok() ? std::move(engine).value() : nullptr;
}

SubmitResult Submit(Engine& engine, const std::string& json) {
  Result<SubmitResult> r = engine.Submit(json);
  EXPECT_TRUE(r.ok());
  return r.ok() ? r.value() : SubmitResult{};
}

std::string State(Engine& engine) {
  Result<InstanceInfo> info = engine.GetInstance("production_order", "MO-1");
  return info.ok() ? info.value().state + " " + info.value().variables_json : "(none)";
}

TEST(ReorderTest, AnEarlyEventWaitsForTheOneBeforeIt) {
  auto engine = Open({ReorderPolicy{"mes", 16, 60'000}});
  Submit(*engine, kReleased);
  Submit(*engine, Mes("m1", "order.started", 1, 10));
  SubmitResult finished = Submit(*engine, Mes("m3", "order.finished", 3, 30, R"({"good":9,"scrap":1})"));
  EXPECT_EQ(finished.outcome, Outcome::kHeld);
  EXPECT_NE(finished.reason.find("seq 3 of mes/MO-1 is ahead of 2: held back"), std::string::npos)
      << finished.reason;
  EXPECT_EQ(engine->stats().held, 1u);
  SubmitResult progress = Submit(*engine, Mes("m2", "order.progress", 2, 20, R"({"good":5,"scrap":0})"));
  EXPECT_EQ(progress.outcome, Outcome::kApplied);
  ASSERT_EQ(progress.released.size(), 1u);
  EXPECT_EQ(progress.released[0].event_id, "m3");
  EXPECT_EQ(progress.released[0].outcome, Outcome::kApplied);
  EXPECT_EQ(progress.released[0].position, 3u);
  EXPECT_EQ(State(*engine), R"(inspecting {"asset":"A1","good":9,"scrap":1})");
  EXPECT_EQ(engine->stats().held, 0u);
  EXPECT_EQ(engine->stats().accepted, 4u);
  EXPECT_EQ(engine->stats().events, 4u);
}

TEST(ReorderTest, WithoutAPolicyTheSameStreamIsStrict) {
  auto engine = Open({});
  Submit(*engine, kReleased);
  Submit(*engine, Mes("m1", "order.started", 1, 10));
  EXPECT_EQ(Submit(*engine, Mes("m3", "order.finished", 3, 30, R"({"good":9,"scrap":1})")).outcome,
            Outcome::kApplied);
  EXPECT_EQ(Submit(*engine, Mes("m2", "order.progress", 2, 20, R"({"good":5,"scrap":0})")).outcome,
            Outcome::kOutOfSequence);
}

TEST(ReorderTest, TooManyWaitingAreAppliedInSeqOrderAndTheGapGivenUp) {
  auto engine = Open({ReorderPolicy{"mes", 2, 60'000}});
  Submit(*engine, kReleased);
  Submit(*engine, Mes("m1", "order.started", 1, 10));
  EXPECT_EQ(Submit(*engine, Mes("m5", "order.progress", 5, 50, R"({"good":5,"scrap":0})")).outcome,
            Outcome::kHeld);
  EXPECT_EQ(Submit(*engine, Mes("m4", "order.progress", 4, 40, R"({"good":4,"scrap":0})")).outcome,
            Outcome::kHeld);
  // A third waiting is one too many: all three go, in seq order, and seq 2 is given up on.
  SubmitResult third = Submit(*engine, Mes("m3", "order.progress", 3, 30, R"({"good":3,"scrap":0})"));
  EXPECT_EQ(third.outcome, Outcome::kHeld);
  ASSERT_EQ(third.released.size(), 3u);
  EXPECT_EQ(third.released[0].event_id, "m3");
  EXPECT_EQ(third.released[1].event_id, "m4");
  EXPECT_EQ(third.released[2].event_id, "m5");
  EXPECT_NE(State(*engine).find(R"("good":5)"), std::string::npos) << State(*engine);
  // The missing one comes at last: it is late, and applied as the strict policy would.
  SubmitResult late = Submit(*engine, Mes("m2", "order.progress", 2, 20, R"({"good":2,"scrap":0})"));
  EXPECT_EQ(late.outcome, Outcome::kApplied);
  EXPECT_GE(engine->stats().late_events, 1u);
}

TEST(ReorderTest, WaitingTooLongInEventTimeLetsGo) {
  auto engine = Open({ReorderPolicy{"mes", 16, 1'000}});
  Submit(*engine, kReleased);
  Submit(*engine, Mes("m1", "order.started", 1, 10));
  EXPECT_EQ(Submit(*engine, Mes("m3", "order.finished", 3, 5'000, R"({"good":9,"scrap":1})")).outcome,
            Outcome::kHeld);
  // A held event does not move event time: this one, far in the future, lets nothing go.
  SubmitResult future = Submit(*engine, Mes("m4", "order.progress", 4, 100'000, R"({"good":1,"scrap":0})"));
  EXPECT_EQ(future.outcome, Outcome::kHeld);
  EXPECT_TRUE(future.released.empty());
  EXPECT_TRUE(Submit(*engine, Alarm("s1", 5'999)).released.empty());
  SubmitResult tick = Submit(*engine, Alarm("s2", 6'000));
  ASSERT_EQ(tick.released.size(), 2u);
  EXPECT_EQ(tick.released[0].event_id, "m3");
  EXPECT_EQ(tick.released[1].event_id, "m4");
  EXPECT_EQ(tick.released[1].outcome, Outcome::kOutOfSequence) << "progress after finished";
  EXPECT_EQ(State(*engine).substr(0, 10), "inspecting");
}

TEST(ReorderTest, HeldEventsSurviveARestart) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("takt-reorder-" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  const std::string db = dir + "/t.db";
  {
    auto engine = Open({ReorderPolicy{"mes", 16, 60'000}}, db);
    Submit(*engine, kReleased);
    Submit(*engine, Mes("m1", "order.started", 1, 10));
    EXPECT_EQ(Submit(*engine, Mes("m3", "order.finished", 3, 30, R"({"good":9,"scrap":1})")).outcome,
              Outcome::kHeld);
  }
  {
    auto engine = Open({ReorderPolicy{"mes", 16, 60'000}}, db);
    EXPECT_EQ(engine->stats().held, 1u);
    EXPECT_EQ(engine->stats().events, 3u);
    SubmitResult progress = Submit(*engine, Mes("m2", "order.progress", 2, 20, R"({"good":5,"scrap":0})"));
    ASSERT_EQ(progress.released.size(), 1u);
    EXPECT_EQ(progress.released[0].event_id, "m3");
    EXPECT_EQ(State(*engine).substr(0, 10), "inspecting");
  }
  auto engine = Open({ReorderPolicy{"mes", 16, 60'000}}, db);
  EXPECT_EQ(engine->stats().held, 0u);
  EXPECT_EQ(engine->stats().accepted, 4u);
  EXPECT_EQ(State(*engine).substr(0, 10), "inspecting");
  // A copy of the held event is a duplicate, before and after its release.
  EXPECT_EQ(Submit(*engine, Mes("m3", "order.finished", 3, 30, R"({"good":9,"scrap":1})")).outcome,
            Outcome::kDuplicate);
  engine.reset();
  std::filesystem::remove_all(dir);
}

// The monotonic policy.

std::unique_ptr<Engine> OpenMonotonic(std::vector<std::string> monotonic, const std::string& db = "") {
  return Open({}, db, std::move(monotonic));
}

std::string Variables(Engine& engine) {
  Result<InstanceInfo> info = engine.GetInstance("production_order", "MO-1");
  return info.ok() ? info.value().variables_json : "(none)";
}

// Started, a newer count (seq 3), then an older one (seq 2) that arrives late.
void FeedLateProgress(Engine& engine, SubmitResult& late) {
  Submit(engine, kReleased);
  Submit(engine, Mes("m1", "order.started", 1, 10));
  Submit(engine, Mes("m3", "order.progress", 3, 30, R"({"good":7,"scrap":1})"));
  late = Submit(engine, Mes("m2", "order.progress", 2, 20, R"({"good":4,"scrap":0})"));
}

TEST(MonotonicTest, ALateProgressNeverOverwritesANewerCount) {
  auto engine = OpenMonotonic({"mes"});
  SubmitResult late;
  FeedLateProgress(*engine, late);
  EXPECT_EQ(late.outcome, Outcome::kOutOfSequence);
  EXPECT_EQ(late.reason, "stale: seq 2 after 3");
  EXPECT_EQ(Variables(*engine), R"({"asset":"A1","good":7,"scrap":1})");
  EXPECT_EQ(engine->stats().out_of_sequence, 1u);
  // The same seq again, under another id, is not above the bar either.
  SubmitResult again = Submit(*engine, Mes("m3b", "order.progress", 3, 31, R"({"good":1,"scrap":1})"));
  EXPECT_EQ(again.reason, "stale: seq 3 after 3");
  // A newer one is applied.
  SubmitResult newer = Submit(*engine, Mes("m4", "order.progress", 4, 40, R"({"good":9,"scrap":1})"));
  EXPECT_EQ(newer.outcome, Outcome::kApplied);
  EXPECT_EQ(Variables(*engine), R"({"asset":"A1","good":9,"scrap":1})");
}

TEST(MonotonicTest, AStrictSourceAppliesTheLateUpdate) {
  auto engine = OpenMonotonic({});
  SubmitResult late;
  FeedLateProgress(*engine, late);
  EXPECT_EQ(late.outcome, Outcome::kApplied);
  EXPECT_EQ(Variables(*engine), R"({"asset":"A1","good":4,"scrap":0})");
}

TEST(MonotonicTest, OnlyAcceptedEventsRaiseTheBar) {
  auto engine = OpenMonotonic({"mes"});
  Submit(*engine, kReleased);
  // order.finished before order.started is out of sequence by state: it does not count.
  SubmitResult early = Submit(*engine, Mes("m5", "order.finished", 5, 5, R"({"good":1,"scrap":0})"));
  EXPECT_EQ(early.outcome, Outcome::kOutOfSequence);
  EXPECT_EQ(Submit(*engine, Mes("m1", "order.started", 1, 10)).outcome, Outcome::kApplied);
}

TEST(MonotonicTest, TheBarSurvivesARestart) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("takt-monotonic-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "t.db").string();
  {
    auto engine = OpenMonotonic({"mes"}, db);
    Submit(*engine, kReleased);
    Submit(*engine, Mes("m1", "order.started", 1, 10));
    Submit(*engine, Mes("m3", "order.progress", 3, 30, R"({"good":7,"scrap":1})"));
  }
  auto engine = OpenMonotonic({"mes"}, db);
  SubmitResult late = Submit(*engine, Mes("m2", "order.progress", 2, 20, R"({"good":4,"scrap":0})"));
  EXPECT_EQ(late.reason, "stale: seq 2 after 3");
  EXPECT_EQ(Variables(*engine), R"({"asset":"A1","good":7,"scrap":1})");
  engine.reset();
  std::filesystem::remove_all(dir);
}

TEST(MonotonicTest, ASourceHasOnePolicy) {
  EngineOptions options;
  options.workflow_paths = {"workflows"};
  options.monotonic = {"mes"};
  options.reorder = {ReorderPolicy{"mes", 16, 60'000}};
  Result<std::unique_ptr<Engine>> engine = Engine::Open(options);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().message(), "source mes has two ordering policies: reorder and monotonic");
}

}  // namespace
}  // namespace takt
