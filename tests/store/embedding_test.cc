// The embedding API beyond one thread and one event: submissions from many threads, the
// on_command callback, delivering commands from the outbox, closing, and events given as
// fields.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

#include "engine/store/schema.h"
#include "store/store_support.h"
#include "support/test_support.h"

namespace takt {
namespace {

using test::Dump;
using test::Execute;
using test::PlantEvents;
using test::TempDir;

// The shipped workflow without rules: what becomes of an event then depends on the events of
// its own key only, so any interleaving of keys gives each event the same outcome.
EngineOptions WorkflowOnly(const std::string& db) {
  EngineOptions options;
  options.workflow_paths = {"workflows"};
  options.store_path = db;
  options.durability = Durability::kNormal;
  return options;
}

std::string KeyOf(const std::string& event) {
  const size_t at = event.find("\"key\":\"") + 7;
  return event.substr(at, event.find('"', at) - at);
}

// Run with either durability: with kFull a group is applied while the one before it syncs.
class ThreadsTest : public testing::TestWithParam<Durability> {};

TEST_P(ThreadsTest, SubmissionsFromManyThreadsKeepEachKeysOrderAndLoseNothing) {
  const std::vector<std::string> events = PlantEvents(200, 3);
  // The same events in one thread, in memory: what each event should become.
  auto reference = Engine::Open(WorkflowOnly(""));
  ASSERT_TRUE(reference.ok());
  std::vector<Outcome> expected;
  for (const std::string& e : events) expected.push_back(reference.value()->Submit(e).value().outcome);

  // Four threads, each with the events of its keys in stream order.
  constexpr size_t kThreads = 4;
  std::vector<std::vector<size_t>> mine(kThreads);
  for (size_t i = 0; i < events.size(); ++i) {
    mine[std::hash<std::string>{}(KeyOf(events[i])) % kThreads].push_back(i);
  }
  TempDir dir("threads");
  EngineOptions options = WorkflowOnly(dir.File("t.db"));
  options.durability = GetParam();
  std::vector<std::string> handed_over;  // on_command's, in the order of its calls
  std::atomic<int> in_on_command{0};
  options.on_command = [&](const Command& c) {
    if (++in_on_command > 1) ADD_FAILURE() << "on_command called from two threads at once";
    handed_over.push_back(c.id);
    --in_on_command;
  };
  auto engine = Engine::Open(options);
  ASSERT_TRUE(engine.ok());
  Engine& e = *engine.value();
  std::vector<Outcome> outcomes(events.size());
  std::atomic<bool> failed{false}, submitting{true};
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      SubmitResult result;
      for (size_t i : mine[t]) {
        if (!e.Submit(events[i], result).ok()) failed = true;
        outcomes[i] = result.outcome;
      }
    });
  }
  std::thread reader([&] {  // reads run alongside the submissions
    while (submitting) {
      const EngineStats s = e.stats();
      if (s.events < s.accepted) failed = true;
      (void)e.GetInstance("production_order", "MO-000001");
    }
  });
  for (std::thread& t : threads) t.join();
  submitting = false;
  reader.join();

  ASSERT_FALSE(failed);
  EXPECT_EQ(outcomes, expected);
  const EngineStats stats = e.stats();
  EXPECT_EQ(stats.events, events.size());
  EXPECT_LE(stats.batches, events.size());
  EXPECT_EQ(Dump(dir.File("t.db"), "SELECT count(*) FROM events"), std::to_string(events.size()) + "\n");
  std::string in_emission_order;
  for (const std::string& id : handed_over) in_emission_order += id + "\n";
  EXPECT_EQ(in_emission_order, Dump(dir.File("t.db"), "SELECT id FROM outbox ORDER BY seq"));
  if (GetParam() == Durability::kFull) {
    EXPECT_GE(stats.syncs, 1u);
    EXPECT_LE(stats.syncs, stats.batches + 1) << "at most one per commit, and one at open";
  } else {
    EXPECT_EQ(stats.syncs, 0u);
  }
  std::map<std::string, std::string> states, expected_states;
  e.ForEachInstance([&](const InstanceSummary& i) { states[std::string(i.key)] = i.state; });
  reference.value()->ForEachInstance(
      [&](const InstanceSummary& i) { expected_states[std::string(i.key)] = i.state; });
  EXPECT_EQ(states, expected_states);
}

INSTANTIATE_TEST_SUITE_P(Durability, ThreadsTest,
                         testing::Values(Durability::kNormal, Durability::kFull),
                         [](const testing::TestParamInfo<Durability>& param) {
                           return param.param == Durability::kFull ? "Full" : "Normal";
                         });

// The events of order `order` from release to completion, with a critical defect on the way:
// two commands, odoo.quality.alert and then odoo.production.done.
std::vector<std::string> OneOrder(const std::string& order = "MO-1") {
  int n = 0;
  auto ev = [&](const std::string& source, const std::string& type, int seq,
                const std::string& data) {
    ++n;
    return "{\"id\":\"" + order + "-e" + std::to_string(n) + "\",\"source\":\"" + source +
           "\",\"type\":\"" + type + "\",\"key\":\"" + order + "\",\"seq\":" +
           std::to_string(seq) + ",\"ts\":" + std::to_string(1000 + n) + ",\"data\":" + data + "}";
  };
  return {
      ev("odoo", "order.released", 1, R"({"product":"P","qty":10,"asset":"A01"})"),
      ev("mes", "order.started", 1, "{}"),
      ev("mes", "order.finished", 2, R"({"good":10,"scrap":0})"),
      ev("qms", "inspection.result", 1, R"({"result":"fail","critical":true,"defect":"crack"})"),
      ev("qms", "disposition", 2, R"({"decision":"release"})"),
  };
}

std::vector<std::string_view> Views(const std::vector<std::string>& events) {
  return std::vector<std::string_view>(events.begin(), events.end());
}

std::vector<std::string> CommandIds(const std::vector<SubmitResult>& results) {
  std::vector<std::string> ids;
  for (const SubmitResult& r : results) {
    for (const Command& c : r.commands) ids.push_back(c.id);
  }
  return ids;
}

// With kFull a submission returns once its commit is synced: from one thread, one sync per
// commit, and one at open (for what an earlier process may have left unsynced), whether the
// database is new or not. kNormal syncs no commit (but at checkpoints).
TEST(DurabilityTest, FullSyncsEachCommitBeforeItsSubmissionReturns) {
  TempDir dir("syncs");
  for (int open = 0; open < 2; ++open) {
    EngineOptions options = WorkflowOnly(dir.File("t.db"));
    options.durability = Durability::kFull;
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok());
    Engine& e = *engine.value();
    EXPECT_EQ(e.stats().syncs, 1u) << "open " << open;
    const std::vector<std::string> events = OneOrder("MO-" + std::to_string(open));
    for (size_t i = 0; i < events.size(); ++i) {
      ASSERT_TRUE(e.Submit(events[i]).ok());
      EXPECT_EQ(e.stats().syncs, i + 2) << "open " << open;
    }
    // A read that follows what is synced adds no sync; a delivery marked is synced.
    Result<std::vector<PendingCommand>> pending = e.PendingCommands(10);
    ASSERT_TRUE(pending.ok());
    ASSERT_FALSE(pending.value().empty());
    EXPECT_EQ(e.stats().syncs, events.size() + 1);
    ASSERT_TRUE(e.MarkDelivered(pending.value()[0].command.id).ok());
    EXPECT_EQ(e.stats().syncs, events.size() + 2);
  }
  auto normal = Engine::Open(WorkflowOnly(dir.File("n.db")));
  ASSERT_TRUE(normal.ok());
  ASSERT_TRUE(normal.value()->Submit(OneOrder()[0]).ok());
  EXPECT_EQ(normal.value()->stats().syncs, 0u);
}

// With kNormal the outbox still hands out only commands whose commit is on disk: a read of it
// syncs once when anything was committed since the last, by this engine or by another on the
// same database (a `takt dispatch` beside the engine that writes), and not again for nothing.
TEST(DurabilityTest, NormalSyncsBeforeTheOutboxHandsOutWhatAnyoneCommitted) {
  TempDir dir("normal-outbox");
  auto writer = Engine::Open(WorkflowOnly(dir.File("t.db")));
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  auto dispatcher = Engine::Open(WorkflowOnly(dir.File("t.db")));
  ASSERT_TRUE(dispatcher.ok()) << dispatcher.status().message();
  Engine& w = *writer.value();
  Engine& d = *dispatcher.value();
  const auto offered = [](Engine& e) {
    Result<std::vector<PendingCommand>> pending = e.PendingCommands(100);
    EXPECT_TRUE(pending.ok()) << pending.status().message();
    return pending.ok() ? pending.value().size() : 0;
  };

  std::vector<SubmitResult> results;
  ASSERT_TRUE(w.SubmitBatch(Views(OneOrder("MO-1")), results).ok());
  EXPECT_EQ(w.stats().syncs, 0u) << "a commit was synced";
  EXPECT_EQ(offered(w), 2u);
  EXPECT_EQ(w.stats().syncs, 1u) << "its own commits, before handing out their commands";
  EXPECT_EQ(offered(w), 2u);
  EXPECT_EQ(w.stats().syncs, 1u) << "nothing committed since";

  EXPECT_EQ(offered(d), 2u);
  const uint64_t after_first = d.stats().syncs;
  EXPECT_GE(after_first, 1u);
  EXPECT_EQ(offered(d), 2u);
  EXPECT_EQ(d.stats().syncs, after_first) << "nothing committed since";
  ASSERT_TRUE(w.SubmitBatch(Views(OneOrder("MO-2")), results).ok());
  EXPECT_EQ(offered(d), 4u);
  EXPECT_EQ(d.stats().syncs, after_first + 1) << "the other engine's commit, before its commands";
}

TEST(OnCommandTest, EachCommandIsHandedOverOnceAfterItsCommitInOrder) {
  TempDir dir("on-command");
  const std::string db = dir.File("t.db");
  std::vector<std::string> seen;
  std::vector<std::string> committed_when_seen;
  Engine* engine_ptr = nullptr;
  Status submit_inside;
  EngineOptions options = WorkflowOnly(db);
  options.on_command = [&](const Command& c) {
    seen.push_back(c.id);
    committed_when_seen.push_back(Dump(db, "SELECT count(*) FROM outbox WHERE id = '" + c.id + "'"));
    submit_inside = engine_ptr->Submit(OneOrder()[0]).status();
  };
  auto engine = Engine::Open(options);
  ASSERT_TRUE(engine.ok());
  engine_ptr = engine.value().get();
  std::vector<SubmitResult> results;
  ASSERT_TRUE(engine.value()->SubmitBatch(Views(OneOrder()), results).ok());
  EXPECT_EQ(seen, CommandIds(results));
  EXPECT_EQ(seen.size(), 2u);
  for (const std::string& committed : committed_when_seen) EXPECT_EQ(committed, "1\n");
  EXPECT_EQ(submit_inside.code(), Code::kInvalidArgument) << submit_inside.message();
}

TEST(OutboxTest, CommandsAreOfferedInOrderUntilDeliveredOrGivenUp) {
  TempDir dir("outbox");
  const std::string db = dir.File("t.db");
  std::vector<std::string> ids;
  {
    auto engine = Engine::Open(WorkflowOnly(db));
    ASSERT_TRUE(engine.ok());
    Engine& e = *engine.value();
    std::vector<std::string> events = OneOrder("MO-1");
    for (const std::string& other : OneOrder("MO-2")) events.push_back(other);
    std::vector<SubmitResult> results;
    ASSERT_TRUE(e.SubmitBatch(Views(events), results).ok());
    ids = CommandIds(results);
    ASSERT_EQ(ids.size(), 4u);

    auto pending = e.PendingCommands(100);
    ASSERT_TRUE(pending.ok());
    ASSERT_EQ(pending.value().size(), ids.size());
    for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(pending.value()[i].command.id, ids[i]);

    ASSERT_TRUE(e.MarkDelivered(ids[0]).ok());
    EXPECT_TRUE(e.MarkDelivered(ids[0]).ok()) << "delivering twice is fine";
    // A failed delivery stays first in line, with its attempts and error.
    ASSERT_TRUE(e.MarkFailed(ids[1], "HTTP 503 from odoo", false).ok());
    pending = e.PendingCommands(1);
    ASSERT_TRUE(pending.ok());
    ASSERT_EQ(pending.value().size(), 1u);
    EXPECT_EQ(pending.value()[0].command.id, ids[1]);
    EXPECT_EQ(pending.value()[0].attempts, 1u);
    EXPECT_EQ(pending.value()[0].last_error, "HTTP 503 from odoo");
    ASSERT_TRUE(e.MarkFailed(ids[1], "HTTP 400: rejected", true).ok());

    EXPECT_EQ(e.MarkDelivered("no/such/command").code(), Code::kNotFound);
    EXPECT_EQ(e.MarkFailed(ids[0], "late", false).code(), Code::kInvalidArgument);
    EXPECT_EQ(e.MarkDelivered(ids[1]).code(), Code::kInvalidArgument) << "a dead letter stays dead";
    ASSERT_TRUE(e.Close().ok());
  }
  // The delivery state is in the database: a restart offers the rest only.
  auto engine = Engine::Open(WorkflowOnly(db));
  ASSERT_TRUE(engine.ok());
  auto pending = engine.value()->PendingCommands(100);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending.value().size(), ids.size() - 2);
  EXPECT_EQ(pending.value()[0].command.id, ids[2]);
  EXPECT_EQ(Dump(db, "SELECT status, attempts, last_error FROM outbox WHERE id = '" + ids[1] + "'"),
            "dead|2|HTTP 400: rejected\n");
}

TEST(OutboxTest, WithoutAStoreThereIsNoOutbox) {
  auto engine = Engine::Open(WorkflowOnly(""));
  ASSERT_TRUE(engine.ok());
  EXPECT_EQ(engine.value()->PendingCommands(10).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(engine.value()->MarkDelivered("x").code(), Code::kInvalidArgument);
}

TEST(CloseTest, AClosedEngineRefusesWorkKeepsItsStateReadableAndLeavesOneFile) {
  TempDir dir("close");
  const std::string db = dir.File("t.db");
  auto engine = Engine::Open(WorkflowOnly(db));
  ASSERT_TRUE(engine.ok());
  Engine& e = *engine.value();
  const std::vector<std::string> order = OneOrder();
  ASSERT_TRUE(e.Submit(order[0]).ok());
  ASSERT_TRUE(e.Close().ok());
  EXPECT_TRUE(e.Close().ok()) << "closing twice is fine";
  EXPECT_EQ(e.Submit(order[1]).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(e.PendingCommands(1).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(e.stats().events, 1u);
  EXPECT_EQ(e.GetInstance("production_order", "MO-1").value().state, "released");
  // The write-ahead log was folded back: the database file alone holds everything.
  EXPECT_EQ(test::RunCommand("test -s " + db + "-wal").exit_code, 1);
  EXPECT_EQ(Dump(db, "SELECT count(*) FROM events"), "1\n");
}

TEST(MigrationTest, ADatabaseOfSchemaOneIsMigratedOnOpen) {
  TempDir dir("migrate");
  const std::string db = dir.File("t.db");
  {
    auto engine = Engine::Open(WorkflowOnly(db));
    ASSERT_TRUE(engine.ok());
    ASSERT_TRUE(engine.value()->Submit(OneOrder()[0]).ok());
  }
  // Back to what schema 1 was: no index of pending commands, none of open instances, an index
  // of the log by key and no chains through it, no timers' due times and no instance_index.
  Execute(db, "DROP INDEX outbox_undelivered; DROP INDEX outbox_dead; "
              "ALTER TABLE outbox DROP COLUMN key; ALTER TABLE outbox DROP COLUMN first_attempt_at; "
              "DROP INDEX instances_open; "
              "CREATE INDEX events_by_key ON events (key); ALTER TABLE events DROP COLUMN prev_pos; "
              "ALTER TABLE sequences DROP COLUMN last_pos; DROP INDEX instances_due; "
              "ALTER TABLE instances DROP COLUMN next_due; "
                "ALTER TABLE instances DROP COLUMN overdue_since; DROP TABLE instance_index; "
              "DROP TABLE cursor_lines; ALTER TABLE cursors DROP COLUMN bytes; ALTER TABLE cursors DROP COLUMN sha256; "
"ALTER TABLE sequences DROP COLUMN last_accepted_seq; "
              "PRAGMA user_version = 1;");
  EngineOptions capped = WorkflowOnly(db);
  capped.max_instances_in_memory = 1;
  auto engine = Engine::Open(capped);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  EXPECT_EQ(Dump(db, "PRAGMA user_version"), "9\n");
  // With a cap, the open order's index value is filled in from its variables; it took it at 2
  // on the index clock (1: the initial "", which `set asset` replaced).
  EXPECT_EQ(Dump(db, "SELECT indexed_at FROM instances"), "[2]\n");
  EXPECT_EQ(Dump(db, "SELECT workflow, key, var, value, at FROM instance_index"),
            "production_order|MO-1|asset|\"A01\"|2\n");
  EXPECT_EQ(Dump(db, "SELECT group_concat(name) FROM (SELECT name FROM sqlite_schema WHERE name IN "
                     "('outbox_pending', 'outbox_undelivered', 'instances_open', 'events_by_key') "
                     "ORDER BY name)"),
            "instances_open,outbox_undelivered\n");
  // The index of undelivered commands tests its statuses with OR (an IN list of three cost
  // every write to the outbox a temporary table), and the dispatcher's query reads through it.
  EXPECT_NE(Dump(db, "SELECT sql FROM sqlite_schema WHERE name = 'outbox_undelivered'")
                .find("WHERE " TAKT_OUTBOX_UNDELIVERED),
            std::string::npos);
  EXPECT_NE(Dump(db, "EXPLAIN QUERY PLAN SELECT seq FROM outbox WHERE " TAKT_OUTBOX_UNDELIVERED
                     " ORDER BY seq LIMIT 10")
                .find("USING INDEX outbox_undelivered"),
            std::string::npos);
  EXPECT_EQ(Dump(db, "SELECT last_pos FROM sequences"), "1\n");
  EXPECT_EQ(engine.value()->stats().events, 1u);
  ASSERT_TRUE(engine.value()->Submit(OneOrder()[1]).ok());
  EXPECT_EQ(Dump(db, "SELECT pos, prev_pos FROM events ORDER BY pos"), "1|NULL\n2|NULL\n")
      << "odoo and mes: two (source, key)s, each a chain of one";
}

TEST(EventInputTest, AnEventGivenAsFieldsIsTheSameAsItsJson) {
  auto by_json = Engine::Open(WorkflowOnly(""));
  auto by_fields = Engine::Open(WorkflowOnly(""));
  ASSERT_TRUE(by_json.ok() && by_fields.ok());
  const std::string json = OneOrder()[0];
  EventInput event;
  event.id = "MO-1-e1";
  event.source = "odoo";
  event.type = "order.released";
  event.key = "MO-1";
  event.seq = 1;
  event.ts = 1001;
  event.data_json = R"({"product":"P","qty":10,"asset":"A01"})";
  SubmitResult a, b;
  ASSERT_TRUE(by_json.value()->Submit(json, a).ok());
  ASSERT_TRUE(by_fields.value()->Submit(event, b).ok());
  EXPECT_EQ(b.outcome, a.outcome);
  EXPECT_EQ(b.event_id, "MO-1-e1");
  EXPECT_EQ(by_fields.value()->GetInstance("production_order", "MO-1").value().variables_json,
            by_json.value()->GetInstance("production_order", "MO-1").value().variables_json);

  // A quote in a field is escaped, not a way to break the JSON; a control character is
  // escaped too, and then refused as the decoder refuses it in any event's id.
  event.id = "e\"2";
  event.key = "MO-2";
  event.data_json = R"({"product":"P","qty":10,"asset":"A01"})";
  ASSERT_TRUE(by_fields.value()->Submit(event, b).ok());
  EXPECT_EQ(b.outcome, Outcome::kApplied) << b.reason;
  EXPECT_EQ(b.event_id, "e\"2");
  event.id = "e\n2";
  ASSERT_TRUE(by_fields.value()->Submit(event, b).ok());
  EXPECT_EQ(b.outcome, Outcome::kMalformed);
  EXPECT_EQ(b.reason, "field id: holds the control character \\x0A");

  // Data that is not a JSON object is a malformed event, named as such.
  event.id = "e3";
  event.data_json = "{\"order\":";
  ASSERT_TRUE(by_fields.value()->Submit(event, b).ok());
  EXPECT_EQ(b.outcome, Outcome::kMalformed);
  EXPECT_FALSE(b.reason.empty());
}

}  // namespace
}  // namespace takt
