// The monotonic policy: an event whose seq is not above the last accepted seq of its
// (source, key) is rejected as stale, so a late update never overwrites a newer one; strict
// sources apply it (last arrival wins), and the bar survives a restart.
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

std::unique_ptr<Engine> Open(std::vector<std::string> monotonic, const std::string& db = "") {
  EngineOptions options;
  options.workflow_paths = {"workflows"};
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
  auto engine = Open({"mes"});
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
  auto engine = Open({});
  SubmitResult late;
  FeedLateProgress(*engine, late);
  EXPECT_EQ(late.outcome, Outcome::kApplied);
  EXPECT_EQ(Variables(*engine), R"({"asset":"A1","good":4,"scrap":0})");
}

TEST(MonotonicTest, OnlyAcceptedEventsRaiseTheBar) {
  auto engine = Open({"mes"});
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
    auto engine = Open({"mes"}, db);
    Submit(*engine, kReleased);
    Submit(*engine, Mes("m1", "order.started", 1, 10));
    Submit(*engine, Mes("m3", "order.progress", 3, 30, R"({"good":7,"scrap":1})"));
  }
  auto engine = Open({"mes"}, db);
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
