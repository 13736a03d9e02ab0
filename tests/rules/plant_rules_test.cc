// The shipped rules R1 and R2 (rules/*.lua) at every edge PLANT.md names, with expectations
// worked out by hand from it.
#include <gtest/gtest.h>

#include "support/test_support.h"

namespace takt {
namespace {

constexpr int64_t kT = 1795852800000;
constexpr int64_t kMin = 60000;

class PlantRulesTest : public testing::Test {
 protected:
  void SetUp() override {
    EngineOptions options;
    options.workflow_paths = {"workflows"};
    options.rules_dir = "rules";
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    engine_ = std::move(engine).value();
  }

  // Submits an event and returns its commands as "name data" lines.
  std::vector<std::string> Send(const std::string& json) {
    Result<SubmitResult> r = engine_->Submit(json);
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r.value().rule_errors.empty()) << r.value().rule_errors[0].message;
    last_outcome_ = r.value().outcome;
    std::vector<std::string> out;
    for (const Command& c : r.value().commands) out.push_back(c.name + " " + c.payload_json);
    return out;
  }
  std::vector<std::string> Alarm(const std::string& asset, int severity, int64_t ts,
                                 const std::string& code = "OVERTEMP") {
    return Send(R"({"id":"scada-)" + std::to_string(++ids_) + R"(","source":"scada","type":"alarm","key":")" +
                asset + R"(","seq":1,"ts":)" + std::to_string(ts) + R"(,"data":{"asset":")" + asset +
                R"(","code":")" + code + R"(","severity":)" + std::to_string(severity) + "}}");
  }
  std::vector<std::string> Order(const std::string& source, const std::string& type,
                                 const std::string& order, const std::string& data = "{}") {
    return Send(R"({"id":")" + source + "-" + std::to_string(++ids_) + R"(","source":")" + source +
                R"(","type":")" + type + R"(","key":")" + order + R"(","seq":1,"ts":)" +
                std::to_string(kT) + R"(,"data":)" + data + "}");
  }
  void Release(const std::string& order, const std::string& asset) {
    Order("odoo", "order.released", order, R"({"order":")" + order + R"(","asset":")" + asset + R"("})");
  }
  void Start(const std::string& order) { Order("mes", "order.started", order); }
  std::vector<std::string> Done(const std::string& asset) {
    return Send(R"({"id":"odoo-)" + std::to_string(++ids_) +
                R"(","source":"odoo","type":"maintenance.done","key":")" + asset +
                R"(","seq":1,"ts":)" + std::to_string(kT) + R"(,"data":{"asset":")" + asset + R"("}})");
  }
  std::string State(const std::string& order) {
    auto info = engine_->GetInstance("production_order", order);
    return info.ok() ? info.value().state : "(none)";
  }

  std::unique_ptr<Engine> engine_;
  Outcome last_outcome_ = Outcome::kApplied;
  int ids_ = 0;
};

using Lines = std::vector<std::string>;
const std::string kNormal = R"(odoo.maintenance.create {"asset":"A01","priority":"normal","reason":"OVERTEMP"})";
const std::string kHigh = R"(odoo.maintenance.create {"asset":"A01","priority":"high","reason":"OVERTEMP"})";

TEST_F(PlantRulesTest, R1SevereAlarmAsksForHighPriorityAtOnce) {
  EXPECT_EQ(Alarm("A01", 3, kT), Lines{kHigh});
}

TEST_F(PlantRulesTest, R1ThirdAlarmExactlyAtTheWindowBoundaryCounts) {
  EXPECT_EQ(Alarm("A01", 1, kT), Lines{});
  EXPECT_EQ(Alarm("A01", 2, kT + 5 * kMin), Lines{});
  EXPECT_EQ(Alarm("A01", 1, kT + 10 * kMin), Lines{kNormal});  // [t - 600000, t] holds kT
}

TEST_F(PlantRulesTest, R1OneMillisecondPastTheBoundaryDoesNot) {
  Alarm("A01", 1, kT);
  Alarm("A01", 2, kT + 5 * kMin);
  EXPECT_EQ(Alarm("A01", 1, kT + 10 * kMin + 1), Lines{});
}

TEST_F(PlantRulesTest, R1LateAlarmCountsByItsOwnTime) {
  Alarm("A01", 1, kT + 20 * kMin);
  Alarm("A01", 1, kT + 1 * kMin);  // arrives late; [kT - 9 min, kT + 1 min] holds only itself
  EXPECT_EQ(Alarm("A01", 1, kT + 2 * kMin), Lines{});  // kT+1, kT+2: two; kT+20 is in the future
  EXPECT_EQ(Alarm("A01", 1, kT + 3 * kMin), Lines{kNormal});
}

TEST_F(PlantRulesTest, R1OneOpenRequestPerAssetUntilMaintenanceIsDone) {
  EXPECT_EQ(Alarm("A01", 4, kT), Lines{kHigh});
  EXPECT_EQ(Alarm("A01", 4, kT + kMin), Lines{});  // open: counted, nothing asked
  EXPECT_EQ(Alarm("A02", 4, kT + kMin), Lines{R"(odoo.maintenance.create {"asset":"A02","priority":"high","reason":"OVERTEMP"})"});
  EXPECT_EQ(Done("A01"), Lines{});
  EXPECT_EQ(Alarm("A01", 4, kT + 2 * kMin), Lines{kHigh});
}

TEST_F(PlantRulesTest, R1MaintenanceDoneKeepsTheWindow) {
  Alarm("A01", 1, kT);
  Alarm("A01", 1, kT + kMin);
  EXPECT_EQ(Alarm("A01", 1, kT + 2 * kMin), Lines{kNormal});
  Done("A01");
  // The three earlier alarms are still in the window: the fourth asks again at once.
  EXPECT_EQ(Alarm("A01", 1, kT + 3 * kMin), Lines{kNormal});
}

TEST_F(PlantRulesTest, R1MaintenanceDoneWithNothingOpenIsAccepted) {
  EXPECT_EQ(Done("A01"), Lines{});
  EXPECT_EQ(last_outcome_, Outcome::kApplied);
}

TEST_F(PlantRulesTest, R1ForeignAndDuplicateAlarmsAreNotCounted) {
  const std::string alarm = R"({"id":"scada-1","source":"scada","type":"alarm","key":"A01","seq":1,"ts":)" +
                            std::to_string(kT) + R"(,"data":{"asset":"A01","code":"OVERTEMP","severity":1}})";
  Send(alarm);
  Send(alarm);  // duplicate
  Send(R"({"id":"mes-1","source":"mes","type":"alarm","key":"A01","seq":1,"ts":)" + std::to_string(kT) +
       R"(,"data":{"asset":"A01","code":"OVERTEMP","severity":1}})");  // foreign
  EXPECT_EQ(Alarm("A01", 1, kT + kMin), Lines{});  // two accepted alarms, not four
}

TEST_F(PlantRulesTest, R2HoldsTheExecutingOrderAndR1ComesFirst) {
  Release("MO-1", "A01");
  Start("MO-1");
  EXPECT_EQ(Alarm("A01", 3, kT),
            (Lines{kHigh, R"(odoo.quality.alert {"asset":"A01","order":"MO-1","reason":"OVERTEMP"})"}));
  EXPECT_EQ(State("MO-1"), "on_hold");
  EXPECT_EQ(engine_->stats().signals_delivered, 1u);
}

TEST_F(PlantRulesTest, R2HoldsAnInspectingOrder) {
  Release("MO-1", "A01");
  Start("MO-1");
  Order("mes", "order.finished", "MO-1", R"({"good":5,"scrap":0})");
  EXPECT_EQ(Alarm("A01", 4, kT).size(), 2u);
  EXPECT_EQ(State("MO-1"), "on_hold");
}

TEST_F(PlantRulesTest, R2NoSecondAlertWhileOnHold) {
  Release("MO-1", "A01");
  Start("MO-1");
  Alarm("A01", 3, kT);
  Done("A01");  // so that R1 asks again and only R2's silence is tested
  EXPECT_EQ(Alarm("A01", 3, kT + kMin), Lines{kHigh});
  EXPECT_EQ(State("MO-1"), "on_hold");
}

TEST_F(PlantRulesTest, R2LeavesAReleasedOrderAlone) {
  Release("MO-1", "A01");
  EXPECT_EQ(Alarm("A01", 4, kT), Lines{kHigh});
  EXPECT_EQ(State("MO-1"), "released");
}

TEST_F(PlantRulesTest, R2ConsidersOnlyTheLatestReleasedOrderOnTheAsset) {
  Release("MO-1", "A01");
  Start("MO-1");
  Release("MO-2", "A01");  // later, still released: it is the current order
  EXPECT_EQ(Alarm("A01", 4, kT), Lines{kHigh});
  EXPECT_EQ(State("MO-1"), "executing");
}

TEST_F(PlantRulesTest, R2SkipsFinalOrdersToTheLatestActiveOne) {
  Release("MO-1", "A01");
  Start("MO-1");
  Release("MO-2", "A01");
  Order("odoo", "order.cancelled", "MO-2");  // final: MO-1 is current again
  EXPECT_EQ(Alarm("A01", 4, kT).size(), 2u);
  EXPECT_EQ(State("MO-1"), "on_hold");
}

TEST_F(PlantRulesTest, R2AlarmOnAnAssetWhoseOrderIsFinal) {
  Release("MO-1", "A01");
  Order("odoo", "order.cancelled", "MO-1");
  EXPECT_EQ(Alarm("A01", 4, kT), Lines{kHigh});
  EXPECT_EQ(State("MO-1"), "cancelled");
}

TEST_F(PlantRulesTest, HeldOrderGoesOnThroughDisposition) {
  Release("MO-1", "A01");
  Start("MO-1");
  Order("mes", "order.progress", "MO-1", R"({"good":7,"scrap":1})");
  Alarm("A01", 3, kT);
  EXPECT_EQ(Order("mes", "order.finished", "MO-1", R"({"good":9,"scrap":1})"), Lines{});
  EXPECT_EQ(last_outcome_, Outcome::kOutOfSequence);  // on hold: no finish
  EXPECT_EQ(Order("qms", "disposition", "MO-1", R"({"decision":"release"})"),
            Lines{R"(odoo.production.done {"order":"MO-1","good":7,"scrap":1})"});
}

}  // namespace
}  // namespace takt
