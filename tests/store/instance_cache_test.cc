// A durable engine keeps its open instances in memory and its final ones in the database only,
// and the sequence positions of keys without an instance in memory too, so that its memory
// follows what is running rather than everything that ever ran. Nothing a user sees may change
// for it: outcomes, reasons, gap and lateness counts, instances read by rules and by
// GetInstance(), reports.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "store/store_support.h"
#include "support/test_support.h"

namespace takt {
namespace {

using test::PlantEvents;
using test::PlantOptions;
using test::TempDir;

EngineOptions WorkflowOnly(const std::string& db) {
  EngineOptions options = PlantOptions(db);
  options.rules_dir.clear();
  return options;
}

void SubmitInBatches(Engine& engine, const std::vector<std::string>& events, size_t batch) {
  for (size_t from = 0; from < events.size(); from += batch) {
    std::vector<std::string_view> slice(events.begin() + static_cast<std::ptrdiff_t>(from),
                                        events.begin() + static_cast<std::ptrdiff_t>(
                                                             std::min(events.size(), from + batch)));
    std::vector<SubmitResult> results;
    ASSERT_TRUE(engine.SubmitBatch(slice, results).ok());
  }
}

std::string Describe(const InstanceInfo& i) {
  return i.workflow + "/" + i.key + " " + i.state + (i.final ? " final " : " ") + i.lifecycle +
         " " + i.version + " " + i.variables_json;
}

TEST(InstanceCacheTest, FinishedInstancesLeaveMemoryAndReadBackAsTheyWere) {
  const std::vector<std::string> events = PlantEvents(300, 7);
  auto memory = Engine::Open(PlantOptions(""));
  ASSERT_TRUE(memory.ok());
  SubmitInBatches(*memory.value(), events, 64);
  const EngineStats expected = memory.value()->stats();
  ASSERT_LT(expected.active_instances * 2, expected.instances) << "most orders finish";
  EXPECT_EQ(expected.instances_in_memory, expected.instances) << "without a store, all stay";

  TempDir dir("cache-finished");
  for (int run = 0; run < 2; ++run) {  // as the run leaves it, then opened again
    auto durable = Engine::Open(PlantOptions(dir.File("t.db")));
    ASSERT_TRUE(durable.ok()) << durable.status().message();
    Engine& engine = *durable.value();
    if (run == 0) SubmitInBatches(engine, events, 64);
    const uint64_t extra = static_cast<uint64_t>(run);  // the open order the first run adds
    const EngineStats stats = engine.stats();
    EXPECT_EQ(stats.instances, expected.instances + extra) << run;
    EXPECT_EQ(stats.active_instances, expected.active_instances + extra) << run;
    EXPECT_EQ(stats.instances_in_memory, expected.active_instances + extra) << run;

    // Every instance reads back as the in-memory engine has it, finished or not.
    std::vector<std::string> keys;
    size_t finished = 0;
    memory.value()->ForEachInstance([&](const InstanceSummary& s) {
      keys.emplace_back(s.key);
      finished += s.final ? 1 : 0;
    });
    for (const std::string& key : keys) {
      Result<InstanceInfo> want = memory.value()->GetInstance("production_order", key);
      Result<InstanceInfo> got = engine.GetInstance("production_order", key);
      ASSERT_TRUE(got.ok()) << key << ": " << got.status().message();
      EXPECT_EQ(Describe(got.value()), Describe(want.value()));
    }
    EXPECT_EQ(engine.stats().instances_in_memory, expected.active_instances + extra + finished)
        << "read back until the next batch";
    // The next batch ends with only the open instances in memory again.
    ASSERT_TRUE(engine.Submit(
        R"({"id":"late-)" + std::to_string(run) +
        R"(","source":"odoo","type":"order.released","key":"MO-9999)" + std::to_string(run) +
        R"(","seq":1,"ts":1900000000000,"data":{"order":"MO-9999","product":"P","qty":1,"asset":"A99"}})").ok());
    EXPECT_EQ(engine.stats().instances_in_memory, expected.active_instances + extra + 1) << run;
  }
}

TEST(InstanceCacheTest, AnEventForAFinishedOrderIsJudgedAsInMemory) {
  const std::vector<std::string> setup = {
      R"({"id":"o1","source":"odoo","type":"order.released","key":"MO-1","seq":1,"ts":1000,"data":{"order":"MO-1","product":"P","qty":1,"asset":"A1"}})",
      R"({"id":"o2","source":"odoo","type":"order.cancelled","key":"MO-1","seq":2,"ts":2000,"data":{"order":"MO-1"}})",
  };
  // Each judged on the instance and on its (source, key)'s sequence position, both evicted: a
  // start on a cancelled order, a re-release (its seq is late), a cancel that skips a seq.
  const std::vector<std::string> late = {
      R"({"id":"m1","source":"mes","type":"order.started","key":"MO-1","seq":1,"ts":3000,"data":{"order":"MO-1"}})",
      R"({"id":"o3","source":"odoo","type":"order.released","key":"MO-1","seq":2,"ts":4000,"data":{"order":"MO-1","product":"P","qty":1,"asset":"A1"}})",
      R"({"id":"o4","source":"odoo","type":"order.cancelled","key":"MO-1","seq":5,"ts":5000,"data":{"order":"MO-1"}})",
  };
  auto memory = Engine::Open(WorkflowOnly(""));
  ASSERT_TRUE(memory.ok());
  SubmitInBatches(*memory.value(), setup, 2);
  std::vector<SubmitResult> want;
  for (const std::string& e : late) want.push_back(memory.value()->Submit(e).value());
  ASSERT_EQ(want[0].outcome, Outcome::kOutOfSequence);
  ASSERT_NE(want[0].reason.find("state cancelled"), std::string::npos) << want[0].reason;
  ASSERT_EQ(want[1].outcome, Outcome::kOutOfSequence);
  const EngineStats memory_stats = memory.value()->stats();
  ASSERT_EQ(memory_stats.late_events, 1u);
  ASSERT_EQ(memory_stats.sequence_gaps, 1u);

  for (const bool reopen : {false, true}) {
    TempDir dir("cache-late");
    const std::string db = dir.File("t.db");
    auto durable = Engine::Open(WorkflowOnly(db));
    ASSERT_TRUE(durable.ok());
    SubmitInBatches(*durable.value(), setup, 2);
    if (reopen) {
      ASSERT_TRUE(durable.value()->Close().ok());
      durable = Engine::Open(WorkflowOnly(db));
      ASSERT_TRUE(durable.ok());
    }
    EXPECT_EQ(durable.value()->stats().instances_in_memory, 0u) << "MO-1 is cancelled";
    for (size_t i = 0; i < late.size(); ++i) {
      const SubmitResult got = durable.value()->Submit(late[i]).value();
      EXPECT_EQ(got.outcome, want[i].outcome) << late[i];
      EXPECT_EQ(got.reason, want[i].reason) << late[i];
    }
    const EngineStats stats = durable.value()->stats();
    EXPECT_EQ(stats.late_events, memory_stats.late_events);
    EXPECT_EQ(stats.sequence_gaps, memory_stats.sequence_gaps);
    EXPECT_EQ(stats.instances, 1u);
    EXPECT_EQ(stats.instances_in_memory, 0u) << "evicted again with the batch that read it";
  }
}

TEST(InstanceCacheTest, ARuleReadsAFinishedInstanceFromTheDatabase) {
  TempDir dir("cache-rule");
  const std::string rules = dir.File("rules");
  ASSERT_EQ(test::RunCommand("mkdir -p " + rules).exit_code, 0);
  test::WriteFile(rules + "/order_state.lua", R"(
return rule "order_state" {
  on = "alarm",
  decide = function(ev, state, ctx)
    local order = ctx.instance("production_order", "MO-1")
    return command("test.order_state", { state = order and order.state or "none",
                                         good = order and order.vars.good or -1 })
  end,
}
)");
  EngineOptions options = WorkflowOnly(dir.File("t.db"));
  options.rules_dir = rules;
  auto alarm = [](int n) {
    return R"({"id":"s)" + std::to_string(n) +
           R"(","source":"scada","type":"alarm","key":"A1","seq":)" + std::to_string(n) +
           R"(,"ts":9000,"data":{"asset":"A1","code":"HOT","severity":1}})";
  };
  for (int run = 1; run <= 2; ++run) {
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    if (run == 1) {
      SubmitInBatches(*engine.value(), {
          R"({"id":"o1","source":"odoo","type":"order.released","key":"MO-1","seq":1,"ts":1000,"data":{"order":"MO-1","product":"P","qty":1,"asset":"A1"}})",
          R"({"id":"m1","source":"mes","type":"order.started","key":"MO-1","seq":1,"ts":2000,"data":{"order":"MO-1"}})",
          R"({"id":"m2","source":"mes","type":"order.finished","key":"MO-1","seq":2,"ts":3000,"data":{"order":"MO-1","good":7,"scrap":1}})",
          R"({"id":"q1","source":"qms","type":"inspection.result","key":"MO-1","seq":1,"ts":4000,"data":{"order":"MO-1","critical":false,"defect":""}})",
          R"({"id":"q2","source":"qms","type":"disposition","key":"MO-1","seq":2,"ts":5000,"data":{"order":"MO-1","decision":"release"}})",
      }, 5);
    }
    ASSERT_EQ(engine.value()->stats().instances_in_memory, 0u) << "MO-1 is complete";
    const SubmitResult result = engine.value()->Submit(alarm(run)).value();
    ASSERT_EQ(result.outcome, Outcome::kApplied) << result.reason;
    ASSERT_EQ(result.commands.size(), 1u) << run;
    EXPECT_EQ(result.commands[0].payload_json, R"({"good":7,"state":"complete"})") << run;
  }
}

}  // namespace
}  // namespace takt
