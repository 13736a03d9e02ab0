// Hot reload: a rule file replaced while events flow. A new version is swapped in between two
// events only if it loads and passes the vectors beside it; its state carries over; every
// decision names the one version that made it.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "engine/rule_tests.h"
#include "support/test_support.h"
#include "takt/workload.h"

namespace takt {
namespace {

namespace fs = std::filesystem;

class ReloadTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("takt-reload-" + std::to_string(::getpid()) + "-" +
                                        testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "tests");
    WriteRule(Good(0));
    // The vector every version must pass: three alarms on one asset count 1, 2, 3.
    test::WriteFile((dir_ / "tests" / "counts.test.json").string(), R"({
      "description": "counts alarms per asset",
      "events": [
        {"id":"s1","source":"scada","type":"alarm","key":"A01","seq":1,"ts":1,"data":{"code":"X","severity":1}},
        {"id":"s2","source":"scada","type":"alarm","key":"A01","seq":2,"ts":2,"data":{"code":"X","severity":1}},
        {"id":"s3","source":"scada","type":"alarm","key":"A01","seq":3,"ts":3,"data":{"code":"X","severity":1}}],
      "commands": [
        {"cmd":"count","cause":"s1","data":{"asset":"A01","n":1}},
        {"cmd":"count","cause":"s2","data":{"asset":"A01","n":2}},
        {"cmd":"count","cause":"s3","data":{"asset":"A01","n":3}}]})");
  }
  void TearDown() override { fs::remove_all(dir_); }

  static std::string Good(int version) {
    return "-- version " + std::to_string(version) + R"(
return rule 'counter' { on = 'alarm', commands = 'count',
  decide = function(ev, state)
    state.n = (state.n or 0) + 1
    return command('count', { asset = ev.key, n = state.n })
  end })";
  }
  void WriteRule(const std::string& text) {
    // Write then rename, as editors do, so that a watcher never reads half a file.
    const fs::path tmp = dir_ / ".counter.lua.tmp";
    test::WriteFile(tmp.string(), text);
    fs::rename(tmp, dir_ / "counter.lua");
  }
  Result<std::unique_ptr<Engine>> Open(bool watch) {
    EngineOptions options;
    options.workflow_paths = {"workflows"};
    options.rules_dir = dir_.string();
    options.watch_rules = watch;
    return Engine::Open(options);
  }

  fs::path dir_;
};

TEST_F(ReloadTest, HundredReplacementsWhileAHundredThousandEventsFlow) {
  auto opened = Open(false);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  Engine& engine = *opened.value();
  std::vector<std::string> lines;
  PlantWorkloadOptions plant;
  plant.orders = 4800;
  plant.seed = 21;
  ASSERT_TRUE(GeneratePlantWorkload(plant, [&](std::string_view l) { lines.emplace_back(l); }).ok());
  lines.resize(std::min<size_t>(lines.size(), 100'000));
  ASSERT_EQ(lines.size(), 100'000u);

  std::string active = engine.rules().at(0).version;
  std::set<std::string> activated = {active};
  std::map<std::string, int64_t> last_n;  // asset -> last count seen
  size_t accepted_alarms = 0;
  size_t replacements = 0;
  size_t refused = 0;
  SubmitResult result;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i > 0 && i % 1000 == 0) {
      ++replacements;
      const int kind = static_cast<int>(replacements % 4);
      if (kind == 1) {
        WriteRule("return rule 'counter' { on = 'alarm', decide = function(ev, state) oops end }");
      } else if (kind == 2) {  // loads, but counts twice: the vector catches it
        WriteRule("return rule 'counter' { on = 'alarm', commands = 'count', decide = function(ev, state) "
                  "state.n = (state.n or 0) + 2 return command('count', { asset = ev.key, n = state.n }) end }");
      } else if (kind == 3) {
        WriteRule("error('this version refuses to load')");
      } else {
        WriteRule(Good(static_cast<int>(replacements)));
      }
      Status reloaded = engine.ReloadRules();
      if (kind == 0) {
        ASSERT_TRUE(reloaded.ok()) << reloaded.message();
        ASSERT_NE(engine.rules().at(0).version, active);
        active = engine.rules().at(0).version;
        activated.insert(active);
      } else {
        ASSERT_FALSE(reloaded.ok()) << "version " << replacements << " should have been refused";
        ++refused;
        ASSERT_EQ(engine.rules().at(0).version, active);  // the old version stays
        const char* why = kind == 1   ? "counter.lua:1:"
                          : kind == 2 ? "counts alarms per asset"
                                      : "this version refuses to load";
        EXPECT_NE(reloaded.message().find(why), std::string::npos) << reloaded.message();
      }
    }
    ASSERT_TRUE(engine.Submit(lines[i], result).ok());
    for (const Command& c : result.commands) {
      if (c.name != "count") continue;
      // Exactly one version, the active one, and never a refused one.
      ASSERT_EQ(c.emitted_by, "rule counter@" + active);
      const auto payload = c.payload_json;
      const std::string asset = payload.substr(payload.find("\"asset\":\"") + 9, 3);
      const int64_t n = std::stoll(payload.substr(payload.find("\"n\":") + 4));
      ASSERT_EQ(n, last_n[asset] + 1) << "asset " << asset << " at event " << i;  // none lost, none twice
      last_n[asset] = n;
      ++accepted_alarms;
    }
  }
  EXPECT_EQ(replacements, 99u);
  EXPECT_EQ(refused, 75u);
  EXPECT_EQ(activated.size(), 25u);
  const EngineStats s = engine.stats();
  EXPECT_EQ(s.events, 100'000u);
  EXPECT_EQ(s.accepted + s.duplicates + s.ownership_violations + s.out_of_sequence + s.malformed, s.events);
  EXPECT_EQ(s.rule_reloads, 24u);
  EXPECT_EQ(s.rule_reload_failures, 75u);
  EXPECT_EQ(s.rule_errors, 0u);
  size_t counted = 0;
  for (const auto& [asset, n] : last_n) counted += static_cast<size_t>(n);
  EXPECT_EQ(counted, accepted_alarms);
  EXPECT_GT(accepted_alarms, 40'000u);
}

TEST_F(ReloadTest, WatcherSwapsAGoodVersionInAndKeepsItWhenABrokenOneFollows) {
  std::vector<std::string> log;
  std::mutex log_mu;
  EngineOptions options;
  options.workflow_paths = {"workflows"};
  options.rules_dir = dir_.string();
  options.watch_rules = true;
  options.on_log = [&](LogLevel, std::string_view m) {
    std::lock_guard<std::mutex> lock(log_mu);
    log.emplace_back(m);
  };
  auto opened = Engine::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  Engine& engine = *opened.value();
  const std::string first = engine.rules().at(0).version;
  int id = 0;
  auto alarm = [&] {
    return engine.Submit(R"({"id":"s)" + std::to_string(++id) +
                         R"(","source":"scada","type":"alarm","key":"A01","seq":1,"ts":1,"data":{"code":"X","severity":1}})");
  };
  ASSERT_TRUE(alarm().ok());

  WriteRule(Good(1));
  std::string seen = first;
  for (int tries = 0; tries < 200 && seen == first; ++tries) {  // up to 10 s
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    Result<SubmitResult> r = alarm();
    ASSERT_TRUE(r.ok());
    seen = r.value().commands.at(0).emitted_by.substr(std::string("rule counter@").size());
  }
  ASSERT_NE(seen, first) << "the new version was not swapped in";
  EXPECT_EQ(seen, engine.rules().at(0).version);

  WriteRule("return rule 'counter' { on = 'alarm', decide = function( }");
  for (int tries = 0; tries < 200 && engine.stats().rule_reload_failures == 0; ++tries) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(engine.stats().rule_reload_failures, 1u);
  Result<SubmitResult> after = alarm();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after.value().commands.at(0).emitted_by, "rule counter@" + seen);
  // The count went on across the swap: no alarm lost, none counted twice.
  EXPECT_EQ(after.value().commands.at(0).payload_json,
            R"({"asset":"A01","n":)" + std::to_string(id) + "}");
  std::lock_guard<std::mutex> lock(log_mu);
  bool reported = false;
  for (const std::string& m : log) reported |= m.find("counter.lua:1:") != std::string::npos;
  EXPECT_TRUE(reported) << "the broken version's file:line was not logged";
}

// A reload tests exactly the files it loaded: when a rule file changes after the reload read
// it and before its vectors read it, the vectors' engines load another version, and the run
// fails naming the rule instead of passing a version that is not the one swapped in.
TEST_F(ReloadTest, VectorsRunOnTheRuleVersionsTheReloadLoaded) {
  RuleTestOptions options;
  options.rules_dir = dir_.string();
  options.workflow_paths = {"workflows"};
  Result<RuleTestReport> same = RunRuleTests(options);
  ASSERT_TRUE(same.ok()) << same.status().message();
  EXPECT_EQ(same.value().passed, 1u);

  auto opened = Open(false);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  const std::vector<RuleInfo> loaded = opened.value()->rules();
  ASSERT_TRUE(RunRuleTestsOn(options, &loaded).ok());
  WriteRule(Good(7));  // changed after `loaded` was read
  Result<RuleTestReport> changed = RunRuleTestsOn(options, &loaded);
  ASSERT_FALSE(changed.ok());
  EXPECT_EQ(changed.status().code(), Code::kRuleError);
  EXPECT_NE(changed.status().message().find("the rules changed while their tests ran (counter)"),
            std::string::npos)
      << changed.status().message();
}

TEST_F(ReloadTest, ReloadWithoutRulesIsAnError) {
  auto engine = test::OpenPlantEngine();
  ASSERT_NE(engine, nullptr);
  EXPECT_EQ(engine->ReloadRules().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace takt
