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
    local stats = require "takt.stats"
    local baseline = require "takt.baseline"
    local cusum = require "takt.cusum"
    local shewhart = require "takt.shewhart"
    local function g(...)  -- numbers as %g, nil as "nil", joined by spaces
      local out = {}
      for i = 1, select('#', ...) do
        local x = select(i, ...)
        out[i] = x == nil and "nil" or string.format("%.6g", x)
      end
      return table.concat(out, " ")
    end
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
  const Out out = Probe("window.add(state, 'w', t, v, 1000, 500) "
                        "local native = require('takt.window.native') "
                        "return native.size(state.w.data) + native.size(state.w.recent or '')",
                        s);
  EXPECT_LT(std::stoi(out.back()), 20);  // compacted, not 41 entries
  EXPECT_EQ(Probe("window.add(state, 'w', t, v, 1000, 500) return window.count(state, 'w', t)", s)
                .back(),
            "2");  // 38.0 s and 38.6 s
}

// Across many adds (the newest entries packed apart and joined to the rest every sixteen, old
// ones dropped), late entries and integers mixed with floats, a window answers as a plain list
// of every entry would, within its width and lateness.
TEST(WindowTest, AWindowAnswersAsAPlainListWould) {
  std::vector<std::pair<int64_t, double>> samples;
  for (int i = 0; i < 100; ++i) {
    const int64_t t = i % 7 == 6 ? i * 300 - 1500 : i * 300;  // every seventh 1.5 s late
    samples.push_back({t, i % 3 == 0 ? i + 0.5 : i});
  }
  const Out out = Probe(R"(
      local x = math.tointeger(v) or v
      window.add(state, 'w', t, x, 5000, 2000)
      state.list = state.list or {}
      local l = state.list
      l[#l + 1] = t
      l[#l + 1] = x
      local n, s, lo, hi = 0, 0, nil, nil
      for i = 1, #l, 2 do
        if l[i] >= t - 5000 and l[i] <= t then
          n, s = n + 1, s + l[i + 1]
          if lo == nil or l[i + 1] < lo then lo = l[i + 1] end
          if hi == nil or l[i + 1] > hi then hi = l[i + 1] end
        end
      end
      local sum = window.sum(state, 'w', t)
      local same = n == window.count(state, 'w', t) and s == sum and
                   math.type(s) == math.type(sum) and lo == window.min(state, 'w', t) and
                   hi == window.max(state, 'w', t)
      return same and n or -1)",
                        samples);
  ASSERT_EQ(out.size(), samples.size());
  for (size_t i = 0; i < out.size(); ++i) EXPECT_NE(out[i], "-1") << "sample " << i;
  EXPECT_GE(std::stoi(out.back()), 16);  // more than the newest entries kept apart
}

// A window kept by an earlier version as two arrays (ts, vs) is packed on its first use and
// answers as before.
TEST(WindowTest, AWindowKeptAsTwoArraysIsPackedOnFirstUse) {
  const std::string body =
      "if state.w == nil then "
      "  state.w = { width = 1000, newest = 500, kept = 0, ts = { 0, 500 }, vs = { 5, 1 } } "
      "end "
      "window.add(state, 'w', t, v) "
      "return window.count(state, 'w', t) .. ' ' .. window.sum(state, 'w', t) .. ' ' .. "
      "tostring(state.w.ts)";
  EXPECT_EQ(Probe(body, {{1000, 3}}), (Out{"\"3 9.0 nil\""}));  // the 3 is a float
}

// Sums follow Lua's arithmetic: integers stay integers, a float makes the sum a float.
TEST(WindowTest, IntegerAndFloatValuesSumAsLuaWould) {
  EXPECT_EQ(Probe("window.add(state, 'w', t, math.tointeger(v) or v, 1000) "
                  "return math.type(window.sum(state, 'w', t))",
                  {{0, 1}, {1, 2}, {2, 2.5}}),
            (Out{"\"integer\"", "\"integer\"", "\"float\""}));
}

// A time given as a float with an integer value is accepted, and the window keeps it as it was
// given (its state is what earlier versions kept).
TEST(WindowTest, ATimeGivenAsAWholeFloatIsKeptAsGiven) {
  EXPECT_EQ(Probe("window.add(state, 'w', t + 0.0, v, 1000) "
                  "return math.type(state.w.newest) .. ' ' .. window.count(state, 'w', t)",
                  {{1000, 1}, {2000, 1}}),
            (Out{"\"float 1\"", "\"float 2\""}));
}

TEST(WindowTest, ATimeThatIsNotAnIntegerIsAnError) {
  const Out out = Probe("window.add(state, 'w', t + 0.5, v, 1000) return 1", {{0, 1}});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_NE(out[0].find("takt.window: times, widths and lateness are integers (ms), not a "
                        "fraction"),
            std::string::npos)
      << out[0];
}

// A name the state already uses for something else is an error that names it, whichever
// function meets it first; the evaluation fails and the state stays as it was.
TEST(WindowTest, AStateFieldThatIsNotAWindowIsAnErrorNamingIt) {
  for (const char* call : {"window.add(state, 'w', t, v, 1000)", "window.count(state, 'w', t)",
                           "window.mean(state, 'w', t, 1000)"}) {
    const Out out = Probe(std::string("state.w = 5 ") + call + " return 1", {{0, 1}});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_NE(out[0].find("takt.window: the state's 'w' is a number, not a window"),
              std::string::npos)
        << call << ": " << out[0];
  }
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

// Hand-computed: {1, 3} has mean 2 and sample variance 2; {1, 3, 5} mean 3, variance 4; at 1600
// the window [600, 1600] keeps {5, 7}: mean 6, variance 2.
TEST(StatsTest, RollingMeanAndVarianceOverATimeWindow) {
  EXPECT_EQ(Probe("return g(stats.rolling(state, 'w', t, v, 1000))",
                  {{0, 1}, {500, 3}, {1000, 5}, {1600, 7}}),
            (Out{"\"1 1 nil\"", "\"2 2 2\"", "\"3 3 4\"", "\"2 6 2\""}));
}

TEST(StatsTest, RollingStaysExactOverManyCompactions) {
  // 0, 1, 2, ... one a second in a 10-second window: always the last 11, mean t - 5,
  // variance 11 (of 11 consecutive integers: 11 * 12 / 12).
  std::vector<std::pair<int64_t, double>> s;
  for (int i = 0; i < 200; ++i) s.push_back({i * 1000, i});
  const Out out = Probe("return g(stats.rolling(state, 'w', t, v, 10000))", s);
  EXPECT_EQ(out.back(), "\"11 194 11\"");
  EXPECT_EQ(out[100], "\"11 95 11\"");
}

// tau = 1000 / ln 2: a sample 1 s after the previous one weighs one half. 10 then 20: mean 15,
// variance 0.5 * (0 + 0.5 * 100) = 25; then 20 again: 17.5, 0.5 * (25 + 0.5 * 25) = 18.75. A
// sample at the same time changes nothing.
TEST(StatsTest, EwmaWeighsBySpacing) {
  EXPECT_EQ(Probe("return g(stats.ewma(state, 'e', t, v, 1000 / math.log(2)))",
                  {{0, 10}, {1000, 20}, {2000, 20}, {2000, 99}}),
            (Out{"\"10 0\"", "\"15 25\"", "\"17.5 18.75\"", "\"17.5 18.75\""}));
}

// 1, 2, 3 learnt with equal weight: mean 2, variance 2/3; z(4) = 2 / sqrt(2/3) = 2.44949. Not
// ready before three samples; frozen, it learns nothing.
TEST(BaselineTest, LearnsThenScoresAndFreezes) {
  const std::string body =
      "local z = baseline.z(state, 'b', v, 3) "
      "baseline.learn(state, 'b', v, { frozen = t >= 3000 }) "
      "local mean, sd = baseline.get(state, 'b') "
      "return g(z, mean, sd * sd)";
  EXPECT_EQ(Probe(body, {{0, 1}, {1000, 2}, {2000, 3}, {3000, 4}, {4000, 100}}),
            (Out{"\"nil 1 0\"", "\"nil 1.5 0.25\"", "\"nil 2 0.666667\"",
                 "\"2.44949 2 0.666667\"", "\"120.025 2 0.666667\""}));
}

TEST(BaselineTest, AConstantSignalHasAFloorNotAnInfiniteZ) {
  EXPECT_EQ(Probe("local z = baseline.z(state, 'b', v, 3) baseline.learn(state, 'b', v) "
                  "return g(z)",
                  {{0, 5}, {1, 5}, {2, 5}, {3, 5.01}}),
            (Out{"\"nil\"", "\"nil\"", "\"nil\"", "\"2\""}));  // 0.01 / (5 * 1e-3)
}

TEST(BaselineTest, ForgetsWithItsMemoryOnceFull) {
  // memory 2: the third sample weighs one half. 0, 0, then 4: mean 2, variance
  // 0.5 * (0 + 0.5 * 16) = 4.
  EXPECT_EQ(Probe("baseline.learn(state, 'b', v, { memory = 2 }) "
                  "local mean, sd = baseline.get(state, 'b') return g(mean, sd)",
                  {{0, 0}, {1, 0}, {2, 4}}),
            (Out{"\"0 0\"", "\"0 0\"", "\"2 2\""}));
}

// k = 0.5, h = 2, in units of sd: readings 1 sd above add 0.5 each; the fifth passes 2 and
// signals, and the sums start again. A reading 3 sd below signals at once (3 - 0.5 > 2).
TEST(CusumTest, SignalsASustainedShiftAndStartsAgain) {
  EXPECT_EQ(Probe("return cusum.update(state, 'c', v, 0, 1, 0.5, 2) or 'none'",
                  {{0, 1}, {1, 1}, {2, 1}, {3, 1}, {4, 1}, {5, 1}, {6, -3}}),
            (Out{"\"none\"", "\"none\"", "\"none\"", "\"none\"", "\"up\"", "\"none\"",
                 "\"down\""}));
  EXPECT_EQ(Probe("cusum.update(state, 'c', v, 0, 1) return g(cusum.sums(state, 'c'))",
                  {{0, 1}, {1, 2}, {2, -1}}),
            (Out{"\"0.5 0\"", "\"2 0\"", "\"0.5 0.5\""}));
}

std::vector<std::pair<int64_t, double>> Points(const std::vector<double>& zs) {
  std::vector<std::pair<int64_t, double>> s;
  for (size_t i = 0; i < zs.size(); ++i) s.push_back({static_cast<int64_t>(i), zs[i]});
  return s;
}

TEST(ShewhartTest, NelsonRulesEachAtTheirFirstPoint) {
  const std::string nelson =
      "return table.concat(shewhart.nelson(state, 's', v, 0, 1) or {}, ',')";
  EXPECT_EQ(Probe(nelson, Points({3.5})), (Out{"\"1\""}));
  EXPECT_EQ(Probe(nelson, Points({2.5, 0, 2.5})), (Out{"\"\"", "\"\"", "\"5\""}));
  EXPECT_EQ(Probe(nelson, Points({-2.5, -1.5, -0.5, 0.5, 1.5, 2.5})).back(), "\"3\"");
  EXPECT_EQ(Probe(nelson, Points({1.5, 0.2, 1.5, 1.5, 1.5})).back(), "\"6\"");
  EXPECT_EQ(Probe(nelson, Points(std::vector<double>(9, 0.5))).back(), "\"2\"");
  EXPECT_EQ(Probe(nelson, Points(std::vector<double>(8, 0.5))).back(), "\"\"");
  std::vector<double> alternating;
  for (int i = 0; i < 14; ++i) alternating.push_back(i % 2 == 0 ? 0.2 : -0.2);
  EXPECT_EQ(Probe(nelson, Points(alternating)).back(), "\"4\"");
  alternating.pop_back();
  EXPECT_EQ(Probe(nelson, Points(alternating)).back(), "\"\"");
  std::vector<double> hugging;
  for (int i = 0; i < 15; ++i) hugging.push_back(i % 3 == 0 ? 0.5 : (i % 3 == 1 ? -0.5 : 0.1));
  EXPECT_EQ(Probe(nelson, Points(hugging)).back(), "\"7\"");
  EXPECT_EQ(Probe(nelson, Points({1.5, -1.5, 1.5, -1.5, 1.2, -1.2, 1.5, -1.5})).back(),
            "\"8\"");
}

TEST(ShewhartTest, WesternElectricEightInARowOnOneSide) {
  const std::string we =
      "return table.concat(shewhart.western_electric(state, 's', v, 10, 2) or {}, ',')";
  // z = (x - 10) / 2: 11 is 0.5 above; eight of them break rule 4, seven do not.
  EXPECT_EQ(Probe(we, Points(std::vector<double>(8, 11))).back(), "\"4\"");
  EXPECT_EQ(Probe(we, Points(std::vector<double>(7, 11))).back(), "\"\"");
  EXPECT_EQ(Probe(we, Points({17})), (Out{"\"1\""}));
  EXPECT_EQ(Probe(we, Points({15, 10, 15})).back(), "\"2\"");
}

}  // namespace
}  // namespace takt
