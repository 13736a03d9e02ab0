// The takt command end to end: exit codes, where output goes, and the example of the README.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "support/test_support.h"

namespace takt {
namespace {

using test::RunCommand;
using test::Takt;

TEST(CliTest, CheckCleanExitsZero) {
  auto r = RunCommand(Takt() + " check workflows");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "checked 2 files, 1 workflow: 0 errors, 0 warnings\n");
}

TEST(CliTest, CheckWithErrorsExitsOneAndShowsTheLineWithACaret) {
  auto r = RunCommand(Takt() + " check tests/data/dsl/errors/unknown_target_state.takt");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("unknown_target_state.takt:7:25: error: unknown state 'execting'"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(" 7 |     on order.started -> execting\n"
                       "   |                         ^\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("1 error, 0 warnings"), std::string::npos);
}

TEST(CliTest, CheckWithOnlyWarningsExitsZero) {
  auto r = RunCommand(Takt() + " check tests/data/dsl/errors/warnings_unreachable_and_dead_end.takt");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("0 errors, 3 warnings"), std::string::npos) << r.out;
}

TEST(CliTest, CheckLoadsTheBuiltInStdlibOnceWhenItIsAlsoGivenAsAFile) {
  auto r = RunCommand(Takt() + " check workflows stdlib");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("checked 2 files, 1 workflow: 0 errors, 0 warnings"), std::string::npos)
      << r.out;
}

TEST(CliTest, CheckSaysInOneLineThatAFileShadowsTheBuiltInStdlib) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("takt-shadow-" + std::to_string(::getpid())))
          .string();
  std::filesystem::create_directories(dir);
  test::WriteFile(dir + "/plant.takt", test::ReadFile("stdlib/plant.takt") + "\n# a local copy\n");
  auto r = RunCommand(Takt() + " check workflows " + dir + "/plant.takt");
  std::filesystem::remove_all(dir);
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("plant.takt:1:1: warning: this file has the name of the built-in \"plant\" "
                       "and other text: it shadows it"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("0 errors, 1 warning"), std::string::npos) << r.out;
}

TEST(CliTest, SimulateTheExampleAsTheReadmeShows) {
  auto r = RunCommand(Takt() + " simulate --workflows workflows --rules rules examples/plant/events.jsonl");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, test::ReadFile("examples/plant/report.json"));
  // No progress line when stderr is not a terminal; the summary of every line read.
  EXPECT_EQ(r.err,
            "takt: 730 lines: 730 events, 694 accepted, 11 duplicates, 0 malformed, "
            "23 out of sequence, 2 ownership violations\n");
}

TEST(CliTest, SimulateWritesTheReportToAFile) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("takt-report-" + std::to_string(::getpid()))).string();
  auto r = RunCommand(Takt() + " simulate --workflows workflows --report " + path +
               " tests/data/simulate/edge_cases.jsonl");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(test::ReadFile(path), test::ReadFile("tests/data/simulate/edge_cases.expected.json"));
  EXPECT_NE(r.err.find("edge_cases.jsonl:7: malformed event"), std::string::npos) << r.err;
  std::filesystem::remove(path);
}

TEST(CliTest, SimulateReadsStandardInput) {
  auto r = RunCommand("cat tests/data/simulate/edge_cases.jsonl | " + Takt() +
               " simulate --quiet --workflows workflows -");
  // RunCommand() redirects stdin of the whole pipeline from /dev/null; cat reads the file itself.
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, test::ReadFile("tests/data/simulate/edge_cases.expected.json"));
  EXPECT_EQ(r.err, "");  // --quiet
}

TEST(CliTest, SimulateWithADatabaseReportsTheSameAndAGoAgainResumesAtTheEnd) {
  test::ScratchDir scratch("cli-db");
  const std::string simulate = Takt() + " simulate --workflows workflows --rules rules --db " +
                               scratch.dir + "/plant.db examples/plant/events.jsonl";
  auto first = RunCommand(simulate);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.out, test::ReadFile("examples/plant/report.json"));
  // Everything is committed: a second run skips every line and reports the same database.
  auto second = RunCommand(simulate);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_EQ(second.out, first.out);
  EXPECT_NE(second.err.find("resuming after line"), std::string::npos) << second.err;

  auto verify = RunCommand(Takt() + " audit verify --db " + scratch.dir + "/plant.db");
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("audit chain ok: "), std::string::npos) << verify.out;
  auto head = RunCommand(Takt() + " audit head --db " + scratch.dir + "/plant.db");
  ASSERT_EQ(head.exit_code, 0) << head.err;
  ASSERT_EQ(head.out.size(), 64u + 1 + std::to_string(749).size() + 1) << head.out;
  auto anchored = RunCommand(Takt() + " audit verify --db " + scratch.dir +
                             "/plant.db --expect-head " + head.out.substr(0, head.out.size() - 1));
  EXPECT_EQ(anchored.exit_code, 0) << anchored.out << anchored.err;
  EXPECT_NE(anchored.out.find("through the expected head"), std::string::npos) << anchored.out;
  auto longer = RunCommand(Takt() + " audit verify --db " + scratch.dir + "/plant.db --expect-head " +
                           head.out.substr(0, 65) + "100000");
  EXPECT_EQ(longer.exit_code, 1) << longer.out;
  EXPECT_NE(longer.out.find("rows were removed from its end"), std::string::npos) << longer.out;

  auto trace = RunCommand(Takt() + " trace --db " + scratch.dir + "/plant.db MO-000001");
  EXPECT_EQ(trace.exit_code, 0) << trace.err;
  EXPECT_NE(trace.out.find("order.released applied: created in released on order.released"),
            std::string::npos) << trace.out;
  auto unknown = RunCommand(Takt() + " trace --db " + scratch.dir + "/plant.db MO-999999");
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("nothing in "), std::string::npos) << unknown.err;

  auto check = RunCommand(Takt() + " check workflows --db " + scratch.dir + "/plant.db");
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("0 errors, 0 warnings"), std::string::npos) << check.out;
}

TEST(CliTest, SimulateWithFewInstancesInMemoryReportsTheSame) {
  test::ScratchDir scratch("cli-db-cap");
  auto r = RunCommand(Takt() + " simulate --workflows workflows --rules rules --db " + scratch.dir +
                      "/plant.db --max-instances 3 examples/plant/events.jsonl");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, test::ReadFile("examples/plant/report.json"));
}

TEST(CliTest, SimulateReorderTakesAPolicyPerSource) {
  auto ok = RunCommand(Takt() + " simulate --workflows workflows --reorder mes:8:30000 "
                                "--reorder qms examples/plant/events.jsonl");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("\"counts\""), std::string::npos);
  auto bad = RunCommand(Takt() + " simulate --workflows workflows --reorder mes:0 "
                                 "examples/plant/events.jsonl");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--reorder mes:0: MAX_HELD and MAX_WAIT_MS must be more than 0"),
            std::string::npos) << bad.err;
}

TEST(CliTest, SimulateMonotonicRejectsAStaleUpdateThatStrictApplies) {
  test::ScratchDir scratch("cli-monotonic");
  const std::string events = scratch.dir + "/late.jsonl";
  test::WriteFile(events,
                  R"({"id":"o1","source":"odoo","type":"order.released","key":"MO-1","seq":1,"ts":0,"data":{"asset":"A1"}})"
                  "\n"
                  R"({"id":"m1","source":"mes","type":"order.started","key":"MO-1","seq":1,"ts":1,"data":{}})"
                  "\n"
                  R"({"id":"m3","source":"mes","type":"order.progress","key":"MO-1","seq":3,"ts":3,"data":{"good":7,"scrap":1}})"
                  "\n"
                  R"({"id":"m2","source":"mes","type":"order.progress","key":"MO-1","seq":2,"ts":2,"data":{"good":4,"scrap":0}})"
                  "\n");
  auto strict = RunCommand(Takt() + " simulate --workflows workflows " + events);
  ASSERT_EQ(strict.exit_code, 0) << strict.err;
  EXPECT_NE(strict.err.find("4 accepted, 0 duplicates, 0 malformed, 0 out of sequence"),
            std::string::npos) << strict.err;
  auto monotonic = RunCommand(Takt() + " simulate --workflows workflows --monotonic mes --db " +
                              scratch.dir + "/m.db " + events);
  ASSERT_EQ(monotonic.exit_code, 0) << monotonic.err;
  EXPECT_NE(monotonic.err.find("3 accepted, 0 duplicates, 0 malformed, 1 out of sequence"),
            std::string::npos) << monotonic.err;
  auto trace = RunCommand(Takt() + " trace --db " + scratch.dir + "/m.db MO-1");
  EXPECT_NE(trace.out.find("stale: seq 2 after 3"), std::string::npos) << trace.out;

  auto both = RunCommand(Takt() + " simulate --workflows workflows --monotonic mes --reorder mes " +
                         events);
  EXPECT_EQ(both.exit_code, 2);
  EXPECT_NE(both.err.find("source mes has two ordering policies"), std::string::npos) << both.err;
}

TEST(CliTest, SimulateRefusesAFileThatIsNotADatabase) {
  test::ScratchDir scratch("cli-notdb");
  test::WriteFile(scratch.dir + "/x.db", std::string(4096, 'z'));
  auto r = RunCommand(Takt() + " simulate --workflows workflows --db " + scratch.dir +
                      "/x.db examples/plant/events.jsonl");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(scratch.dir + "/x.db"), std::string::npos) << r.err;
}

TEST(CliTest, SimulateMissingEventsFileExitsTwo) {
  auto r = RunCommand(Takt() + " simulate --workflows workflows no/such.jsonl");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no/such.jsonl"), std::string::npos);
}

TEST(CliTest, SimulateOnBrokenDefinitionsExitsOne) {
  auto r = RunCommand(Takt() + " simulate --workflows tests/data/dsl/errors/no_key.takt "
                        "examples/plant/events.jsonl");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("no_key.takt:3:10: error:"), std::string::npos) << r.err;
}

TEST(CliTest, SimulateOnBrokenRulesExitsOneNamingTheFile) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("takt-cli-rules-" + std::to_string(::getpid()))).string();
  std::filesystem::create_directories(dir);
  test::WriteFile(dir + "/bad.lua", "return rule 'bad' {\n  on = 'alarm',\n  decide = function( end,\n}\n");
  auto r = RunCommand(Takt() + " simulate --workflows workflows --rules " + dir +
                      " examples/plant/events.jsonl");
  std::filesystem::remove_all(dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.lua:3:"), std::string::npos) << r.err;
}

TEST(CliTest, GraphMermaidAndDot) {
  auto r = RunCommand(Takt() + " graph --format mermaid workflows/production_order.takt");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("stateDiagram-v2\n", 0), 0u);
  r = RunCommand(Takt() + " graph workflows/production_order.takt");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.rfind("digraph", 0), 0u);
  r = RunCommand(Takt() + " graph --format svg workflows/production_order.takt");
  EXPECT_EQ(r.exit_code, 2);
}

TEST(CliTest, GenerateIsDeterministicAndValidatesOptions) {
  auto a = RunCommand(Takt() + " generate plant --orders 20 --seed 4");
  auto b = RunCommand(Takt() + " generate plant --orders 20 --seed 4");
  EXPECT_EQ(a.exit_code, 0);
  EXPECT_EQ(a.out, b.out);
  EXPECT_NE(a.err.find("20 orders, 20 assets, seed 4"), std::string::npos);
  auto bad = RunCommand(Takt() + " generate plant --delay-rate 2");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("--delay-rate must be within [0, 1]"), std::string::npos);
}

TEST(CliTest, GeneratedStreamSimulatesEndToEnd) {
  auto r = RunCommand(Takt() + " generate plant --orders 200 --seed 3 | " + Takt() +
               " simulate --workflows workflows -");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"counts\": {\"events\": "), std::string::npos);
}

TEST(CliTest, TestRunsTheShippedRuleVectors) {
  auto r = RunCommand(Takt() + " test rules");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("PASS R1: the third alarm exactly ten minutes after the first"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("10 passed, 0 failed"), std::string::npos) << r.out;
}

TEST(CliTest, TestRunsTheSignalExamplesVectors) {
  auto r = RunCommand(Takt() + " test examples/signals");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("2 passed, 0 failed"), std::string::npos) << r.out;
}

TEST(CliTest, TestShowsWhatDiffersWhenAVectorFails) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("takt-cli-vectors-" + std::to_string(::getpid()));
  fs::create_directories(dir / "tests");
  for (const char* rule : {"alarm_to_maintenance.lua", "alarm_to_quality_hold.lua"}) {
    fs::copy_file(fs::path("rules") / rule, dir / rule);
  }
  std::string vector = test::ReadFile("rules/tests/r1_one_open_request_per_asset.test.json");
  vector.replace(vector.find("PRESSURE_LOW\"\n"), 12, "OVERTEMP");  // the second request's reason
  test::WriteFile((dir / "tests" / "wrong.test.json").string(), vector);
  auto r = RunCommand(Takt() + " test " + dir.string());
  fs::remove_all(dir);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("FAIL R1: no second request while one is open"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("commands differ:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  - {\"cause\":\"scada-000004\",\"cmd\":\"odoo.maintenance.create\","
                       "\"data\":{\"asset\":\"A01\",\"priority\":\"high\",\"reason\":\"OVERTEMP\"}}"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  + {\"cause\":\"scada-000004\""), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 passed, 1 failed"), std::string::npos);
}

TEST(CliTest, TestWithoutVectorsStillLoadsTheRulesAndSaysNoneWereFound) {
  test::ScratchDir scratch("cli-novectors");
  std::filesystem::copy_file("rules/alarm_to_maintenance.lua",
                             scratch.dir + "/alarm_to_maintenance.lua");
  auto fine = RunCommand(Takt() + " test " + scratch.dir);
  EXPECT_EQ(fine.exit_code, 0) << fine.out << fine.err;
  EXPECT_NE(fine.out.find("no test vectors in " + scratch.dir + "/tests (*.test.json)"),
            std::string::npos)
      << fine.out;

  test::WriteFile(scratch.dir + "/broken.lua", "return { on = {'alarm'}, decide = function( }\n");
  auto broken = RunCommand(Takt() + " test " + scratch.dir);
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.err.find(scratch.dir + "/broken.lua:1:"), std::string::npos) << broken.err;

  auto missing = RunCommand(Takt() + " test " + scratch.dir + "/nothing-here");
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("no rules directory"), std::string::npos) << missing.err;
}

TEST(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(RunCommand(Takt()).exit_code, 2);
  EXPECT_EQ(RunCommand(Takt() + " frobnicate").exit_code, 2);
  EXPECT_EQ(RunCommand(Takt() + " --help").exit_code, 0);
}

}  // namespace
}  // namespace takt
