// Golden simulations: every tests/data/simulate/NAME.jsonl, and the example in examples/plant,
// replayed through the shipped workflows, must give NAME.expected.json byte for byte. The
// expected reports were worked out by hand from PLANT.md; rewrite with TAKT_UPDATE_GOLDEN=1
// only after checking the difference by hand.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "support/test_support.h"
#include "takt/simulation.h"
#include "takt/workload.h"

namespace takt {
namespace {

std::string Simulate(const std::string& events, std::vector<std::string>* log = nullptr,
                     bool rules = false) {
  EngineOptions options;
  options.workflow_paths = {"workflows"};
  if (rules) options.rules_dir = "rules";
  if (log != nullptr) {
    options.on_log = [log](LogLevel, std::string_view m) { log->emplace_back(m); };
  }
  Result<std::unique_ptr<Engine>> engine = Engine::Open(options);
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  if (!engine.ok()) return "";
  Simulation sim(*engine.value(), events);
  Status fed = sim.FeedFile(events);
  EXPECT_TRUE(fed.ok()) << fed.message();
  return sim.ReportJson().value();
}

struct Case {
  std::string events;
  std::string expected;
  bool rules;  // with rules/ (R1, R2)
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.events << (c.rules ? " with rules" : ""); }

std::vector<Case> Cases() {
  std::vector<Case> cases;
  for (const std::string& jsonl : test::ListFiles("tests/data/simulate", ".jsonl")) {
    cases.push_back({jsonl, jsonl.substr(0, jsonl.size() - 6) + ".expected.json", false});
  }
  cases.push_back({"examples/plant/events.jsonl", "examples/plant/report.json", true});
  return cases;
}

class SimulateGoldenTest : public testing::TestWithParam<Case> {};

TEST_P(SimulateGoldenTest, ReportMatchesExpected) {
  const Case& c = GetParam();
  const std::string& events = c.events;
  const std::string& expected = c.expected;
  const std::string report = Simulate(events, nullptr, c.rules);
  if (test::UpdateGolden()) test::WriteFile(expected, report);
  EXPECT_EQ(report, test::ReadFile(expected)) << "for " << events;
}

INSTANTIATE_TEST_SUITE_P(Streams, SimulateGoldenTest, testing::ValuesIn(Cases()),
                         [](const auto& param) {
                           std::string name = param.param.events;
                           for (char& c : name) {
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(SimulateTest, MalformedLinesAreLoggedWithTheirLineNumberAndTheRunGoesOn) {
  std::vector<std::string> log;
  const std::string report = Simulate("tests/data/simulate/edge_cases.jsonl", &log);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_EQ(log[0], "tests/data/simulate/edge_cases.jsonl:7: malformed event: not a JSON object");
  EXPECT_EQ(log[1],
            "tests/data/simulate/edge_cases.jsonl:17: malformed event scada-2: field "
            "data.severity: expected int, got string");
  EXPECT_NE(report.find("\"MO-4\": \"released\""), std::string::npos);
}

TEST(SimulateTest, MissingFileIsNotFound) {
  EngineOptions options;
  options.workflow_paths = {"workflows"};
  auto engine = Engine::Open(options);
  ASSERT_TRUE(engine.ok());
  Simulation sim(*engine.value(), "x");
  Status s = sim.FeedFile("tests/data/simulate/no_such_file.jsonl");
  EXPECT_EQ(s.code(), Code::kNotFound);
}

TEST(SimulateTest, CrLfLinesAndBlankLines) {
  auto engine = test::OpenPlantEngine();
  ASSERT_NE(engine, nullptr);
  Simulation sim(*engine, "inline");
  ASSERT_TRUE(sim.FeedLine(R"({"id":"o1","source":"odoo","type":"order.released","key":"MO-1","seq":1,"ts":1,"data":{"asset":"A1"}})"
                           "\r").ok());
  ASSERT_TRUE(sim.FeedLine("   ").ok());
  ASSERT_TRUE(sim.FeedLine("").ok());
  EXPECT_EQ(engine->stats().events, 1u);
  EXPECT_EQ(engine->stats().accepted, 1u);
}

TEST(SimulateTest, AReportWrittenInPiecesIsTheWholeReport) {
  auto engine = test::OpenPlantEngine();
  ASSERT_NE(engine, nullptr);
  Simulation sim(*engine, "generated");
  PlantWorkloadOptions workload;
  workload.orders = 2'000;  // a report of several of WriteReport()'s 64 KiB pieces
  ASSERT_TRUE(GeneratePlantWorkload(workload, [&](std::string_view line) {
                ASSERT_TRUE(sim.FeedLine(line).ok());
              }).ok());
  std::ostringstream written;
  ASSERT_TRUE(sim.WriteReport(written).ok());
  ASSERT_GT(written.str().size(), 4u * 65536u);
  const nlohmann::json report = nlohmann::json::parse(written.str());
  EXPECT_EQ(report["final_states"].size(), 2'000u);
  EXPECT_EQ(report["commands"].size(), engine->stats().commands);
  EXPECT_EQ(written.str(), sim.ReportJson().value());

  std::ostringstream broken;
  broken.setstate(std::ios::badbit);
  EXPECT_EQ(sim.WriteReport(broken).code(), Code::kIoError);
}

}  // namespace
}  // namespace takt
