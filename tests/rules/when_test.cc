// A rule's `when`: conditions on data fields that the engine checks before the rule's Lua runs.
// An event they turn away is not evaluated (no call, no state), and the conditions compare as
// Lua would.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_support.h"

namespace takt {
namespace {

namespace fs = std::filesystem;

class WhenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("takt-when-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  Result<std::unique_ptr<Engine>> Open(const std::string& rule) {
    test::WriteFile((dir_ / "rule.lua").string(), rule);
    EngineOptions options;
    options.workflow_paths = {"workflows"};
    options.rules_dir = dir_.string();
    return Engine::Open(options);
  }

  // A rule on alarms with `when`, whose decide counts what it sees per asset.
  Result<std::unique_ptr<Engine>> Counting(const std::string& when) {
    return Open("return rule 'r' { on = 'alarm', commands = 'seen', when = " + when + R"(,
      decide = function(ev, state)
        state.n = (state.n or 0) + 1
        return command('seen', { id = ev.id, n = state.n })
      end })");
  }

  // The ids of the alarms (severity 1 to 4, in order) that reach the rule.
  std::string Seen(Engine& engine, const std::string& code = "OVERTEMP") {
    std::string seen;
    for (int severity = 1; severity <= 4; ++severity) {
      const std::string id = code + std::to_string(severity);
      Result<SubmitResult> r = engine.Submit(
          R"({"id":")" + id + R"(","source":"scada","type":"alarm","key":"A1","seq":1,"ts":)" +
          std::to_string(1000 + severity) + R"(,"data":{"asset":"A1","code":")" + code +
          R"(","severity":)" + std::to_string(severity) + "}}");
      EXPECT_TRUE(r.ok());
      if (!r.ok()) continue;
      EXPECT_TRUE(r.value().rule_errors.empty());
      for (const Command& c : r.value().commands) seen += c.payload_json;
    }
    return seen;
  }

  fs::path dir_;
};

TEST_F(WhenTest, TurnedAwayEventsAreNotEvaluatedAndLeaveTheStateAlone) {
  auto engine = Counting(R"({ severity = { ">=", 3 } })");
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  // The state counts only what reached decide: 1 and 2 did not.
  EXPECT_EQ(Seen(*engine.value()), R"({"id":"OVERTEMP3","n":1}{"id":"OVERTEMP4","n":2})");
  EXPECT_EQ(engine.value()->stats().rule_evaluations, 2u);
}

TEST_F(WhenTest, ConditionsCompareAsLuaWould) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({ severity = 2 })", "2"},
      {R"({ severity = { "~=", 2 } })", "134"},
      {R"({ severity = { "<", 2.5 } })", "12"},  // an integer field against a float
      {R"({ severity = { "<=", 2.0 } })", "12"},
      {R"({ severity = { ">", 3 } })", "4"},
      {R"({ severity = { ">=", 2 }, code = "OVERTEMP" })", "234"},  // every condition holds
      {R"({ severity = { ">=", 2 }, code = "PRESSURE" })", ""},
      {R"({ code = { "<", "OVERU" } })", "1234"},  // strings in byte order
      {R"({ code = { ">", "OVERU" } })", ""},
      {R"({})", "1234"},
  };
  for (const auto& [when, expected] : cases) {
    auto engine = Counting(when);
    ASSERT_TRUE(engine.ok()) << when << ": " << engine.status().message();
    std::string severities;
    const std::string seen = Seen(*engine.value());
    for (size_t at = seen.find("OVERTEMP"); at != std::string::npos;
         at = seen.find("OVERTEMP", at + 1)) {
      severities += seen[at + 8];
    }
    EXPECT_EQ(severities, expected) << when;
  }
}

TEST_F(WhenTest, AnAbsentOptionalFieldMeetsOnlyNotEqual) {
  // maintenance.done's asset is optional (stdlib/plant.takt); this one has none.
  const std::string done =
      R"({"id":"m1","source":"odoo","type":"maintenance.done","key":"A1","seq":1,"ts":2,)"
      R"("data":{}})";
  for (const auto& [when, reaches] :
       {std::pair<std::string, bool>{R"({ "~=", "A1" })", true},
        {R"("A1")", false}, {R"({ ">=", "" })", false}, {R"({ "<", "B" })", false}}) {
    auto engine = Open("return rule 'r' { on = 'maintenance.done', commands = 'seen', "
                       "when = { asset = " + when + " }, "
                       "decide = function(ev) return command('seen', { id = ev.id }) end }");
    ASSERT_TRUE(engine.ok()) << when << ": " << engine.status().message();
    Result<SubmitResult> r = engine.value()->Submit(done);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r.value().outcome, Outcome::kApplied) << when;
    EXPECT_EQ(r.value().commands.size(), reaches ? 1u : 0u) << when;
  }
}

TEST_F(WhenTest, AWrongConditionIsRefusedWhenTheRuleLoads) {
  const std::pair<const char*, const char*> cases[] = {
      {"'severity >= 3'", "'when' must be a table of data fields and their conditions"},
      {"{ 'severity' }", "'when' has a key that is not a field name"},
      {"{ level = 3 }",
       "'when' field 'level' is not a field of event type 'alarm' (it has: asset, code, "
       "severity)"},
      {"{ severity = '3' }",
       "'when' field 'severity' (int in event type 'alarm') is compared with a string"},
      {"{ severity = { '=>', 3 } }",
       "'when' field 'severity': a condition is a value, or { OP, value } with OP one of ==, "
       "~=, <, <=, >, >="},
      {"{ severity = { '>=', 3, 4 } }", "'when' field 'severity': a condition is a value"},
      {"{ severity = { '>=', 0/0 } }",
       "'when' field 'severity' is compared with a number that is not finite"},
      {"{ severity = { '>=', {} } }", "'when' field 'severity' is compared with a table"},
  };
  for (const auto& [when, message] : cases) {
    auto engine = Open(std::string("return rule 'r' { on = 'alarm', when = ") + when +
                       ", decide = function() end }");
    ASSERT_FALSE(engine.ok()) << when;
    EXPECT_EQ(engine.status().code(), Code::kRuleError);
    EXPECT_NE(engine.status().message().find("rule.lua: rule 'r': " + std::string(message)),
              std::string::npos)
        << when << "\n" << engine.status().message();
  }
  auto bool_order = Open("return rule 'r' { on = 'inspection.result', "
                         "when = { critical = { '<', true } }, decide = function() end }");
  ASSERT_FALSE(bool_order.ok());
  EXPECT_NE(bool_order.status().message().find(
                "'when' field 'critical' is a bool: it takes == or ~=, not an order"),
            std::string::npos)
      << bool_order.status().message();
  // Every type in `on` must have the field: maintenance.done has no severity.
  auto engine = Open("return rule 'r' { on = { 'alarm', 'maintenance.done' }, "
                     "when = { severity = 3 }, decide = function() end }");
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(engine.status().message().find(
                "'when' field 'severity' is not a field of event type 'maintenance.done'"),
            std::string::npos)
      << engine.status().message();
}

}  // namespace
}  // namespace takt
