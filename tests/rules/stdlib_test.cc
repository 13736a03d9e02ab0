// The Lua stdlib (stdlib/takt/*.lua) at its edges: each case runs a probe rule over telemetry
// samples (ts, value) and reads what it returns for every sample.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_support.h"

namespace takt {
namespace {

namespace fs = std::filesystem;

// Runs `body` as the decide() of a rule on telemetry events, with `t` and `v` bound to the
// sample's time and value and every stdlib module loaded; `body` returns a value per sample.
// Returns those values as JSON, one per sample ("null" for nil; floats in their shortest form,
// so 5.0 is "5").
std::vector<std::string> Probe(const std::string& body,
                               const std::vector<std::pair<int64_t, double>>& samples) {
  const fs::path dir = fs::temp_directory_path() / ("takt-stdlib-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  test::WriteFile((dir / "probe.lua").string(), R"(
    local window = require "takt.window"
    local debounce = require "takt.debounce"
    local hysteresis = require "takt.hysteresis"
    local latch = require "takt.latch"
    local rate = require "takt.rate"
    local alarm = require "takt.alarm"
    return rule 'probe' { on = 'telemetry', commands = 'out', decide = function(ev, state)
      local t, v = ev.ts, ev.data.value
      local result = (function() )" + body + R"( end)()
      return command('out', { r = result })
    end })");
  EngineOptions options;
  options.workflow_paths = {"workflows"};
  options.rules_dir = dir.string();
  auto engine = Engine::Open(options);
  fs::remove_all(dir);
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  std::vector<std::string> out;
  if (!engine.ok()) return out;
  int n = 0;
  for (const auto& [t, v] : samples) {
    Result<SubmitResult> r = engine.value()->Submit(
        R"({"id":"t)" + std::to_string(++n) + R"(","source":"scada","type":"telemetry","key":"P1","seq":1,"ts":)" +
        std::to_string(t) + R"(,"data":{"tag":"x","value":)" + std::to_string(v) + "}}");
    EXPECT_TRUE(r.ok());
    if (!r.value().rule_errors.empty()) {
      out.push_back("error: " + r.value().rule_errors[0].message);
      continue;
    }
    const std::string& payload = r.value().commands.at(0).payload_json;  // {"r":X} or {}
    out.push_back(payload == "{}" ? "null" : payload.substr(5, payload.size() - 6));
  }
  return out;
}

using Out = std::vector<std::string>;

TEST(WindowTest, CountSumMinMaxMeanAtTheBoundary) {
  const std::string add = "window.add(state, 'w', t, v, 1000) ";
  const std::vector<std::pair<int64_t, double>> s = {{0, 5}, {500, 1}, {1000, 3}, {1001, 2}};
  EXPECT_EQ(Probe(add + "return window.count(state, 'w', t)", s), (Out{"1", "2", "3", "3"}));
  EXPECT_EQ(Probe(add + "return window.sum(state, 'w', t)", s), (Out{"5", "6", "9", "6"}));
  EXPECT_EQ(Probe(add + "return window.min(state, 'w', t)", s), (Out{"5", "1", "1", "1"}));
  EXPECT_EQ(Probe(add + "return window.max(state, 'w', t)", s), (Out{"5", "5", "5", "3"}));
  EXPECT_EQ(Probe(add + "return window.mean(state, 'w', t)", s), (Out{"5", "3", "3", "2"}));
}

TEST(WindowTest, EmptyWindowAndAnExplicitWidth) {
  EXPECT_EQ(Probe("return window.mean(state, 'none', t)", {{0, 1}}), (Out{"null"}));
  EXPECT_EQ(Probe("return window.count(state, 'none', t)", {{0, 1}}), (Out{"0"}));
  EXPECT_EQ(Probe("window.add(state, 'w', t, v, 1000) return window.count(state, 'w', t, 100)",
                  {{0, 1}, {100, 1}, {101, 1}}),
            (Out{"1", "2", "2"}));
}

TEST(WindowTest, LateSampleCountsByItsTimeAndFutureOnesDoNot) {
  EXPECT_EQ(Probe("window.add(state, 'w', t, v, 1000) return window.count(state, 'w', t)",
                  {{5000, 1}, {1000, 1}, {1500, 1}, {5200, 1}}),
            (Out{"1", "1", "2", "2"}));
}

TEST(WindowTest, OldEntriesAreDroppedButLateOnesWithinTheLatenessAreKept) {
  // lateness 500 ms: the entry at 0 stays until the window compacts past 0 + 1000 + 500.
  std::vector<std::pair<int64_t, double>> s;
  for (int i = 0; i < 40; ++i) s.push_back({i * 1000, 1});
  s.push_back({38'600, 1});  // 1.4 s late: within width + lateness of the newest (39 s)
  const Out out = Probe("window.add(state, 'w', t, v, 1000, 500) return #state.w.ts", s);
  EXPECT_LT(std::stoi(out.back()), 20);  // compacted, not 41 entries
  EXPECT_EQ(Probe("window.add(state, 'w', t, v, 1000, 500) return window.count(state, 'w', t)", s)
                .back(),
            "2");  // 38.0 s and 38.6 s
}

TEST(DebounceTest, OnDelayNeedsTheFullDelayWithoutABreak) {
  const std::string body = "return debounce.on_delay(state, 'd', t, v > 0, 1000)";
  EXPECT_EQ(Probe(body, {{0, 1}, {999, 1}, {1000, 1}, {1500, 0}, {1600, 1}, {2600, 1}}),
            (Out{"false", "false", "true", "false", "false", "true"}));
}

TEST(DebounceTest, OffDelayHoldsUntilFalseForTheDelay) {
  const std::string body = "return debounce.off_delay(state, 'd', t, v > 0, 1000)";
  EXPECT_EQ(Probe(body, {{0, 0}, {10, 1}, {100, 0}, {1099, 0}, {1100, 0}, {1200, 0}}),
            (Out{"false", "true", "true", "true", "false", "false"}));
  // A true sample during the wait starts it over.
  EXPECT_EQ(Probe(body, {{0, 1}, {100, 0}, {900, 1}, {1000, 0}, {1999, 0}, {2000, 0}}),
            (Out{"true", "true", "true", "true", "true", "false"}));
}

TEST(HysteresisTest, DeadbandKeepsTheState) {
  const std::string body =
      "local on, changed = hysteresis.above(state, 'h', v, 10, 8) return on and (changed and 'ON' or 'on') or (changed and 'OFF' or 'off')";
  EXPECT_EQ(Probe(body, {{0, 9}, {1, 10}, {2, 9}, {3, 8.5}, {4, 8}, {5, 9.9}, {6, 12}}),
            (Out{"\"off\"", "\"ON\"", "\"on\"", "\"on\"", "\"OFF\"", "\"off\"", "\"ON\""}));
}

TEST(HysteresisTest, BelowIsTheMirrorAndBadBandsAreErrors) {
  EXPECT_EQ(Probe("return (hysteresis.below(state, 'h', v, 2, 4))", {{0, 3}, {1, 2}, {2, 3.9}, {3, 4}}),
            (Out{"false", "true", "true", "false"}));
  const Out bad = Probe("return (hysteresis.above(state, 'h', v, 5, 6))", {{0, 1}});
  EXPECT_NE(bad[0].find("off_at must be below on_at"), std::string::npos) << bad[0];
}

TEST(LatchTest, OnceUntilReset) {
  EXPECT_EQ(Probe("if v < 0 then latch.reset(state, 'l') return 'reset' end return latch.once(state, 'l')",
                  {{0, 1}, {1, 1}, {2, -1}, {3, 1}, {4, 1}}),
            (Out{"true", "false", "\"reset\"", "true", "false"}));
}

TEST(RateTest, PerSecondBetweenSamples) {
  EXPECT_EQ(Probe("return rate.of_change(state, 'r', t, v)", {{0, 10}, {2000, 14}, {2000, 99}, {2500, 13}}),
            (Out{"null", "2", "null", "-2"}));
}

TEST(AlarmTest, ChatteringAtExactlyTheLimit) {
  EXPECT_EQ(Probe("return alarm.chattering(state, 'a', t, 60000, 3)",
                  {{0, 1}, {30000, 1}, {60000, 1}, {120001, 1}}),
            (Out{"false", "false", "true", "false"}));
}

TEST(AlarmTest, FloodTenInTenMinutes) {
  std::vector<std::pair<int64_t, double>> s;
  for (int i = 0; i < 10; ++i) s.push_back({i * 60000, 1});  // the tenth at exactly 9 minutes
  s.push_back({20 * 60000, 1});
  const Out out = Probe("return alarm.flood(state, 'area', t, 600000, 10)", s);
  EXPECT_EQ(out[8], "false");
  EXPECT_EQ(out[9], "true");
  EXPECT_EQ(out[10], "false");
}

TEST(AlarmTest, ShelvedForADurationExcludingItsEnd) {
  EXPECT_EQ(Probe("if v == 1 then alarm.shelve(state, 'a', t, 1000) end "
                  "if v == 2 then alarm.unshelve(state, 'a') end return alarm.shelved(state, 'a', t)",
                  {{0, 0}, {100, 1}, {1099, 0}, {1100, 0}, {1200, 1}, {1300, 2}}),
            (Out{"false", "true", "true", "false", "true", "false"}));
}

}  // namespace
}  // namespace takt
