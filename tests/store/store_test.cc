// The durable store seen from the engine: a run on a database reports what a run in memory
// reports, survives being closed and reopened at any batch, names its commands
// deterministically, refuses files that are not its own, and keeps an audit chain that notices
// tampering.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "store/store_support.h"
#include "support/test_support.h"
#include "takt/simulation.h"
#include "takt/store.h"

namespace takt {
namespace {

using test::Dump;
using test::PlantEvents;
using test::PlantOptions;
using test::Report;
using test::TempDir;

class StoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { events_ = new std::vector<std::string>(PlantEvents(300, 7)); }
  static void TearDownTestSuite() { delete events_; }
  static const std::vector<std::string>& events() { return *events_; }
  // Events [from, from + n) as views.
  static std::vector<std::string_view> Slice(size_t from, size_t n) {
    std::vector<std::string_view> out;
    for (size_t i = from; i < std::min(from + n, events_->size()); ++i) out.emplace_back((*events_)[i]);
    return out;
  }

 private:
  static std::vector<std::string>* events_;
};
std::vector<std::string>* StoreTest::events_ = nullptr;

TEST_F(StoreTest, DurableRunReportsWhatAnInMemoryRunReports) {
  const std::string expected = Report(PlantOptions(""), events());
  ASSERT_NE(expected.find("odoo.quality.alert"), std::string::npos) << "the stream exercises R2";
  for (size_t batch : {size_t{1}, size_t{64}, size_t{5000}}) {
    TempDir dir("store-same");
    EXPECT_EQ(Report(PlantOptions(dir.File("t.db")), events(), batch), expected) << batch;
    EXPECT_EQ(test::IntegrityCheck(dir.File("t.db")), "ok");
  }
}

TEST_F(StoreTest, ReopeningAtAnyBatchContinuesAsOneRun) {
  const std::string expected = Report(PlantOptions(""), events());
  TempDir dir("store-reopen");
  const std::string db = dir.File("t.db");
  std::string report;
  // Six engines one after the other on the same file, each taking the next slice of events:
  // instances, rule windows, open requests and the order-on-asset index must all carry over.
  const size_t slice = events().size() / 6 + 1;
  for (size_t start = 0; start < events().size(); start += slice) {
    Result<std::unique_ptr<Engine>> engine = Engine::Open(PlantOptions(db));
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    Simulation sim(*engine.value(), "events");
    for (size_t i = start; i < std::min(events().size(), start + slice); ++i) {
      ASSERT_TRUE(sim.FeedLine(events()[i]).ok());
    }
    ASSERT_TRUE(sim.Flush().ok());
    report = sim.ReportJson().value();
  }
  EXPECT_EQ(report, expected);
}

TEST_F(StoreTest, CommandIdsComeFromTheCauseTheEmitterAndAnIndex) {
  TempDir dir("store-ids");
  (void)Report(PlantOptions(dir.File("a.db")), events(), 1);
  (void)Report(PlantOptions(dir.File("b.db")), events(), 999);
  const std::string sql = "SELECT id, caused_by, emitted_by FROM outbox ORDER BY seq";
  const std::string a = Dump(dir.File("a.db"), sql);
  EXPECT_EQ(a, Dump(dir.File("b.db"), sql));
  EXPECT_EQ(Dump(dir.File("a.db"), "SELECT count(*) = count(DISTINCT id) FROM outbox"), "1\n");
  // "scada-000123/rule:alarm_to_maintenance/0": the rule's name, not its version, so that a
  // replay on an edited rule names the same effect the same way.
  EXPECT_NE(a.find("/rule:alarm_to_maintenance/0|"), std::string::npos);
  EXPECT_NE(a.find("/workflow:production_order/0|"), std::string::npos);
  EXPECT_EQ(Dump(dir.File("a.db"),
                 "SELECT count(*) FROM outbox WHERE id NOT LIKE caused_by || '/%'"), "0\n");
}

TEST_F(StoreTest, EveryVersionThatRanIsKeptWholeByItsHash) {
  TempDir dir("store-defs");
  const std::string db = dir.File("t.db");
  (void)Report(PlantOptions(db), PlantEvents(5, 1));
  const std::string rows = Dump(db, "SELECT kind, name, file, length(text) > 0 FROM definitions ORDER BY kind, name");
  EXPECT_EQ(rows,
            "rule|alarm_to_maintenance|rules/alarm_to_maintenance.lua|1\n"
            "rule|alarm_to_quality_hold|rules/alarm_to_quality_hold.lua|1\n"
            "rule|telemetry_limits|rules/telemetry_limits.lua|1\n"
            "workflow|production_order|workflows/production_order.takt|1\n");
  // The workflow's version covers the event schemas it imports: they are stored with it.
  const nlohmann::json imports = nlohmann::json::parse(
      Dump(db, "SELECT imports FROM definitions WHERE kind = 'workflow'"));
  ASSERT_EQ(imports.size(), 1u);
  EXPECT_EQ(imports[0][0], "<stdlib>/plant.takt");
  EXPECT_NE(imports[0][1].get<std::string>().find("source odoo"), std::string::npos);
  EXPECT_EQ(Dump(db, "SELECT version FROM instances LIMIT 1"),
            Dump(db, "SELECT hash FROM definitions WHERE kind = 'workflow'"));
}

TEST_F(StoreTest, AnIdCommittedBeforeARestartIsADuplicateAfterIt) {
  TempDir dir("store-dup");
  const std::string db = dir.File("t.db");
  const std::string released =
      R"({"id":"o1","source":"odoo","type":"order.released","key":"MO-1","seq":1,"ts":1,"data":{"asset":"A1"}})";
  {
    auto engine = Engine::Open(PlantOptions(db));
    ASSERT_TRUE(engine.ok());
    EXPECT_EQ(engine.value()->Submit(released).value().outcome, Outcome::kApplied);
  }
  auto engine = Engine::Open(PlantOptions(db));
  ASSERT_TRUE(engine.ok());
  SubmitResult again = engine.value()->Submit(released).value();
  EXPECT_EQ(again.outcome, Outcome::kDuplicate);
  EXPECT_EQ(again.position, 2u);
  EXPECT_EQ(engine.value()->stats().events, 2u);
  EXPECT_EQ(engine.value()->stats().accepted, 1u);
  EXPECT_EQ(engine.value()->GetInstance("production_order", "MO-1").value().state, "released");
}

TEST_F(StoreTest, ResultsComeBackOnlyWithTheirCommit) {
  TempDir dir("store-batch");
  const std::string db = dir.File("t.db");
  auto engine = Engine::Open(PlantOptions(db));
  ASSERT_TRUE(engine.ok());
  const std::vector<std::string_view> batch = Slice(0, 100);
  std::vector<SubmitResult> results;
  InputCursor cursor;
  cursor.name = "feed";
  cursor.position = 100;
  ASSERT_TRUE(engine.value()->SubmitBatch(batch, results, &cursor).ok());
  ASSERT_EQ(results.size(), 100u);
  // What the results say is what a second connection reads: committed.
  EXPECT_EQ(Dump(db, "SELECT count(*) FROM events"), "100\n");
  EXPECT_EQ(Dump(db, "SELECT position FROM cursors WHERE name = 'feed'"), "100\n");
  EXPECT_EQ(engine.value()->CursorPosition("feed").value(), 100u);
  EXPECT_EQ(results.back().position, 100u);
}

TEST_F(StoreTest, AFullDatabaseRefusesTheBatchWholeAndTheEngineGoesOn) {
  const std::string expected = Report(PlantOptions(""), events());
  TempDir dir("store-full");
  const std::string db = dir.File("t.db");
  EngineOptions capped = PlantOptions(db);
  capped.store_max_bytes = 256 * 1024;
  size_t committed = 0;
  {
    auto engine = Engine::Open(capped);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    std::vector<SubmitResult> results;
    Status status;
    while (committed < events().size()) {
      const size_t n = std::min<size_t>(50, events().size() - committed);
      const std::vector<std::string_view> batch = Slice(committed, n);
      status = engine.value()->SubmitBatch(batch, results);
      if (!status.ok()) break;
      committed += n;
    }
    ASSERT_FALSE(status.ok()) << "the cap was never reached";
    EXPECT_EQ(status.code(), Code::kIoError);
    EXPECT_NE(status.message().find("full"), std::string::npos) << status.message();
    EXPECT_TRUE(results.empty()) << "nothing of a failed batch is acknowledged";
    // Memory went back to the last commit: the engine agrees with its database.
    EXPECT_EQ(engine.value()->stats().events, committed);
    EXPECT_EQ(Dump(db, "SELECT count(*) FROM events"), std::to_string(committed) + "\n");
    // It keeps running: the next batch gets the same clear error, not a crash.
    EXPECT_EQ(engine.value()->SubmitBatch(Slice(committed, 50), results).code(), Code::kIoError);
  }
  // Room returns (here: the cap is lifted): the rest goes in and the run ends as if
  // nothing had happened.
  auto engine = Engine::Open(PlantOptions(db));
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Simulation sim(*engine.value(), "events");
  for (size_t i = committed; i < events().size(); ++i) ASSERT_TRUE(sim.FeedLine(events()[i]).ok());
  ASSERT_TRUE(sim.Flush().ok());
  EXPECT_EQ(sim.ReportJson().value(), expected);
  EXPECT_EQ(test::IntegrityCheck(db), "ok");
}

TEST(StoreRulesTest, AStateThatCannotBeSavedIsARuleErrorAndTheOldStateStays) {
  TempDir dir("store-rule-state");
  test::WriteFile(dir.File("keys.lua"), R"(return rule "keys" {
  on = "alarm",
  decide = function(ev, state)
    state.n = (state.n or 0) + 1
    if ev.data.severity == 4 then state[{}] = 1 end
  end })");
  EngineOptions options = PlantOptions(dir.File("t.db"));
  options.rules_dir = dir.path();
  auto alarm = [](const std::string& id, int severity) {
    return R"({"id":")" + id + R"(","source":"scada","type":"alarm","key":"A1","seq":1,"ts":1,)" +
           R"("data":{"asset":"A1","code":"X","severity":)" + std::to_string(severity) + "}}";
  };
  {
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    EXPECT_TRUE(engine.value()->Submit(alarm("s1", 1)).value().rule_errors.empty());
    const SubmitResult bad = engine.value()->Submit(alarm("s2", 4)).value();
    ASSERT_EQ(bad.rule_errors.size(), 1u);
    EXPECT_NE(bad.rule_errors[0].message.find("keys must be strings, numbers or booleans, not a table"),
              std::string::npos) << bad.rule_errors[0].message;
  }
  // What was saved is the state from before the failed evaluation: n = 1.
  EXPECT_EQ(Dump(dir.File("t.db"), "SELECT state FROM rule_state WHERE rule = 'keys'"), "{s1:ni1;}\n");
}

TEST(StoreFilesTest, AFileThatIsNotADatabaseIsRefusedClearly) {
  TempDir dir("store-garbage");
  const std::string path = dir.File("garbage.db");
  test::WriteFile(path, std::string(8192, 'x'));
  auto engine = Engine::Open(PlantOptions(path));
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), Code::kCorruption);
  EXPECT_NE(engine.status().message().find(path), std::string::npos) << engine.status().message();
  EXPECT_NE(engine.status().message().find("not a database"), std::string::npos)
      << engine.status().message();
}

TEST(StoreFilesTest, AnotherApplicationsDatabaseIsLeftAlone) {
  TempDir dir("store-foreign");
  const std::string path = dir.File("foreign.db");
  test::Execute(path.c_str(), "CREATE TABLE stock (item TEXT, qty INTEGER)");
  auto engine = Engine::Open(PlantOptions(path));
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), Code::kInvalidArgument);
  EXPECT_NE(engine.status().message().find("is not a takt database"), std::string::npos);
  EXPECT_EQ(Dump(path, "SELECT name FROM sqlite_schema"), "stock\n") << "nothing was added";
}

TEST(StoreFilesTest, ADatabaseFromANewerTaktIsRefused) {
  TempDir dir("store-newer");
  const std::string path = dir.File("t.db");
  { ASSERT_TRUE(Engine::Open(PlantOptions(path)).ok()); }
  test::Execute(path, "PRAGMA user_version = 99");
  auto engine = Engine::Open(PlantOptions(path));
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(engine.status().message().find("schema version 99"), std::string::npos)
      << engine.status().message();
}

TEST(StoreFilesTest, AMissingDirectoryIsNamed) {
  auto engine = Engine::Open(PlantOptions("/no/such/dir/t.db"));
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(engine.status().message().find("/no/such/dir/t.db"), std::string::npos);
}

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    (void)Report(PlantOptions(db_), PlantEvents(40, 3));
    ASSERT_TRUE(VerifyAudit(db_).value().ok);
  }
  TempDir dir_{"store-audit"};
  std::string db_ = dir_.File("t.db");
};

TEST_F(AuditTest, AnUntouchedChainVerifies) {
  const AuditVerification v = VerifyAudit(db_).value();
  EXPECT_EQ(std::to_string(v.rows) + "\n",
            Dump(db_, "SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM audit)"));
  // The last link: the last event, or the last audit row when that event caused something.
  EXPECT_EQ(v.head + "\n",
            Dump(db_, "SELECT CASE WHEN (SELECT max(pos) FROM audit) = (SELECT max(pos) FROM events) "
                      "THEN (SELECT hash FROM audit ORDER BY seq DESC LIMIT 1) "
                      "ELSE (SELECT hash FROM events ORDER BY pos DESC LIMIT 1) END"));
  // Every decision is there: each event with its outcome, each command.
  EXPECT_EQ(Dump(db_, "SELECT count(*) FROM audit WHERE kind = 'command'"),
            Dump(db_, "SELECT count(*) FROM outbox"));
  EXPECT_EQ(Dump(db_, "SELECT count(*) FROM events WHERE hash IS NULL"), "0\n");
}

TEST_F(AuditTest, TheLastRowsDeletedVerifyAloneButNotAgainstTheKeptHead) {
  const AuditVerification before = VerifyAudit(db_).value();
  const AuditHead kept = ParseAuditHead(before.head + ":" + std::to_string(before.rows)).value();
  EXPECT_TRUE(VerifyAudit(db_, kept).value().ok);
  // The last event and what it caused go: what is left is a sound chain, only shorter.
  test::Execute(db_, "DELETE FROM audit WHERE pos = (SELECT max(pos) FROM events); "
                     "DELETE FROM events WHERE pos = (SELECT max(pos) FROM events)");
  EXPECT_TRUE(VerifyAudit(db_).value().ok);
  const AuditVerification v = VerifyAudit(db_, kept).value();
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("fewer than the " + std::to_string(before.rows) +
                           " of the expected head: rows were removed from its end"),
            std::string::npos)
      << v.problem;
}

TEST_F(AuditTest, AChainRewrittenFromTheStartDoesNotPassThroughTheKeptHead) {
  const AuditVerification before = VerifyAudit(db_).value();
  // Another database of the same length: a chain that verifies on its own, but is not this one.
  TempDir other_dir("store-audit-other");
  const std::string other = other_dir.File("t.db");
  (void)Report(PlantOptions(other), PlantEvents(40, 4));
  AuditHead kept{before.rows / 2, ""};
  kept.hash = before.head;  // a hash the other chain does not have at that row
  const AuditVerification v = VerifyAudit(other, kept).value();
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("not the expected " + before.head + ": the chain was rewritten"),
            std::string::npos)
      << v.problem;
  EXPECT_FALSE(ParseAuditHead("abc:1").ok());
  EXPECT_FALSE(ParseAuditHead(before.head + ":0").ok());
  EXPECT_FALSE(ParseAuditHead(before.head).ok());
}

TEST_F(AuditTest, AnEditedEventIsFound) {
  test::Execute(db_, "UPDATE events SET outcome = 'applied', reason = NULL WHERE pos = "
                     "(SELECT min(pos) FROM events WHERE outcome = 'out_of_sequence')");
  const AuditVerification v = VerifyAudit(db_).value();
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("does not match its hash"), std::string::npos) << v.problem;
}

TEST_F(AuditTest, AnOutcomeEditedToNoOutcomeAtAllIsFound) {
  test::Execute(db_, "UPDATE events SET outcome = 'approved' WHERE pos = "
                     "(SELECT min(pos) FROM events WHERE outcome = 'applied')");
  const AuditVerification v = VerifyAudit(db_).value();
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("has an unknown outcome 'approved'"), std::string::npos) << v.problem;
}

TEST_F(AuditTest, AnEditedCommandRecordIsFound) {
  test::Execute(db_, "UPDATE audit SET detail = replace(detail, '\"high\"', '\"normal\"') "
                     "WHERE seq = (SELECT min(seq) FROM audit WHERE detail LIKE '%\"high\"%')");
  const AuditVerification v = VerifyAudit(db_).value();
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("audit row"), std::string::npos) << v.problem;
}

TEST_F(AuditTest, ADeletedEventIsFound) {
  test::Execute(db_, "DELETE FROM events WHERE pos = 20");
  const AuditVerification v = VerifyAudit(db_).value();
  EXPECT_FALSE(v.ok);
  EXPECT_EQ(v.first_bad_row, v.rows + 1) << v.problem;
  EXPECT_NE(v.problem.find("position 20 is missing"), std::string::npos) << v.problem;
}

TEST_F(AuditTest, AnEventRenumberedToHideADeletionIsFound) {
  test::Execute(db_, "DELETE FROM events WHERE pos = 20; UPDATE events SET pos = pos - 1 WHERE pos > 20; "
                     "UPDATE audit SET pos = pos - 1 WHERE pos > 20");
  const AuditVerification v = VerifyAudit(db_).value();
  EXPECT_FALSE(v.ok);
  EXPECT_NE(v.problem.find("does not match its hash"), std::string::npos) << v.problem;
}

TEST(TraceTest, AnOrderHeldByARuleShowsWhyAndByWhichVersion) {
  TempDir dir("store-trace");
  const std::string db = dir.File("t.db");
  const std::vector<std::string> events = {
      R"({"id":"o1","source":"odoo","type":"order.released","key":"MO-1","seq":1,"ts":1000,"data":{"asset":"A1","qty":10}})",
      R"({"id":"m1","source":"mes","type":"order.started","key":"MO-1","seq":1,"ts":2000,"data":{}})",
      R"({"id":"s1","source":"scada","type":"alarm","key":"A1","seq":1,"ts":3000,"data":{"asset":"A1","code":"OVERTEMP","severity":4}})",
      R"({"id":"m2","source":"mes","type":"order.finished","key":"MO-1","seq":2,"ts":4000,"data":{"good":9,"scrap":1}})",
  };
  (void)Report(PlantOptions(db), events);
  const std::string text = TraceInstance(db, "MO-1", false).value();
  EXPECT_NE(text.find("created in released on order.released"), std::string::npos) << text;
  EXPECT_NE(text.find("executing -> on_hold on signal hold"), std::string::npos) << text;
  EXPECT_NE(text.find("hold delivered (from rule alarm_to_quality_hold@"), std::string::npos) << text;
  EXPECT_NE(text.find("order.finished out_of_sequence"), std::string::npos) << text;
  EXPECT_NE(text.find("[pending]"), std::string::npos) << "the quality alert's delivery state\n" << text;

  const nlohmann::json doc = nlohmann::json::parse(TraceInstance(db, "MO-1", true).value());
  EXPECT_EQ(doc["instances"][0]["state"], "on_hold");
  bool alert = false;
  for (const auto& entry : doc["timeline"]) {
    if (entry.value("command", "") == "s1/rule:alarm_to_quality_hold/0") {
      alert = entry["delivery"] == "pending" && entry["event"] == "s1";
    }
  }
  EXPECT_TRUE(alert) << doc.dump(2);
  EXPECT_EQ(TraceInstance(db, "MO-404", false).status().code(), Code::kNotFound);
}

// From schema 4 a key's events are found through chains of the log's rows, not an index of the
// log by key. Over a plant run with duplicates and events out of sequence, plus a duplicate that
// is the only event of its (source, key): every key's trace is what the index gave, and a
// database of schema 3 is migrated to the same chains and sequence positions.
TEST(TraceTest, TheLogsChainsFindWhatTheIndexByKeyFound) {
  TempDir dir("store-chains");
  const std::string db = dir.File("t.db");
  std::vector<std::string> events = PlantEvents(150, 4);
  std::string stray = events[0];  // sent again under another key: a duplicate
  const size_t key_at = stray.find("\"key\":\"") + 7;
  stray.replace(key_at, stray.find('"', key_at) - key_at, "MO-STRAY");
  events.push_back(stray);
  (void)Report(PlantOptions(db), events);
  ASSERT_EQ(Dump(db, "SELECT outcome FROM events WHERE key = 'MO-STRAY'"), "duplicate\n");
  ASSERT_NE(Dump(db, "SELECT count(*) FROM events WHERE outcome = 'out_of_sequence'"), "0\n");

  std::vector<std::string> keys;
  std::istringstream lines(Dump(db, "SELECT key FROM events WHERE key IS NOT NULL "
                                    "UNION SELECT key FROM audit WHERE key IS NOT NULL"));
  for (std::string key; std::getline(lines, key);) keys.push_back(key);
  ASSERT_GT(keys.size(), 150u);
  std::map<std::string, std::string> traces;
  for (const std::string& key : keys) traces[key] = TraceInstance(db, key, false).value();

  // The same database as schema 3 had it: the index, no chains, positions of non-duplicates.
  const std::string old = dir.File("old.db");
  std::filesystem::copy_file(db, old);
  const std::string keys_before = Dump(old, "SELECT id, key FROM outbox ORDER BY seq");
  ASSERT_NE(keys_before.find("|MO-"), std::string::npos);
  test::Execute(old,
                "DROP INDEX outbox_undelivered; DROP INDEX outbox_dead; "
                "ALTER TABLE outbox DROP COLUMN key; ALTER TABLE outbox DROP COLUMN first_attempt_at; "
                "CREATE INDEX outbox_pending ON outbox (seq) WHERE status = 'pending'; "
                "CREATE INDEX events_by_key ON events (key); "
                "DELETE FROM sequences WHERE (source, key) NOT IN (SELECT source, key FROM events "
                "  WHERE key IS NOT NULL AND outcome <> 'duplicate'); "
                "ALTER TABLE events DROP COLUMN prev_pos; ALTER TABLE sequences DROP COLUMN last_pos; "
                "DROP INDEX instances_due; ALTER TABLE instances DROP COLUMN next_due; "
                "ALTER TABLE instances DROP COLUMN overdue_since; "
                "DROP TABLE instance_index; "
                "DROP TABLE cursor_lines; ALTER TABLE cursors DROP COLUMN bytes; ALTER TABLE cursors DROP COLUMN sha256; "
"ALTER TABLE sequences DROP COLUMN last_accepted_seq; "
                "PRAGMA user_version = 3;");
  for (const std::string& key : keys) {
    ASSERT_EQ(TraceInstance(old, key, false).value(), traces[key]) << "schema 3, " << key;
  }
  ASSERT_TRUE(Engine::Open(PlantOptions(old)).ok());  // migrates
  EXPECT_EQ(Dump(old, "PRAGMA user_version"), "9\n");
  // Each command's ordering key, which schema 7 adds, is found again from the audit rows.
  EXPECT_EQ(Dump(old, "SELECT id, key FROM outbox ORDER BY seq"), keys_before);
  for (const std::string& key : keys) {
    ASSERT_EQ(TraceInstance(old, key, false).value(), traces[key]) << "migrated, " << key;
  }
  const char* const chains = "SELECT pos, prev_pos FROM events ORDER BY pos";
  EXPECT_EQ(Dump(old, chains), Dump(db, chains));
  const char* const positions = "SELECT * FROM sequences ORDER BY source, key";
  EXPECT_EQ(Dump(old, positions), Dump(db, positions));
}

TEST(StrandedTest, ANewDefinitionThatDropsARunningStateIsFlaggedAndOldInstancesStayOnTheirs) {
  TempDir dir("store-stranded");
  const std::string db = dir.File("t.db");
  const std::vector<std::string> events = {
      R"({"id":"o1","source":"odoo","type":"order.released","key":"MO-1","seq":1,"ts":1000,"data":{"asset":"A1"}})",
      R"({"id":"o2","source":"odoo","type":"order.released","key":"MO-2","seq":1,"ts":1000,"data":{"asset":"A2"}})",
  };
  (void)Report(PlantOptions(db), events);
  // The same workflow with `released` renamed: both running orders would be stranded.
  std::string text = test::ReadFile("workflows/production_order.takt");
  for (const std::string from : {"start released on", "state released {"}) {
    const size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), from == "state released {" ? "state waiting {" : "start waiting on");
  }
  const std::string renamed = dir.File("renamed.takt");
  test::WriteFile(renamed, text);
  DefinitionOptions defs;
  defs.paths = {renamed};
  ASSERT_TRUE(CheckDefinitions(defs).ok()) << "the renamed workflow compiles";
  const std::vector<std::string> stranded = StrandedInstances(db, defs).value();
  ASSERT_EQ(stranded.size(), 1u);
  EXPECT_NE(stranded[0].find("2 running production_order instance(s) in state released"),
            std::string::npos) << stranded[0];
  EXPECT_TRUE(StrandedInstances(db, DefinitionOptions{{"workflows"}, ""}).value().empty());

  // They are not lost for that: each goes on on the version it started on, while new orders
  // start on the new one.
  EngineOptions options = PlantOptions(db);
  options.workflow_paths = {renamed};
  for (int run = 0; run < 2; ++run) {  // the pinning holds across restarts too
    auto engine = Engine::Open(options);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    if (run == 0) {
      EXPECT_EQ(engine.value()->Submit(
          R"({"id":"m1","source":"mes","type":"order.started","key":"MO-1","seq":1,"ts":2000,"data":{}})")
                    .value().outcome, Outcome::kApplied);
      EXPECT_EQ(engine.value()->Submit(
          R"({"id":"o3","source":"odoo","type":"order.released","key":"MO-3","seq":1,"ts":3000,"data":{"asset":"A3"}})")
                    .value().outcome, Outcome::kApplied);
    }
    const InstanceInfo mo1 = engine.value()->GetInstance("production_order", "MO-1").value();
    const InstanceInfo mo2 = engine.value()->GetInstance("production_order", "MO-2").value();
    const InstanceInfo mo3 = engine.value()->GetInstance("production_order", "MO-3").value();
    EXPECT_EQ(mo1.state, "executing");
    EXPECT_EQ(mo2.state, "released");
    EXPECT_EQ(mo3.state, "waiting");
    EXPECT_EQ(mo1.version, mo2.version);
    EXPECT_NE(mo1.version, mo3.version);
    EXPECT_EQ(engine.value()->stats().instances, 3u);
  }
  EXPECT_EQ(Dump(db, "SELECT key, state FROM instances ORDER BY key"),
            "MO-1|executing\nMO-2|released\nMO-3|waiting\n");
}

TEST(StrandedTest, RulesReachInstancesOfEveryVersionAndTheLatestOnAnAssetIsCurrent) {
  TempDir dir("store-versions-rules");
  const std::string db = dir.File("t.db");
  (void)Report(PlantOptions(db), {
      R"({"id":"o1","source":"odoo","type":"order.released","key":"MO-1","seq":1,"ts":1000,"data":{"asset":"A1"}})",
      R"({"id":"m1","source":"mes","type":"order.started","key":"MO-1","seq":1,"ts":2000,"data":{}})"});
  std::string text = test::ReadFile("workflows/production_order.takt");
  for (const std::string from : {"start released on", "state released {"}) {
    text.replace(text.find(from), from.size(),
                 from == "state released {" ? "state waiting {" : "start waiting on");
  }
  const std::string renamed = dir.File("renamed.takt");
  test::WriteFile(renamed, text);
  EngineOptions options = PlantOptions(db);
  options.workflow_paths = {renamed};
  auto engine = Engine::Open(options);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  auto alarm = [](const std::string& id, int64_t ts) {
    return R"({"id":")" + id + R"(","source":"scada","type":"alarm","key":"A1","seq":1,"ts":)" +
           std::to_string(ts) + R"(,"data":{"asset":"A1","code":"HOT","severity":4}})";
  };
  // R2 finds the order on A1, which runs on the old version, and holds it.
  SubmitResult first = engine.value()->Submit(alarm("s1", 3000)).value();
  ASSERT_EQ(first.signals.size(), 1u);
  EXPECT_TRUE(first.signals[0].delivered);
  EXPECT_EQ(first.signals[0].key, "MO-1");
  EXPECT_EQ(engine.value()->GetInstance("production_order", "MO-1").value().state, "on_hold");
  // A later order on A1, on the new version, is the current one now.
  ASSERT_TRUE(engine.value()->Submit(
      R"({"id":"o2","source":"odoo","type":"order.released","key":"MO-2","seq":1,"ts":4000,"data":{"asset":"A1"}})").ok());
  ASSERT_TRUE(engine.value()->Submit(
      R"({"id":"m2","source":"mes","type":"order.started","key":"MO-2","seq":1,"ts":5000,"data":{}})").ok());
  SubmitResult second = engine.value()->Submit(alarm("s2", 6000)).value();
  ASSERT_EQ(second.signals.size(), 1u);
  EXPECT_EQ(second.signals[0].key, "MO-2");
  EXPECT_EQ(engine.value()->GetInstance("production_order", "MO-2").value().state, "on_hold");
}

TEST(StrandedTest, AVersionThatCannotBeCompiledAgainLeavesItsInstancesOnTheLoadedOne) {
  TempDir dir("store-lost-version");
  const std::string db = dir.File("t.db");
  (void)Report(PlantOptions(db), {
      R"({"id":"o1","source":"odoo","type":"order.released","key":"MO-1","seq":1,"ts":1000,"data":{"asset":"A1"}})"});
  test::Execute(db, "UPDATE instances SET version = 'feedfeedfeedfeed'");
  std::vector<std::string> logged;
  EngineOptions options = PlantOptions(db);
  options.on_log = [&](LogLevel, std::string_view m) { logged.emplace_back(m); };
  auto engine = Engine::Open(options);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  EXPECT_EQ(engine.value()->GetInstance("production_order", "MO-1").value().state, "released");
  bool warned = false;
  for (const std::string& m : logged) warned |= m.find("cannot be compiled again") != std::string::npos;
  EXPECT_TRUE(warned);
}

}  // namespace
}  // namespace takt
