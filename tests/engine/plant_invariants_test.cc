// Invariants over a generated plant stream of 2,000 orders (about 43,000 events): counts add
// up, every order ends in a state of its workflow, every command has a cause that was accepted,
// the same input gives the same bytes.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "support/test_support.h"
#include "takt/simulation.h"
#include "takt/workload.h"

namespace takt {
namespace {

using nlohmann::json;

class PlantInvariantsTest : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    PlantWorkloadOptions options;
    options.orders = 2000;
    options.seed = 11;
    lines_ = new std::vector<std::string>();
    Result<uint64_t> n = GeneratePlantWorkload(
        options, [](std::string_view line) { lines_->emplace_back(line); });
    ASSERT_TRUE(n.ok());
    report_text_ = new std::string(Simulate(nullptr));
    report_ = new json(json::parse(*report_text_));
  }
  static void TearDownTestSuite() {
    delete lines_;
    delete report_text_;
    delete report_;
  }

  // Simulates the generated lines; collects the outcome of every event when asked.
  static std::string Simulate(std::vector<std::pair<std::string, Outcome>>* outcomes) {
    auto engine = test::OpenPlantEngine();
    if (engine == nullptr) return "{}";
    Simulation sim(*engine, "generated");
    SubmitResult result;
    for (const std::string& line : *lines_) {
      if (outcomes != nullptr) {
        EXPECT_TRUE(engine->Submit(line, result).ok());
        outcomes->emplace_back(result.event_id, result.outcome);
      }
      EXPECT_TRUE(sim.FeedLine(line).ok());
    }
    return sim.ReportJson().value();
  }

  static inline std::vector<std::string>* lines_ = nullptr;
  static inline std::string* report_text_ = nullptr;
  static inline json* report_ = nullptr;
};

TEST_F(PlantInvariantsTest, CountsAddUp) {
  const json& c = (*report_)["counts"];
  EXPECT_EQ(c["events"].get<size_t>(), lines_->size());
  EXPECT_EQ(c["accepted"].get<uint64_t>() + c["duplicates"].get<uint64_t>() +
                c["ownership_violations"].get<uint64_t>() + c["out_of_sequence"].get<uint64_t>(),
            c["events"].get<uint64_t>());
  EXPECT_FALSE(c.contains("malformed"));
  // The generator injects each kind of fault; a stream of this size has all of them.
  EXPECT_GT(c["duplicates"].get<uint64_t>(), 0u);
  EXPECT_GT(c["ownership_violations"].get<uint64_t>(), 0u);
  EXPECT_GT(c["out_of_sequence"].get<uint64_t>(), 0u);
}

TEST_F(PlantInvariantsTest, EveryOrderIsInAStateOfItsWorkflow) {
  const std::set<std::string> states = {"released",  "executing", "inspecting", "disposition",
                                        "on_hold",   "complete",  "scrapped",   "cancelled"};
  const json& finals = (*report_)["final_states"];
  EXPECT_EQ(finals.size(), 2000u);  // every order was released once
  for (const auto& [order, state] : finals.items()) {
    EXPECT_EQ(states.count(state.get<std::string>()), 1u) << order << " is in " << state;
  }
}

TEST_F(PlantInvariantsTest, EveryCommandHasAnAcceptedCause) {
  std::vector<std::pair<std::string, Outcome>> outcomes;
  Simulate(&outcomes);
  std::set<std::string> accepted;
  for (const auto& [id, outcome] : outcomes) {
    if (outcome == Outcome::kApplied) accepted.insert(id);
  }
  size_t done = 0;
  for (const json& cmd : (*report_)["commands"]) {
    const std::string cause = cmd["cause"].get<std::string>();
    EXPECT_EQ(accepted.count(cause), 1u) << cause;
    if (cmd["cmd"] == "odoo.production.done") ++done;
    EXPECT_TRUE(cmd["data"].contains("order"));
  }
  size_t complete = 0;
  for (const auto& [order, state] : (*report_)["final_states"].items()) {
    if (state == "complete") ++complete;
  }
  EXPECT_EQ(done, complete);  // one production.done per completed order, no more
}

TEST_F(PlantInvariantsTest, SameInputSameBytes) { EXPECT_EQ(Simulate(nullptr), *report_text_); }

}  // namespace
}  // namespace takt
