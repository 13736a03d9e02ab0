// A durable engine keeps its open instances in memory and its final ones in the database only,
// and the sequence positions of keys without an instance in memory too, so that its memory
// follows what is running rather than everything that ever ran; with max_instances_in_memory it
// keeps only the most recently changed open ones. Nothing a user sees may change for it:
// outcomes, reasons, gap and lateness counts, instances read by rules and by GetInstance(),
// timers, reports, and every row of the database.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "store/store_support.h"
#include "support/test_support.h"

namespace takt {
namespace {

using test::Dump;
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
    EXPECT_EQ(engine.stats().instances_in_memory, expected.active_instances + extra)
        << "a query reads what the store holds and leaves memory as it was";
    ASSERT_GT(finished, 0u);
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
  commands = "test.order_state",
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

// Orders of the plant workload and the rules, in batches, with far fewer instances allowed in
// memory than are open, opened again halfway: every row equals an uncapped run's, after every
// batch memory holds at most the cap, and the rules' signals reached evicted orders.
TEST(InstanceCacheTest, OpenInstancesBeyondTheCapLiveInTheDatabaseAndNothingChanges) {
  const std::vector<std::string> events = PlantEvents(400, 11);
  TempDir dir("cache-cap");
  const std::string reference = dir.File("all.db");
  {
    auto engine = Engine::Open(PlantOptions(reference));
    ASSERT_TRUE(engine.ok());
    SubmitInBatches(*engine.value(), events, 64);
  }
  constexpr uint64_t kCap = 8;
  EngineOptions capped = PlantOptions(dir.File("capped.db"));
  capped.max_instances_in_memory = kCap;
  uint64_t most_open = 0;
  EngineStats stats;
  const size_t half = events.size() / 2;
  for (const auto& [from, to] : {std::make_pair(size_t{0}, half),
                                 std::make_pair(half, events.size())}) {
    auto engine = Engine::Open(capped);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    EXPECT_LE(engine.value()->stats().instances_in_memory, kCap) << "after opening";
    for (size_t i = from; i < to; i += 64) {
      std::vector<std::string_view> slice(events.begin() + static_cast<std::ptrdiff_t>(i),
                                          events.begin() +
                                              static_cast<std::ptrdiff_t>(std::min(to, i + 64)));
      std::vector<SubmitResult> results;
      ASSERT_TRUE(engine.value()->SubmitBatch(slice, results).ok());
      stats = engine.value()->stats();
      ASSERT_LE(stats.instances_in_memory, kCap) << "after the batch at " << i;
      most_open = std::max(most_open, stats.active_instances);
    }
  }
  ASSERT_GT(most_open, 4 * kCap) << "the run must have far more orders open than the cap";
  ASSERT_GT(stats.signals_delivered, 0u) << "R2 held orders it found through the asset index "
                                            "(counted since the restart)";
  EXPECT_EQ(test::DumpAll(dir.File("capped.db")), test::DumpAll(reference));
  // instance_index: kept only with a cap, a row for every open order and none for another.
  EXPECT_EQ(Dump(reference, "SELECT count(*) FROM instance_index"), "0\n");
  EXPECT_EQ(Dump(dir.File("capped.db"),
                 "SELECT count(*) = (SELECT count(*) FROM instances WHERE final = 0) "
                 "FROM instance_index"),
            "1\n");
  EXPECT_EQ(Dump(dir.File("capped.db"),
                 "SELECT count(*) FROM instance_index x JOIN instances i USING (workflow, key) "
                 "WHERE i.final = 1 OR x.value <> i.variables -> '$.asset' "
                 "OR x.at <> i.indexed_at ->> '$[0]'"),
            "0\n");

  auto all = Engine::Open(PlantOptions(reference));
  ASSERT_TRUE(all.ok());
  const EngineStats want = all.value()->stats();
  EXPECT_EQ(stats.active_instances, want.active_instances);
  EXPECT_EQ(stats.instances, want.instances);
  EXPECT_EQ(stats.commands, want.commands);
}

// R2 asks for the current order on an asset: the one that most recently took the asset among
// those not final. With room for one instance, the orders on A1 are all in the database when
// the alarms come, and a scrapped one is no longer current.
TEST(InstanceCacheTest, TheCurrentOrderOnAnAssetIsFoundAmongEvictedOnes) {
  auto order = [](const std::string& type, const std::string& key, int seq, int64_t ts,
                  const std::string& asset) {
    const std::string source = type == "order.started" ? "mes"
                               : type == "disposition" ? "qms"
                                                       : "odoo";
    return R"({"id":")" + type + "-" + key + R"(","source":")" + source + R"(","type":")" +
           type + R"(","key":")" + key + R"(","seq":)" + std::to_string(seq) + R"(,"ts":)" +
           std::to_string(ts) + R"(,"data":{"order":")" + key +
           R"(","product":"P","qty":1,"asset":")" + asset + R"(","decision":"scrap"}})";
  };
  auto alarm = [](int n, int64_t ts) {
    return R"({"id":"s)" + std::to_string(n) + R"(","source":"scada","type":"alarm","key":"A1","seq":)" +
           std::to_string(n) + R"(,"ts":)" + std::to_string(ts) +
           R"(,"data":{"asset":"A1","code":"HOT","severity":5}})";
  };
  const std::vector<std::string> events = {
      order("order.released", "MO-1", 1, 1000, "A1"), order("order.started", "MO-1", 1, 2000, "A1"),
      order("order.released", "MO-3", 1, 3000, "A1"), order("order.started", "MO-3", 1, 4000, "A1"),
      order("order.released", "MO-2", 1, 5000, "A2"), order("order.started", "MO-2", 1, 6000, "A2"),
      alarm(1, 7000),  // holds MO-3, the latest on A1
      order("disposition", "MO-3", 1, 8000, "A1"),  // scrapped
      order("order.released", "MO-4", 1, 9000, "A3"),
      alarm(2, 10000),  // MO-3 is final: holds MO-1
  };
  auto memory = Engine::Open(PlantOptions(""));
  ASSERT_TRUE(memory.ok());
  TempDir dir("cache-current");
  EngineOptions options = PlantOptions(dir.File("t.db"));
  options.max_instances_in_memory = 1;
  auto capped = Engine::Open(options);
  ASSERT_TRUE(capped.ok());
  std::string held;
  for (const std::string& e : events) {  // one batch each: evicted after each
    const SubmitResult want = memory.value()->Submit(e).value();
    const SubmitResult got = capped.value()->Submit(e).value();
    ASSERT_EQ(got.outcome, want.outcome) << e << ": " << got.reason;
    ASSERT_EQ(got.signals.size(), want.signals.size()) << e;
    for (size_t i = 0; i < got.signals.size(); ++i) {
      EXPECT_EQ(got.signals[i].key, want.signals[i].key) << e;
      EXPECT_EQ(got.signals[i].delivered, want.signals[i].delivered) << e;
      held += got.signals[i].key + (got.signals[i].delivered ? " held\n" : " not held\n");
    }
    ASSERT_LE(capped.value()->stats().instances_in_memory, 1u) << e;
  }
  EXPECT_EQ(held, "MO-3 held\nMO-1 held\n");
  EXPECT_EQ(capped.value()->GetInstance("production_order", "MO-1").value().state, "on_hold");
  EXPECT_EQ(capped.value()->stats().active_instances, 3u) << "MO-1, MO-2, MO-4";
}

constexpr const char* kJobWorkflow = R"(import "plant"

workflow job {
  key order
  start released on order.released
  state released {
    on order.started -> executing
    after 1h -> released { emit alert.not_started { order: key } }
  }
  state executing {
    on order.finished -> done
    after 30m { emit alert.no_output { order: key } }
  }
  final done
}
)";

// Timers of instances that are only in the database fire at their due time and in due order,
// across a restart, as they do with every instance in memory.
TEST(InstanceCacheTest, TimersOfEvictedInstancesFireInDueOrder) {
  TempDir dir("cache-timers");
  test::WriteFile(dir.File("job.takt"), kJobWorkflow);
  auto event = [](const std::string& id, const std::string& source, const std::string& type,
                  const std::string& key, int64_t ts) {
    return R"({"id":")" + id + R"(","source":")" + source + R"(","type":")" + type +
           R"(","key":")" + key + R"(","seq":)" + (source == "scada" ? id.substr(1) : "1") +
           R"(,"ts":)" + std::to_string(ts) + R"(,"data":{"asset":"A1","code":"X","severity":1}})";
  };
  constexpr int64_t kMinute = 60'000;
  std::vector<std::string> events;
  for (int i = 1; i <= 6; ++i) {  // released a minute apart; half of them started at once
    const std::string key = "MO-" + std::to_string(i);
    events.push_back(event("r" + key, "odoo", "order.released", key, i * kMinute));
    if (i % 2 == 0) events.push_back(event("s" + key, "mes", "order.started", key, i * kMinute + 1));
  }
  for (int t = 1; t <= 20; ++t) events.push_back(event("t" + std::to_string(t), "scada", "alarm", "A9", (30 + t * 7) * kMinute));

  EngineOptions options;
  options.workflow_paths = {dir.File("job.takt")};
  options.store_path = "";
  auto memory = Engine::Open(options);
  ASSERT_TRUE(memory.ok()) << memory.status().message();
  options.store_path = dir.File("t.db");
  options.max_instances_in_memory = 1;
  std::unique_ptr<Engine> capped = std::move(Engine::Open(options).value());
  std::string want, got;
  for (size_t i = 0; i < events.size(); ++i) {
    if (i == events.size() / 2) {  // a restart: the timers wait in the database
      ASSERT_TRUE(capped->Close().ok());
      capped = std::move(Engine::Open(options).value());
      ASSERT_LE(capped->stats().instances_in_memory, 1u);
    }
    const SubmitResult in_memory = memory.value()->Submit(events[i]).value();
    const SubmitResult in_store = capped->Submit(events[i]).value();
    for (const Command& c : in_memory.commands) want += c.id + "\n";
    for (const Command& c : in_store.commands) got += c.id + "\n";
    ASSERT_LE(capped->stats().instances_in_memory, 1u) << events[i];
  }
  ASSERT_EQ(memory.value()->stats().timers_fired, 3u + 3u * 2u)
      << "three 30m alerts; three orders never started, whose 1h timer fires twice each";
  EXPECT_EQ(got, want) << "each timer's command names its instance and due time";
}

// A database from before schema 5 has no due times: the migration computes them from the armed
// timers, so that an instance the engine does not load still fires.
TEST(InstanceCacheTest, TheMigrationGivesArmedTimersTheirDueTime) {
  TempDir dir("cache-migrate-timers");
  test::WriteFile(dir.File("job.takt"), kJobWorkflow);
  EngineOptions options;
  options.workflow_paths = {dir.File("job.takt")};
  options.store_path = dir.File("t.db");
  const std::string released =
      R"({"id":"r1","source":"odoo","type":"order.released","key":"MO-1","seq":1,"ts":0,"data":{"asset":"A1"}})";
  const std::string second =
      R"({"id":"r2","source":"odoo","type":"order.released","key":"MO-2","seq":1,"ts":10,"data":{"asset":"A1"}})";
  {
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    ASSERT_EQ(engine.value()->Submit(released).value().outcome, Outcome::kApplied);
    ASSERT_EQ(engine.value()->Submit(second).value().outcome, Outcome::kApplied);
  }
  test::Execute(options.store_path,
                "DROP INDEX outbox_undelivered; DROP INDEX outbox_dead; "
                "ALTER TABLE outbox DROP COLUMN key; ALTER TABLE outbox DROP COLUMN first_attempt_at; "
                "CREATE INDEX outbox_pending ON outbox (seq) WHERE status = 'pending'; "
                "DROP INDEX instances_due; ALTER TABLE instances DROP COLUMN next_due; "
                "ALTER TABLE instances DROP COLUMN overdue_since; "
                "DROP TABLE cursor_lines; ALTER TABLE cursors DROP COLUMN bytes; ALTER TABLE cursors DROP COLUMN sha256; "
"ALTER TABLE sequences DROP COLUMN last_accepted_seq; "
                "DROP TABLE instance_index; PRAGMA user_version = 4;");
  options.max_instances_in_memory = 1;
  auto engine = Engine::Open(options);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  EXPECT_EQ(Dump(options.store_path, "SELECT key, next_due FROM instances ORDER BY key"),
            "MO-1|3600000\nMO-2|3600010\n");
  EXPECT_EQ(engine.value()->stats().instances_in_memory, 1u);
  const SubmitResult tick =
      engine.value()
          ->Submit(R"({"id":"t1","source":"scada","type":"alarm","key":"A9","seq":1,"ts":3600010,)"
                   R"("data":{"asset":"A9","code":"X","severity":1}})")
          .value();
  std::string fired;
  for (const Command& c : tick.commands) fired += c.id + "\n";
  EXPECT_EQ(fired, "timer:job/MO-1/1h@3600000/workflow:job/0\ntimer:job/MO-2/1h@3600010/workflow:job/0\n");
}

}  // namespace
}  // namespace takt
