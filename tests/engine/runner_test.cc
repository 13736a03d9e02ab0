// WorkflowRunner on its own: signals, which rules will send, and what a transition does.
#include <gtest/gtest.h>

#include "dsl/load.h"
#include "engine/event/decode.h"
#include "engine/workflow/runner.h"

namespace takt {
namespace {

class RunnerTest : public testing::Test {
 protected:
  void SetUp() override {
    DefinitionOptions options;
    options.paths = {"workflows"};
    defs_ = dsl::LoadDefinitions(options);
    ASSERT_EQ(defs_->diagnostics.errors(), 0u);
    decoder_ = std::make_unique<EventDecoder>(defs_->catalog);
    runner_ = std::make_unique<WorkflowRunner>(defs_->catalog.workflows.at(0));
    effects_.Start(1, commands_);
  }
  bool Apply(const std::string& json) {
    std::string error;
    EXPECT_TRUE(decoder_->Decode(json, event_, error)) << error;
    reason_.clear();
    return runner_->Apply(event_, effects_, reason_);
  }
  std::string State(const std::string& key) {
    const Instance* instance = runner_->Find(key);
    return instance == nullptr ? "(none)"
                               : runner_->def().states[static_cast<size_t>(instance->state)].name;
  }

  std::unique_ptr<dsl::Definitions> defs_;
  std::unique_ptr<EventDecoder> decoder_;
  std::unique_ptr<WorkflowRunner> runner_;
  Event event_;
  std::vector<Command> commands_;
  WorkflowEffects effects_;  // into commands_
  std::string reason_;
};

const char* kReleased =
    R"({"id":"o1","source":"odoo","type":"order.released","key":"MO-1","seq":1,"ts":1,"data":{"asset":"A01"}})";
const char* kStarted =
    R"({"id":"m1","source":"mes","type":"order.started","key":"MO-1","seq":1,"ts":2,"data":{}})";

TEST_F(RunnerTest, HoldSignalMovesAnExecutingOrderOnHold) {
  ASSERT_TRUE(Apply(kReleased));
  std::string reason;
  // In released, the workflow does not react to `hold`.
  EXPECT_FALSE(runner_->Signal("MO-1", "hold", "scada-1", effects_, reason));
  EXPECT_EQ(reason, "no transition from production_order state released on signal hold for MO-1");
  ASSERT_TRUE(Apply(kStarted));
  EXPECT_TRUE(runner_->Signal("MO-1", "hold", "scada-2", effects_, reason));
  EXPECT_EQ(State("MO-1"), "on_hold");
  // An order already on hold does not react to a second hold.
  EXPECT_FALSE(runner_->Signal("MO-1", "hold", "scada-3", effects_, reason));
}

// What a transition did is handed back as a value: the store records it from there.
TEST_F(RunnerTest, EffectsNameEachTransitionAndTheInstanceBehindEachCommand) {
  effects_.Start(7, commands_);
  ASSERT_TRUE(Apply(kReleased));
  ASSERT_EQ(effects_.transitions.size(), 1u);
  const Transition& created = effects_.transitions[0];
  EXPECT_EQ(created.from, -1);
  EXPECT_EQ(created.trigger, "order.released");
  EXPECT_EQ(created.instance, runner_->Find("MO-1"));
  EXPECT_EQ(runner_->Find("MO-1")->created_pos, 7);

  effects_.Start(8, commands_);
  ASSERT_TRUE(Apply(kStarted));
  std::string reason;
  ASSERT_TRUE(runner_->Signal("MO-1", "hold", "scada-2", effects_, reason));
  ASSERT_EQ(effects_.transitions.size(), 2u);
  EXPECT_EQ(effects_.transitions[1].trigger, "signal hold");
  EXPECT_EQ(runner_->def().states[static_cast<size_t>(effects_.transitions[1].to)].name, "on_hold");
  EXPECT_EQ(runner_->Find("MO-1")->updated_pos, 8);
  // A command names the instance that emitted it: entering `complete` emits one.
  effects_.Start(9, commands_);
  commands_.clear();
  ASSERT_TRUE(Apply(
      R"({"id":"q1","source":"qms","type":"disposition","key":"MO-1","seq":1,"ts":3,)"
      R"("data":{"decision":"release"}})"))
      << reason_;
  ASSERT_EQ(commands_.size(), 1u);
  EXPECT_EQ(commands_[0].name, "odoo.production.done");
  ASSERT_EQ(effects_.command_owners.size(), 1u);
  EXPECT_EQ(effects_.command_owners[0].first, 0u);
  EXPECT_EQ(effects_.command_owners[0].second, runner_->Find("MO-1"));
}

TEST_F(RunnerTest, SignalToAMissingInstanceOrAnUnknownSignal) {
  std::string reason;
  EXPECT_FALSE(runner_->Signal("MO-9", "hold", "x", effects_, reason));
  EXPECT_EQ(reason, "no production_order instance MO-9");
  ASSERT_TRUE(Apply(kReleased));
  ASSERT_TRUE(Apply(kStarted));
  EXPECT_FALSE(runner_->Signal("MO-1", "resume", "x", effects_, reason));
  EXPECT_EQ(State("MO-1"), "executing");
}

TEST_F(RunnerTest, CountsActiveInstancesAndKeepsFinalOnes) {
  ASSERT_TRUE(Apply(kReleased));
  EXPECT_EQ(runner_->active(), 1u);
  ASSERT_TRUE(Apply(
      R"({"id":"o2","source":"odoo","type":"order.cancelled","key":"MO-1","seq":2,"ts":3,"data":{}})"));
  EXPECT_EQ(runner_->active(), 0u);
  EXPECT_EQ(runner_->size(), 1u);
  EXPECT_TRUE(runner_->Final(*runner_->Find("MO-1")));
  EXPECT_FALSE(Apply(kStarted));
}

}  // namespace
}  // namespace takt
