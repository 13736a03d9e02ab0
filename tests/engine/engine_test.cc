// Submit(): ownership, duplicates, out of sequence, malformed, transitions and commands, on the
// shipped production order workflow.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace takt {
namespace {

std::string Ev(const std::string& id, const std::string& source, const std::string& type,
               const std::string& key, const std::string& data) {
  return R"({"id":")" + id + R"(","source":")" + source + R"(","type":")" + type +
         R"(","key":")" + key + R"(","seq":1,"ts":1795852800000,"data":)" + data + "}";
}

std::string Released(const std::string& id, const std::string& order, const std::string& asset = "A01") {
  return Ev(id, "odoo", "order.released", order,
            R"({"order":")" + order + R"(","product":"P-1","qty":10,"asset":")" + asset + R"("})");
}

class EngineTest : public testing::Test {
 protected:
  void SetUp() override {
    engine_ = test::OpenPlantEngine();
    ASSERT_NE(engine_, nullptr);
  }
  SubmitResult Submit(const std::string& json) {
    Result<SubmitResult> r = engine_->Submit(json);
    EXPECT_TRUE(r.ok());
    return r.ok() ? r.value() : SubmitResult{};
  }
  std::string State(const std::string& order) {
    Result<InstanceInfo> info = engine_->GetInstance("production_order", order);
    return info.ok() ? info.value().state : "(none)";
  }
  // Drives MO-1 to `inspecting` with good 9, scrap 1.
  void ToInspecting() {
    ASSERT_EQ(Submit(Released("o1", "MO-1")).outcome, Outcome::kApplied);
    ASSERT_EQ(Submit(Ev("m1", "mes", "order.started", "MO-1", R"({"order":"MO-1"})")).outcome,
              Outcome::kApplied);
    ASSERT_EQ(Submit(Ev("m2", "mes", "order.finished", "MO-1",
                        R"({"order":"MO-1","good":9,"scrap":1})"))
                  .outcome,
              Outcome::kApplied);
    ASSERT_EQ(State("MO-1"), "inspecting");
  }

  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, ReleaseCreatesTheInstance) {
  SubmitResult r = Submit(Released("odoo-1", "MO-1", "A07"));
  EXPECT_EQ(r.outcome, Outcome::kApplied);
  EXPECT_EQ(r.event_id, "odoo-1");
  EXPECT_TRUE(r.commands.empty());
  Result<InstanceInfo> info = engine_->GetInstance("production_order", "MO-1");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info.value().state, "released");
  EXPECT_EQ(info.value().lifecycle, "active");
  EXPECT_EQ(info.value().variables_json, R"({"asset":"A07","good":0,"scrap":0})");
}

TEST_F(EngineTest, HappyPathEmitsProductionDoneWithItsCause) {
  ToInspecting();
  EXPECT_EQ(Submit(Ev("q1", "qms", "inspection.result", "MO-1",
                      R"({"order":"MO-1","lot":"L1","result":"pass","critical":false,"defect":null})"))
                .outcome,
            Outcome::kApplied);
  SubmitResult done = Submit(Ev("q2", "qms", "disposition", "MO-1",
                                R"({"order":"MO-1","decision":"release"})"));
  EXPECT_EQ(done.outcome, Outcome::kApplied);
  ASSERT_EQ(done.commands.size(), 1u);
  EXPECT_EQ(done.commands[0].name, "odoo.production.done");
  EXPECT_EQ(done.commands[0].caused_by, "q2");
  EXPECT_EQ(done.commands[0].payload_json, R"({"order":"MO-1","good":9,"scrap":1})");
  Result<InstanceInfo> info = engine_->GetInstance("production_order", "MO-1");
  EXPECT_EQ(info.value().state, "complete");
  EXPECT_TRUE(info.value().final);
  EXPECT_EQ(info.value().lifecycle, "completed");
  EXPECT_EQ(engine_->stats().active_instances, 0u);
}

TEST_F(EngineTest, CriticalDefectHoldsTheOrderAndAlertsQuality) {
  ToInspecting();
  SubmitResult r = Submit(Ev("q1", "qms", "inspection.result", "MO-1",
                             R"({"order":"MO-1","lot":"L1","result":"pass","critical":true,"defect":"CRACK"})"));
  ASSERT_EQ(r.outcome, Outcome::kApplied);
  ASSERT_EQ(r.commands.size(), 1u);
  EXPECT_EQ(r.commands[0].name, "odoo.quality.alert");
  EXPECT_EQ(r.commands[0].payload_json, R"({"order":"MO-1","reason":"CRACK"})");
  EXPECT_EQ(State("MO-1"), "on_hold");
  // In on_hold an inspection.result has no transition; a disposition does.
  EXPECT_EQ(Submit(Ev("q2", "qms", "inspection.result", "MO-1",
                      R"({"order":"MO-1","critical":true,"defect":"CRACK"})"))
                .outcome,
            Outcome::kOutOfSequence);
  EXPECT_EQ(Submit(Ev("q3", "qms", "disposition", "MO-1", R"({"decision":"scrap"})")).outcome,
            Outcome::kApplied);
  EXPECT_EQ(State("MO-1"), "scrapped");
}

TEST_F(EngineTest, ReworkGoesBackToExecuting) {
  ToInspecting();
  Submit(Ev("q1", "qms", "inspection.result", "MO-1", R"({"critical":false})"));
  EXPECT_EQ(Submit(Ev("q2", "qms", "disposition", "MO-1", R"({"decision":"rework"})")).outcome,
            Outcome::kApplied);
  EXPECT_EQ(State("MO-1"), "executing");
}

TEST_F(EngineTest, UnknownDecisionIsOutOfSequence) {
  ToInspecting();
  Submit(Ev("q1", "qms", "inspection.result", "MO-1", R"({"critical":false})"));
  SubmitResult r = Submit(Ev("q2", "qms", "disposition", "MO-1", R"({"decision":"sell"})"));
  EXPECT_EQ(r.outcome, Outcome::kOutOfSequence);
  EXPECT_NE(r.reason.find("disposition"), std::string::npos);
  EXPECT_EQ(State("MO-1"), "disposition");
}

TEST_F(EngineTest, LateProgressOverwritesCountsLastArrivalWins) {
  Submit(Released("o1", "MO-1"));
  Submit(Ev("m1", "mes", "order.started", "MO-1", "{}"));
  Submit(Ev("m3", "mes", "order.progress", "MO-1", R"({"good":50,"scrap":2})"));
  Submit(Ev("m2", "mes", "order.progress", "MO-1", R"({"good":20,"scrap":1})"));
  EXPECT_EQ(engine_->GetInstance("production_order", "MO-1").value().variables_json,
            R"({"asset":"A01","good":20,"scrap":1})");
}

TEST_F(EngineTest, ForeignSourceIsAnOwnershipViolationAndChangesNothing) {
  Submit(Released("o1", "MO-1"));
  SubmitResult r = Submit(Ev("qms-1", "qms", "order.started", "MO-1", "{}"));
  EXPECT_EQ(r.outcome, Outcome::kOwnershipViolation);
  EXPECT_EQ(r.reason, "source qms does not own order.started (its owner is mes)");
  EXPECT_EQ(State("MO-1"), "released");
  EXPECT_EQ(engine_->stats().ownership_violations, 1u);
}

TEST_F(EngineTest, DuplicateIdIsIgnoredEvenWhenTheFirstCopyWasRejected) {
  EXPECT_EQ(Submit(Released("o1", "MO-1")).outcome, Outcome::kApplied);
  EXPECT_EQ(Submit(Released("o1", "MO-1")).outcome, Outcome::kDuplicate);
  // First copy out of sequence (no instance), the re-delivery is a duplicate.
  EXPECT_EQ(Submit(Ev("m9", "mes", "order.started", "MO-9", "{}")).outcome, Outcome::kOutOfSequence);
  EXPECT_EQ(Submit(Ev("m9", "mes", "order.started", "MO-9", "{}")).outcome, Outcome::kDuplicate);
  // First copy foreign, the re-delivery is a duplicate too.
  EXPECT_EQ(Submit(Ev("x1", "mes", "alarm", "A1", R"({"code":"X","severity":1})")).outcome,
            Outcome::kOwnershipViolation);
  EXPECT_EQ(Submit(Ev("x1", "scada", "alarm", "A1", R"({"code":"X","severity":1})")).outcome,
            Outcome::kDuplicate);
  const EngineStats s = engine_->stats();
  EXPECT_EQ(s.events, 6u);
  EXPECT_EQ(s.duplicates, 3u);
}

TEST_F(EngineTest, MalformedIdIsNotRemembered) {
  SubmitResult bad = Submit(Ev("o1", "odoo", "order.released", "MO-1", R"({"order":"MO-1"})"));
  EXPECT_EQ(bad.outcome, Outcome::kMalformed);
  EXPECT_EQ(bad.event_id, "o1");
  EXPECT_EQ(bad.reason, "missing field data.asset (string)");
  EXPECT_EQ(Submit(Released("o1", "MO-1")).outcome, Outcome::kApplied);
}

TEST_F(EngineTest, OutOfSequenceCases) {
  // No instance yet.
  SubmitResult r = Submit(Ev("m1", "mes", "order.started", "MO-1", "{}"));
  EXPECT_EQ(r.outcome, Outcome::kOutOfSequence);
  EXPECT_EQ(r.reason, "no production_order instance MO-1");
  // A second release of an existing order.
  Submit(Released("o1", "MO-1"));
  r = Submit(Released("o2", "MO-1"));
  EXPECT_EQ(r.outcome, Outcome::kOutOfSequence);
  // An event with no transition from the current state.
  r = Submit(Ev("m2", "mes", "order.finished", "MO-1", R"({"good":1,"scrap":0})"));
  EXPECT_EQ(r.outcome, Outcome::kOutOfSequence);
  EXPECT_EQ(r.reason, "no transition from production_order state released on order.finished for MO-1");
  // Anything after a final state.
  Submit(Ev("o3", "odoo", "order.cancelled", "MO-1", "{}"));
  EXPECT_EQ(State("MO-1"), "cancelled");
  EXPECT_EQ(Submit(Ev("m3", "mes", "order.started", "MO-1", "{}")).outcome, Outcome::kOutOfSequence);
}

TEST_F(EngineTest, EventsNoWorkflowReactsToAreAccepted) {
  EXPECT_EQ(Submit(Ev("s1", "scada", "alarm", "A1", R"({"asset":"A1","code":"X","severity":4})")).outcome,
            Outcome::kApplied);
  EXPECT_EQ(Submit(Ev("o1", "odoo", "maintenance.done", "A1", R"({"asset":"A1"})")).outcome,
            Outcome::kApplied);
  EXPECT_EQ(Submit(Ev("s2", "scada", "telemetry", "A1", R"({"asset":"A1","tag":"T","value":1.5,"unit":"C"})")).outcome,
            Outcome::kApplied);
  EXPECT_EQ(engine_->stats().instances, 0u);
}

TEST_F(EngineTest, StatsAddUp) {
  Submit(Released("o1", "MO-1"));
  Submit(Released("o1", "MO-1"));
  Submit("garbage");
  Submit(Ev("q1", "qms", "order.started", "MO-1", "{}"));
  Submit(Ev("m1", "mes", "order.finished", "MO-1", R"({"good":1,"scrap":0})"));
  const EngineStats s = engine_->stats();
  EXPECT_EQ(s.events, 5u);
  EXPECT_EQ(s.accepted + s.duplicates + s.ownership_violations + s.out_of_sequence + s.malformed,
            s.events);
  EXPECT_EQ(s.accepted, 1u);
  EXPECT_EQ(s.malformed, 1u);
  EXPECT_EQ(s.instances, 1u);
  EXPECT_EQ(s.active_instances, 1u);
}

TEST_F(EngineTest, ForEachInstanceIsOrderedByKey) {
  Submit(Released("o1", "MO-3"));
  Submit(Released("o2", "MO-1"));
  Submit(Released("o3", "MO-2"));
  std::vector<std::string> keys;
  engine_->ForEachInstance([&](const InstanceSummary& s) { keys.emplace_back(s.key); });
  EXPECT_EQ(keys, (std::vector<std::string>{"MO-1", "MO-2", "MO-3"}));
}

TEST(EngineOpenTest, BrokenDefinitionsFailWithTheirDiagnostics) {
  EngineOptions options;
  options.workflow_paths = {"tests/data/dsl/errors/unknown_target_state.takt"};
  Result<std::unique_ptr<Engine>> engine = Engine::Open(options);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), Code::kParseError);
  EXPECT_NE(engine.status().message().find("unknown_target_state.takt:7:25: error: unknown state"),
            std::string::npos);
}

TEST(EngineOpenTest, WarningsGoToTheLogCallback) {
  std::vector<std::string> logged;
  EngineOptions options;
  options.workflow_paths = {"tests/data/dsl/errors/warnings_unreachable_and_dead_end.takt"};
  options.on_log = [&](LogLevel level, std::string_view message) {
    if (level == LogLevel::kWarn) logged.emplace_back(message);
  };
  ASSERT_TRUE(Engine::Open(options).ok());
  EXPECT_EQ(logged.size(), 3u);
}

}  // namespace
}  // namespace takt
