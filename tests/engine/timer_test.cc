// Workflow timers (`after DURATION`): armed on entering a state, fired once by event time when
// an event at or past the due time arrives, cancelled by leaving the state, re-armed by
// re-entering it, durable across a restart.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_support.h"
#include "takt/definitions.h"
#include "takt/store.h"

namespace takt {
namespace {

constexpr const char* kJobWorkflow = R"(import "plant"

workflow job {
  key order
  var good: int = 0

  start released on order.released
  state released {
    on order.started -> executing
    on order.cancelled -> cancelled
    after 1h -> released { emit alert.not_started { order: key } }
  }
  state executing {
    on order.progress { set good = event.good }
    on order.finished -> done
    after 30m when good == 0 { emit alert.no_output { order: key } }
    after 45m when good == 0 -> cancelled
  }
  final done
  final cancelled
}
)";

std::string Event(const std::string& id, const std::string& source, const std::string& type,
                  const std::string& key, int64_t ts, const std::string& data) {
  return R"({"id":")" + id + R"(","source":")" + source + R"(","type":")" + type +
         R"(","key":")" + key + R"(","seq":1,"ts":)" + std::to_string(ts) + R"(,"data":)" + data +
         "}";
}
std::string Released(const std::string& id, const std::string& order, int64_t ts) {
  return Event(id, "odoo", "order.released", order, ts, R"({"asset":"A1"})");
}
// An alarm: accepted, changes no order, and moves event time on.
std::string Tick(const std::string& id, int64_t ts) {
  return Event(id, "scada", "alarm", "A9", ts, R"({"asset":"A9","code":"X","severity":1})");
}

constexpr int64_t kHour = 3'600'000;
constexpr int64_t kMinute = 60'000;

class TimerTest : public testing::Test {
 protected:
  void SetUp() override {
    engine_ = test::OpenEngineOnText(kJobWorkflow);
    ASSERT_NE(engine_, nullptr);
  }
  // The commands `json` caused, as "name cause id" lines.
  std::string Submit(const std::string& json) {
    Result<SubmitResult> r = engine_->Submit(json);
    EXPECT_TRUE(r.ok());
    std::string out;
    for (const Command& c : r.value().commands) out += c.name + " " + c.caused_by + " " + c.id + "\n";
    return out;
  }
  std::string State(const std::string& order) {
    Result<InstanceInfo> info = engine_->GetInstance("job", order);
    return info.ok() ? info.value().state : "(none)";
  }
  std::unique_ptr<Engine> engine_;
};

TEST_F(TimerTest, ATimerFiresAtItsDueTimeNotBefore) {
  EXPECT_EQ(Submit(Released("o1", "MO-1", 0)), "");
  EXPECT_EQ(Submit(Tick("t1", kHour - 1)), "");
  EXPECT_EQ(Submit(Tick("t2", kHour)),
            "alert.not_started timer:job/MO-1/1h@3600000 timer:job/MO-1/1h@3600000/workflow:job/0\n");
  EXPECT_EQ(engine_->stats().timers_fired, 1u);
  // `-> released` re-enters the state: the timer is armed again, an hour after it fired.
  EXPECT_EQ(Submit(Tick("t3", 2 * kHour - 1)), "");
  EXPECT_EQ(Submit(Tick("t4", 2 * kHour)),
            "alert.not_started timer:job/MO-1/1h@7200000 timer:job/MO-1/1h@7200000/workflow:job/0\n");
}

TEST_F(TimerTest, LeavingTheStateCancelsItsTimers) {
  Submit(Released("o1", "MO-1", 0));
  Submit(Event("m1", "mes", "order.started", "MO-1", 10 * kMinute, "{}"));
  Submit(Event("m2", "mes", "order.progress", "MO-1", 20 * kMinute, R"({"good":5,"scrap":0})"));
  // The hour in `released` would have ended here; the order left it.
  EXPECT_EQ(Submit(Tick("t1", 5 * kHour)), "");
  EXPECT_EQ(State("MO-1"), "executing");
  EXPECT_EQ(engine_->stats().timers_fired, 2u) << "the two timers of executing came due";
}

TEST_F(TimerTest, GuardsDecideAndDueTimersFireInOrderBeforeTheEvent) {
  Submit(Released("o1", "MO-1", 0));
  Submit(Event("m1", "mes", "order.started", "MO-1", 0, "{}"));
  Submit(Released("o2", "MO-2", 10 * kMinute));
  // At 50 minutes: MO-1's 30m timer (no output: alert), then its 45m one (cancel); MO-2's
  // one-hour timer is not due yet. Then the event itself: MO-2 starts.
  EXPECT_EQ(Submit(Event("m2", "mes", "order.started", "MO-2", 50 * kMinute, "{}")),
            "alert.no_output timer:job/MO-1/30m@1800000 timer:job/MO-1/30m@1800000/workflow:job/0\n");
  EXPECT_EQ(State("MO-1"), "cancelled");
  EXPECT_EQ(State("MO-2"), "executing");
  Submit(Event("m3", "mes", "order.progress", "MO-2", 55 * kMinute, R"({"good":1,"scrap":0})"));
  // MO-2 produced something: its 30m and 45m timers fire, and their guards do not hold.
  EXPECT_EQ(Submit(Tick("t1", 3 * kHour)), "");
  EXPECT_EQ(State("MO-2"), "executing");
}

TEST_F(TimerTest, ALateEventDoesNotFireWhatTimeHasNotReached) {
  Submit(Released("o1", "MO-1", 2 * kHour));
  // Out of order in event time: the order's timer is due at 3h; this tick is at 1h.
  EXPECT_EQ(Submit(Tick("t1", kHour)), "");
  EXPECT_EQ(engine_->stats().timers_fired, 0u);
}

TEST(TimerGraphTest, TimersAreDrawnWithTheirDuration) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("takt-timer-graph-" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  test::WriteFile(dir + "/job.takt", kJobWorkflow);
  DefinitionOptions options;
  options.paths = {dir + "/job.takt"};
  const std::string graph = RenderWorkflowGraph(options, GraphFormat::kMermaid).value();
  EXPECT_NE(graph.find("released --> released : after 1h"), std::string::npos) << graph;
  EXPECT_NE(graph.find("executing --> cancelled : after 45m when good == 0"), std::string::npos)
      << graph;
  std::filesystem::remove_all(dir);
}

// Options for an engine with the job workflow and a database in a fresh scratch directory
// `dir`, named after `name`.
EngineOptions JobOnStore(const std::string& name, std::string& dir) {
  dir = (std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid())))
            .string();
  std::filesystem::create_directories(dir);
  const std::string workflow = dir + "/job.takt";
  test::WriteFile(workflow, kJobWorkflow);
  EngineOptions options;
  options.workflow_paths = {workflow};
  options.store_path = dir + "/t.db";
  return options;
}

TEST(TimerStoreTest, AnArmedTimerSurvivesARestartAndFiresOnce) {
  std::string dir;
  EngineOptions options = JobOnStore("takt-timer", dir);
  {
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    ASSERT_TRUE(engine.value()->Submit(Released("o1", "MO-1", 0)).ok());
  }
  std::string fired;
  for (int run = 0; run < 2; ++run) {  // the second restart must not fire it again
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    Result<SubmitResult> r = engine.value()->Submit(Tick("t" + std::to_string(run), kHour + run));
    ASSERT_TRUE(r.ok());
    for (const Command& c : r.value().commands) fired += c.id + "\n";
    EXPECT_EQ(engine.value()->stats().commands, 1u);
  }
  EXPECT_EQ(fired, "timer:job/MO-1/1h@3600000/workflow:job/0\n");
  std::filesystem::remove_all(dir);
}

TEST_F(TimerTest, TheClockFiresDueTimersWithNoEvent) {
  EXPECT_EQ(Submit(Released("o1", "MO-1", 0)), "");
  SubmitResult r;
  ASSERT_TRUE(engine_->AdvanceClock(kHour - 1, r).ok());
  EXPECT_TRUE(r.commands.empty());
  ASSERT_TRUE(engine_->AdvanceClock(kHour, r).ok());
  ASSERT_EQ(r.commands.size(), 1u);
  EXPECT_EQ(r.commands[0].id, "timer:job/MO-1/1h@3600000/workflow:job/0");
  EXPECT_TRUE(r.event_id.empty());
  EXPECT_EQ(State("MO-1"), "released");  // re-entered: armed again for the next hour
  // The same time again fires nothing more; an event at that time neither.
  ASSERT_TRUE(engine_->AdvanceClock(kHour, r).ok());
  EXPECT_TRUE(r.commands.empty());
  EXPECT_EQ(Submit(Tick("t1", kHour)), "");
  EXPECT_EQ(engine_->stats().timers_fired, 1u);
}

TEST(TimerStoreTest, ATimerDueWhileDownFiresOnceOnTheClockAfterARestart) {
  std::string dir;
  EngineOptions options = JobOnStore("takt-timer-clock", dir);
  std::vector<std::string> delivered;
  options.on_command = [&](const Command& c) { delivered.push_back(c.id); };
  {
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    ASSERT_TRUE(engine.value()->Submit(Released("o1", "MO-1", 0)).ok());
    // Another order's event last: the timer's rows will carry its position.
    ASSERT_TRUE(engine.value()->Submit(Released("o2", "MO-2", 30 * kMinute)).ok());
    SubmitResult r;
    ASSERT_TRUE(engine.value()->AdvanceClock(kHour - 1, r).ok());  // not yet due
    EXPECT_TRUE(r.commands.empty());
  }
  std::string fired;
  for (int run = 0; run < 2; ++run) {  // the second restart must not fire it again
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    SubmitResult r;
    ASSERT_TRUE(engine.value()->AdvanceClock(kHour + kMinute, r).ok());
    for (const Command& c : r.commands) fired += c.id + "\n";
    EXPECT_EQ(engine.value()->stats().commands, 1u);
    // In the outbox, for the dispatcher.
    Result<std::vector<PendingCommand>> pending = engine.value()->PendingCommands(10);
    ASSERT_TRUE(pending.ok());
    ASSERT_EQ(pending.value().size(), 1u);
    EXPECT_EQ(pending.value()[0].key, "MO-1");
  }
  EXPECT_EQ(fired, "timer:job/MO-1/1h@3600000/workflow:job/0\n");
  EXPECT_EQ(delivered, std::vector<std::string>{"timer:job/MO-1/1h@3600000/workflow:job/0"});
  // takt trace shows what the timer did with MO-1's events, and nothing of MO-2's.
  Result<std::string> trace = TraceInstance(options.store_path, "MO-1", false);
  ASSERT_TRUE(trace.ok()) << trace.status().message();
  EXPECT_NE(trace.value().find("timer  transition  released -> released on after 1h"),
            std::string::npos)
      << trace.value();
  EXPECT_NE(trace.value().find("timer  command     timer:job/MO-1/1h@3600000/workflow:job/0 "
                               "alert.not_started"),
            std::string::npos)
      << trace.value();
  EXPECT_EQ(trace.value().find("o2"), std::string::npos) << trace.value();
  Result<std::string> other = TraceInstance(options.store_path, "MO-2", false);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other.value().find("timer"), std::string::npos) << other.value();
  std::filesystem::remove_all(dir);
}

// An SLA breached: a timer's transition kept the instance in its state. It stays overdue, from
// that timer's due, until it enters another state; a timer whose guard does not hold is not one.
TEST_F(TimerTest, AnInstanceATimerKeptInItsStateIsOverdueUntilItMovesOn) {
  auto overdue = [&](const std::string& order) -> std::optional<int64_t> {
    Result<InstanceInfo> info = engine_->GetInstance("job", order);
    EXPECT_TRUE(info.ok());
    return info.ok() ? info.value().overdue_since : std::nullopt;
  };
  Submit(Released("o1", "MO-1", 0));
  Submit(Event("m1", "mes", "order.started", "MO-1", 0, "{}"));
  Submit(Released("o2", "MO-2", 0));
  Submit(Event("m2", "mes", "order.started", "MO-2", 0, "{}"));
  Submit(Event("m3", "mes", "order.progress", "MO-2", kMinute, R"({"good":3,"scrap":0})"));
  Submit(Released("o3", "MO-3", 0));
  EXPECT_EQ(overdue("MO-1"), std::nullopt);
  Submit(Tick("t1", 40 * kMinute));
  EXPECT_EQ(overdue("MO-1"), 30 * kMinute) << "no output after 30 minutes";
  EXPECT_EQ(overdue("MO-2"), std::nullopt) << "its guard did not hold";
  EXPECT_EQ(overdue("MO-3"), std::nullopt);
  Submit(Tick("t2", 2 * kHour + kMinute));
  // MO-1 was cancelled by its 45m timer: another state. MO-3 re-entered released on its
  // reminder, twice: overdue since the first.
  EXPECT_EQ(State("MO-1"), "cancelled");
  EXPECT_EQ(overdue("MO-1"), std::nullopt);
  EXPECT_EQ(overdue("MO-3"), kHour);
  std::vector<std::string> listed;
  engine_->ForEachInstance([&](const InstanceSummary& s) {
    if (s.overdue_since) {
      listed.push_back(std::string(s.key) + "@" + std::to_string(*s.overdue_since));
    }
  });
  EXPECT_EQ(listed, std::vector<std::string>{"MO-3@3600000"});
  Submit(Event("m4", "mes", "order.started", "MO-3", 2 * kHour + 2 * kMinute, "{}"));
  EXPECT_EQ(overdue("MO-3"), std::nullopt) << "it moved on";
}

TEST(TimerStoreTest, OverdueSurvivesARestartInMemoryAndOutOfIt) {
  std::string dir;
  EngineOptions options = JobOnStore("takt-timer-overdue", dir);
  {
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    ASSERT_TRUE(engine.value()->Submit(Released("o1", "MO-1", 0)).ok());
    ASSERT_TRUE(engine.value()->Submit(Released("o2", "MO-2", 0)).ok());
    SubmitResult r;
    ASSERT_TRUE(engine.value()->AdvanceClock(kHour, r).ok());
  }
  // Once with every instance in memory, once with at most one there: the other is read back.
  for (uint64_t cap : {uint64_t{0}, uint64_t{1}}) {
    options.max_instances_in_memory = cap;
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    for (const char* order : {"MO-1", "MO-2"}) {
      Result<InstanceInfo> info = engine.value()->GetInstance("job", order);
      ASSERT_TRUE(info.ok()) << info.status().message();
      EXPECT_EQ(info.value().overdue_since, kHour) << order << " cap " << cap;
    }
    uint64_t overdue = 0;
    engine.value()->ForEachInstance([&](const InstanceSummary& s) {
      if (s.overdue_since) ++overdue;
    });
    EXPECT_EQ(overdue, 2u);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace takt
