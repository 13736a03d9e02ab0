// A rule's `windows` and `skip` (engine/rules/rule_windows.h): windows the engine feeds before
// decide sees an event, as window.add in decide would, and events that only feed them while a
// field of the state is set. What users rely on: the same decisions and the same state as the
// rule written out by hand, decide not called while skipped, a failed evaluation putting back
// what skipped events fed, no code of the rule's running outside its budget, the state kept
// across a restart, and clear errors for a wrong spec.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_support.h"

namespace takt {
namespace {

namespace fs = std::filesystem;

class WindowsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("takt-windows-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "rules");
  }
  void TearDown() override { fs::remove_all(dir_); }

  using Files = std::vector<std::pair<std::string, std::string>>;

  // Writes `rules` (file name, text) and opens an engine on them, with a store when `durable`,
  // each rule's sandbox holding at most `memory` bytes.
  Result<std::unique_ptr<Engine>> Open(const Files& rules, bool durable = false,
                                       size_t memory = 64u << 20) {
    for (const auto& [name, text] : rules) test::WriteFile((dir_ / "rules" / name).string(), text);
    EngineOptions options;
    options.workflow_paths = {"workflows"};
    options.rules_dir = (dir_ / "rules").string();
    options.rule_max_instructions = 100'000;
    options.rule_max_memory_bytes = memory;
    if (durable) options.store_path = (dir_ / "takt.db").string();
    return Engine::Open(options);
  }

  static std::string Alarm(int n, const std::string& asset, int severity, int64_t ts) {
    return R"({"id":"a)" + std::to_string(n) + R"(","source":"scada","type":"alarm","key":")" +
           asset + R"(","seq":)" + std::to_string(n) + R"(,"ts":)" + std::to_string(ts) +
           R"(,"data":{"asset":")" + asset + R"(","code":"C)" + std::to_string(n % 7) +
           R"(","severity":)" + std::to_string(severity) + "}}";
  }
  static std::string Done(int n, const std::string& asset) {
    return R"({"id":"d)" + std::to_string(n) + R"(","source":"odoo","type":"maintenance.done",)"
           R"("key":")" + asset + R"(","seq":)" + std::to_string(n) + R"(,"ts":1,"data":{}})";
  }

  // The commands' payloads and the rule errors of one submission, as one line.
  static std::string Outcome(Engine& engine, const std::string& json) {
    Result<SubmitResult> r = engine.Submit(json);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.status().message());
    if (!r.ok()) return "";
    std::string out;
    for (const Command& c : r.value().commands) out += c.payload_json;
    for (const RuleError& e : r.value().rule_errors) out += "error: " + e.message;
    return out;
  }

  fs::path dir_;
};

// decide reports the window's count, sum and size at each alarm; `head` is the rule's spec
// before decide, `add` what decide does first.
std::string Reporter(const std::string& head, const std::string& add) {
  return R"(local window = require "takt.window"
return rule 'r' { on = 'alarm', commands = 'seen', )" + head + R"(
  decide = function(ev, state)
    )" + add + R"(
    return command('seen', { id = ev.id, n = window.count(state, 'w', ev.ts),
                             sum = window.sum(state, 'w', ev.ts, 3600000),
                             max = window.max(state, 'w', ev.ts, 3600000) })
  end })";
}

// R1's pattern, with a window that keeps no entry past its width (lateness 0), so that a late
// alarm's feed drops entries its own count would see: a request for an alarm of severity 3 or
// more, or the third in the window, at most one open at a time per asset.
TEST_F(WindowsTest, SkipConditionsDecideAsTheRuleWrittenOut) {
  const std::string decide = R"(
    decide = function(ev, state)
      if ev.type == 'maintenance.done' then state.open = nil return end
      %ADD%
      if state.open then return end
      local n = window.count(state, 'w', ev.ts)
      if ev.data.severity >= 3 or n >= 3 then
        state.open = true
        return command('ask', { id = ev.id, n = n })
      end
    end })";
  const std::string head = R"(local window = require "takt.window"
    return rule 'r' { on = { 'alarm', 'maintenance.done' }, commands = 'ask', )";
  std::string by_hand = head + decide;
  by_hand.replace(by_hand.find("%ADD%"), 5, "window.add(state, 'w', ev.ts, 1, 60000, 0)");
  std::string declared =
      head + "windows = { w = { on = 'alarm', width = 60000, lateness = 0 } }," +
      "skip = { alarm = { 'open', { severity = { '<', 3 }, w = { '<', 3 } } } }," + decide;
  declared.replace(declared.find("%ADD%"), 5, "");
  std::vector<std::string> events;
  int64_t ts = 1'000'000;
  for (int n = 1; n <= 600; ++n) {
    ts += 3'000 + (n * 7919) % 40'000;
    const int64_t late = n % 11 == 0 ? 200'000 : (n % 4 == 0 ? 30'000 : 0);
    const std::string asset = n % 3 == 0 ? "A2" : "A1";
    events.push_back(n % 17 == 0 ? Done(n, asset) : Alarm(n, asset, n % 9 == 0 ? 3 : 1, ts - late));
  }
  auto hand = Open({{"r.lua", by_hand}});
  ASSERT_TRUE(hand.ok()) << hand.status().message();
  std::vector<std::string> expected;
  size_t asks = 0;
  for (const std::string& event : events) {
    expected.push_back(Outcome(*hand.value(), event));
    asks += !expected.back().empty();
  }
  EXPECT_GT(asks, 20u);
  fs::remove_all(dir_ / "rules");
  fs::create_directories(dir_ / "rules");
  auto fed = Open({{"r.lua", declared}});
  ASSERT_TRUE(fed.ok()) << fed.status().message();
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(Outcome(*fed.value(), events[i]), expected[i]) << "event " << i + 1;
  }
}

TEST_F(WindowsTest, ALateEventIsCountedAsTheWindowHoldsItOnceFed) {
  // A window that keeps nothing past its width. Fifteen alarms, then one 9 s late: its add
  // joins the newest to the rest and drops everything older than the newest minus the width,
  // the two entries its count would have seen among them. Counted before its feed it would make
  // three and be skipped; as the window holds it after, none.
  auto engine = Open({{"r.lua", R"(local window = require "takt.window"
    return rule 'r' { on = 'alarm', commands = 'seen',
    windows = { w = { on = 'alarm', width = 1000, lateness = 0 } },
    skip = { alarm = { w = { '>=', 3 } } },
    decide = function(ev, state)
      return command('seen', { id = ev.id, n = window.count(state, 'w', ev.ts) })
    end })"}});
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Engine& e = *engine.value();
  EXPECT_EQ(Outcome(e, Alarm(1, "A1", 1, 1000)), R"({"id":"a1","n":1})");
  EXPECT_EQ(Outcome(e, Alarm(2, "A1", 1, 1001)), R"({"id":"a2","n":2})");
  for (int n = 3; n <= 15; ++n) {
    const std::string seen = Outcome(e, Alarm(n, "A1", 1, 10'000 + n));
    EXPECT_EQ(seen, n <= 4 ? R"({"id":"a)" + std::to_string(n) + R"(","n":)" +
                                 std::to_string(n - 2) + "}"
                           : "")
        << n;
  }
  EXPECT_EQ(Outcome(e, Alarm(16, "A1", 1, 1002)), R"({"id":"a16","n":0})");
}

TEST_F(WindowsTest, AFedWindowDecidesAsWindowAddInDecideWould) {
  // Alarms out of time order, some later than the lateness, enough to join the newest to the
  // rest and to drop old entries many times over.
  std::vector<std::string> alarms;
  int64_t ts = 1'000'000;
  for (int n = 1; n <= 400; ++n) {
    ts += 7'000 + (n * 7919) % 50'000;
    const int64_t late = n % 13 == 0 ? 900'000 : (n % 5 == 0 ? 40'000 : 0);
    alarms.push_back(Alarm(n, n % 3 == 0 ? "A2" : "A1", 1 + n % 4, ts - late));
  }
  auto by_hand = Open({{"r.lua", Reporter("",
      "window.add(state, 'w', ev.ts, ev.data.severity, 600000, 1200000)")}});
  ASSERT_TRUE(by_hand.ok()) << by_hand.status().message();
  std::vector<std::string> expected;
  for (const std::string& alarm : alarms) expected.push_back(Outcome(*by_hand.value(), alarm));
  fs::remove_all(dir_ / "rules");
  fs::create_directories(dir_ / "rules");
  auto fed = Open({{"r.lua", Reporter(
      "windows = { w = { on = 'alarm', width = 600000, lateness = 1200000, value = 'severity' } },",
      "")}});
  ASSERT_TRUE(fed.ok()) << fed.status().message();
  for (size_t i = 0; i < alarms.size(); ++i) {
    ASSERT_EQ(Outcome(*fed.value(), alarms[i]), expected[i]) << "alarm " << i + 1;
  }
  EXPECT_NE(expected.back().find("\"n\":"), std::string::npos);
}

// The end of a decide that reports window `w` of the state field by field: its packed strings
// as their length and a hash, and its numbers.
const char* const kWindowReport = R"(
    local w = state.w
    local function digest(s)
      if s == nil then return 'nil' end
      local h = 0
      for i = 1, #s do h = (h * 31 + s:byte(i)) % 4294967296 end
      return #s .. ':' .. h
    end
    return command('seen', { id = ev.id, recent = digest(w.recent), data = digest(w.data),
                             newest = w.newest, width = w.width, lateness = w.lateness,
                             kept = w.kept })
  end })";

TEST_F(WindowsTest, AFedWindowHoldsWhatWindowAddInDecideWouldByteForByte) {
  // The engine puts most entries among the window's newest itself, without calling add: the
  // state it leaves must be add's, field by field, through joins and drops of old entries.
  const std::string decide = kWindowReport;
  const std::string head = "return rule 'r' { on = 'alarm', commands = 'seen', ";
  std::vector<std::string> alarms;
  int64_t ts = 5'000'000;
  for (int n = 1; n <= 120; ++n) {
    ts += 3'000 + (n * 7919) % 20'000;
    const int64_t late = n % 11 == 0 ? 2'000'000 : (n % 4 == 0 ? 30'000 : 0);
    alarms.push_back(Alarm(n, n % 3 == 0 ? "A2" : "A1", 1 + n % 4, ts - late));
  }
  auto by_hand = Open({{"r.lua", "local window = require 'takt.window'\n" + head +
                                     "decide = function(ev, state)\n"
                                     "window.add(state, 'w', ev.ts, ev.data.severity, 600000, "
                                     "1200000)" + decide}});
  ASSERT_TRUE(by_hand.ok()) << by_hand.status().message();
  std::vector<std::string> expected;
  for (const std::string& alarm : alarms) expected.push_back(Outcome(*by_hand.value(), alarm));
  fs::remove_all(dir_ / "rules");
  fs::create_directories(dir_ / "rules");
  auto fed = Open({{"r.lua", head +
                                 "windows = { w = { on = 'alarm', width = 600000, "
                                 "lateness = 1200000, value = 'severity' } },\n"
                                 "decide = function(ev, state)" + decide}});
  ASSERT_TRUE(fed.ok()) << fed.status().message();
  for (size_t i = 0; i < alarms.size(); ++i) {
    ASSERT_EQ(Outcome(*fed.value(), alarms[i]), expected[i]) << "alarm " << i + 1;
  }
  EXPECT_NE(expected.back().find("\"kept\":"), std::string::npos) << expected.back();
  EXPECT_EQ(expected.back().find("\"recent\":\"nil\""), std::string::npos) << expected.back();
}

// The same, with most alarms skipped: their entries wait beside the state and join the window
// together, or with the alarm that joins its newest to the rest (owed_entries.h). Every fourth
// alarm (severity 4) is evaluated and reports the window as it stands, which must be add's,
// field by field, with the lateness declared and with the default one (six hours: the alarms
// then span days, so that old entries are dropped).
TEST_F(WindowsTest, SkippedAlarmsLeaveTheWindowWindowAddInDecideWouldByteForByte) {
  const std::string report = kWindowReport;
  const std::string head = "return rule 'r' { on = 'alarm', commands = 'seen', ";
  for (const bool declared : {true, false}) {
    SCOPED_TRACE(declared ? "lateness declared" : "default lateness");
    std::vector<std::string> alarms;
    int64_t ts = 5'000'000;
    const int64_t step = declared ? 3'000 : 600'000;
    for (int n = 1; n <= 600; ++n) {
      ts += step + (n * 7919) % (declared ? 20'000 : 400'000);
      const int64_t late = n % 11 == 0 ? 2'000'000 : (n % 4 == 1 ? 30'000 : 0);
      alarms.push_back(Alarm(n, n % 3 == 0 ? "A2" : "A1", n % 4 == 3 ? 4 : 1 + n % 3, ts - late));
    }
    const std::string lateness = declared ? ", 1200000" : "";
    fs::remove_all(dir_ / "rules");
    fs::create_directories(dir_ / "rules");
    auto by_hand = Open({{"r.lua", "local window = require 'takt.window'\n" + head +
                                       "decide = function(ev, state)\n"
                                       "window.add(state, 'w', ev.ts, ev.data.severity, 600000" +
                                       lateness + ")\nif ev.data.severity < 4 then return end" +
                                       report}});
    ASSERT_TRUE(by_hand.ok()) << by_hand.status().message();
    std::vector<std::string> expected;
    for (const std::string& alarm : alarms) expected.push_back(Outcome(*by_hand.value(), alarm));
    fs::remove_all(dir_ / "rules");
    fs::create_directories(dir_ / "rules");
    auto fed = Open({{"r.lua", head + "windows = { w = { on = 'alarm', width = 600000, " +
                                   (declared ? "lateness = 1200000, " : "") +
                                   "value = 'severity' } },\n"
                                   "skip = { alarm = { severity = { '<', 4 } } },\n"
                                   "decide = function(ev, state)" + report}});
    ASSERT_TRUE(fed.ok()) << fed.status().message();
    for (size_t i = 0; i < alarms.size(); ++i) {
      ASSERT_EQ(Outcome(*fed.value(), alarms[i]), expected[i]) << "alarm " << i + 1;
    }
    // Alarm 599 (severity 4) is the last evaluated; by then old entries went many times over.
    EXPECT_NE(expected[598].find("\"kept\":"), std::string::npos) << expected[598];
    EXPECT_EQ(expected[598].find("\"kept\":0"), std::string::npos) << expected[598];
    EXPECT_EQ(fed.value()->stats().rule_errors, 0u);
  }
}

// Counts decide's calls per asset, and reports the window's count, as R1 keeps its request.
const char* kSkipping = R"(local window = require "takt.window"
return rule 'r' { on = { 'alarm', 'maintenance.done' }, commands = 'seen',
  windows = { w = { on = 'alarm', width = 600000 } },
  skip = { alarm = 'open' },
  decide = function(ev, state)
    if ev.type == 'maintenance.done' then
      if ev.id == 'd2' then error('refused ' .. ev.id) end
      state.open = nil
      return
    end
    state.calls = (state.calls or 0) + 1
    if ev.data.severity >= 3 then state.open = true end
    if ev.data.code == 'C6' and state.open == nil then error('refused ' .. ev.id) end
    return command('seen', { id = ev.id, calls = state.calls,
                             n = window.count(state, 'w', ev.ts) })
  end })";

// "not FIELD": skipped while the field is not set, as R1's maintenance.done with no request
// open. decide counts its calls in the state, which a skipped event does not reach.
TEST_F(WindowsTest, NotFieldSkipsWhileTheFieldIsNotSet) {
  auto engine = Open({{"r.lua", R"(return rule 'r' {
    on = { 'alarm', 'maintenance.done' }, commands = 'seen',
    skip = { ['maintenance.done'] = 'not open', alarm = 'open' },
    decide = function(ev, state)
      state.calls = (state.calls or 0) + 1
      if ev.type == 'alarm' then state.open = true; return end
      state.open = nil
      return command('seen', { id = ev.id, calls = state.calls })
    end })"}});
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Engine& e = *engine.value();
  EXPECT_EQ(Outcome(e, Done(1, "A1")), "");  // no state yet: nothing open, skipped
  EXPECT_EQ(Outcome(e, Alarm(1, "A1", 1, 1000)), "");  // opens (call 1)
  EXPECT_EQ(Outcome(e, Alarm(2, "A1", 1, 2000)), "");  // open: skipped
  EXPECT_EQ(Outcome(e, Done(2, "A1")), R"({"calls":2,"id":"d2"})");  // open: closes (call 2)
  EXPECT_EQ(Outcome(e, Done(3, "A1")), "");  // closed: skipped
  EXPECT_EQ(Outcome(e, Alarm(3, "A1", 1, 3000)), "");  // opens again (call 3)
  EXPECT_EQ(Outcome(e, Done(4, "A1")), R"({"calls":4,"id":"d4"})");
  EXPECT_EQ(e.stats().rule_errors, 0u);
}

TEST_F(WindowsTest, SkippedEventsFeedTheWindowsAndDecideIsNotCalled) {
  auto engine = Open({{"r.lua", kSkipping}});
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Engine& e = *engine.value();
  EXPECT_EQ(Outcome(e, Alarm(1, "A1", 1, 1000)), R"({"calls":1,"id":"a1","n":1})");
  EXPECT_EQ(Outcome(e, Alarm(2, "A1", 3, 2000)), R"({"calls":2,"id":"a2","n":2})");  // opens
  // While open: nothing from decide, and no call (`calls` stays 2).
  EXPECT_EQ(Outcome(e, Alarm(3, "A1", 1, 3000)), "");
  EXPECT_EQ(Outcome(e, Alarm(4, "A1", 4, 4000)), "");
  EXPECT_EQ(Outcome(e, Alarm(8, "A2", 1, 4000)), R"({"calls":1,"id":"a8","n":1})");  // A2's own
  EXPECT_EQ(Outcome(e, Done(1, "A1")), "");
  // Closed: decide again, and the window held the skipped alarms.
  EXPECT_EQ(Outcome(e, Alarm(5, "A1", 1, 5000)), R"({"calls":3,"id":"a5","n":5})");
  EXPECT_EQ(e.stats().rule_errors, 0u);
}

TEST_F(WindowsTest, AFailedEvaluationPutsBackWhatSkippedEventsFed) {
  auto engine = Open({{"r.lua", kSkipping}});
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Engine& e = *engine.value();
  EXPECT_EQ(Outcome(e, Alarm(1, "A1", 3, 1000)), R"({"calls":1,"id":"a1","n":1})");  // opens
  EXPECT_EQ(Outcome(e, Alarm(2, "A1", 1, 2000)), "");  // skipped, fed
  EXPECT_EQ(Outcome(e, Alarm(3, "A1", 1, 3000)), "");
  // decide raises for d2, the first event it sees since the skipped ones: the state goes back
  // to what it was just before, the skipped alarms in the window and the request still open.
  std::string refused = Outcome(e, Done(2, "A1"));
  EXPECT_NE(refused.find("refused d2"), std::string::npos) << refused;
  EXPECT_EQ(Outcome(e, Alarm(4, "A1", 1, 3500)), "");  // still open: skipped
  EXPECT_EQ(Outcome(e, Done(1, "A1")), "");
  // Alarm 13's code is C6: decide raises, and alarm 13 leaves the window as it found it.
  refused = Outcome(e, Alarm(13, "A1", 1, 4000));
  EXPECT_NE(refused.find("refused a13"), std::string::npos) << refused;
  EXPECT_EQ(Outcome(e, Alarm(5, "A1", 1, 5000)), R"({"calls":2,"id":"a5","n":5})");
}

// A skipped event's feed is noted beside the key's kept snapshot, to be fed again if an
// evaluation fails and the snapshot is put back. A feed that fails changes nothing, and must not
// stay noted: fed again at the put-back, it would fail there and empty the state.
TEST_F(WindowsTest, AFeedThatFailedIsNotFedAgainWhenTheStateIsPutBack) {
  auto engine = Open({{"r.lua", R"(return rule 'r' {
    on = { 'alarm', 'maintenance.done' }, commands = 'seen',
    windows = { w = { on = 'alarm', width = 60000 } },
    skip = { alarm = 'open' },
    decide = function(ev, state)
      if ev.type == 'maintenance.done' then
        if ev.id == 'd1' then error('refused ' .. ev.id) end
        return command('seen', { marker = state.marker })
      end
      state.open = true
      state.marker = 'kept'
      state.w.recent = 'damaged'  -- no whole entry: the next add refuses the window
    end })"}});
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Engine& e = *engine.value();
  EXPECT_EQ(Outcome(e, Alarm(1, "A1", 1, 1000)), "");  // decide runs; its state is kept
  EXPECT_EQ(Outcome(e, Alarm(2, "A1", 1, 2000)),       // skipped; its feed fails
            "error: takt.window: the window's data is damaged");
  const std::string refused = Outcome(e, Done(1, "A1"));
  EXPECT_NE(refused.find("refused d1"), std::string::npos) << refused;
  EXPECT_EQ(refused.find("put back"), std::string::npos) << refused;
  EXPECT_EQ(Outcome(e, Done(2, "A1")), R"({"marker":"kept"})");
}

TEST_F(WindowsTest, FeedingAStateWithAMetatableRunsItsCodeInTheRulesBudget) {
  // The state's __newindex loops: the engine's add, making the window, would run it.
  auto engine = Open({{"r.lua", R"(return rule 'r' { on = 'alarm', commands = 'seen',
    windows = { w = { on = 'alarm', width = 1000 } },
    decide = function(ev, state)
      if getmetatable(state) == nil then
        state.w = nil
        setmetatable(state, { __newindex = function() while true do end end })
      end
    end })"}});
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Engine& e = *engine.value();
  EXPECT_EQ(Outcome(e, Alarm(1, "A1", 1, 1000)), "");  // no state yet: a fresh, plain one
  // The metatable does not outlive the evaluation in the store, but it does in memory: the next
  // feed runs its __newindex, which the instruction limit stops.
  const std::string second = Outcome(e, Alarm(2, "A1", 1, 2000));
  EXPECT_NE(second.find("instruction limit exceeded"), std::string::npos) << second;
  EXPECT_EQ(Outcome(e, Alarm(3, "A2", 1, 3000)), "");  // the engine goes on
}

TEST_F(WindowsTest, FedAndSkippedStatesAreKeptAcrossARestart) {
  const Files rules = {{"r.lua", kSkipping}};
  std::vector<std::string> events = {Alarm(1, "A1", 1, 1000), Alarm(2, "A1", 3, 2000),
                                     Alarm(3, "A1", 1, 3000), Alarm(4, "A1", 1, 4000),
                                     Done(1, "A1"),           Alarm(5, "A1", 2, 5000)};
  std::string uninterrupted;
  {
    auto engine = Open(rules);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    for (const std::string& event : events) uninterrupted += Outcome(*engine.value(), event);
  }
  std::string resumed;
  {
    auto engine = Open(rules, /*durable=*/true);
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    for (size_t i = 0; i < 4; ++i) resumed += Outcome(*engine.value(), events[i]);
  }
  auto engine = Open(rules, /*durable=*/true);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  for (size_t i = 4; i < events.size(); ++i) resumed += Outcome(*engine.value(), events[i]);
  EXPECT_EQ(resumed, uninterrupted);
  EXPECT_NE(uninterrupted.find(R"("id":"a5","n":5)"), std::string::npos) << uninterrupted;
}

// Skipped events' entries may join the window later than they came, all at once (owed: see
// engine/rules/owed_entries.h). A reload between them and the next evaluation must carry them:
// the new rules count every alarm.
TEST_F(WindowsTest, SkippedAlarmsReachTheWindowAcrossAReload) {
  auto engine = Open({{"r.lua", kSkipping}});
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Engine& e = *engine.value();
  EXPECT_EQ(Outcome(e, Alarm(1, "A1", 3, 1000)), R"({"calls":1,"id":"a1","n":1})");  // opens
  for (int n = 2; n <= 6; ++n) EXPECT_EQ(Outcome(e, Alarm(n, "A1", 1, 1000 * n)), "");
  ASSERT_TRUE(e.ReloadRules().ok());
  EXPECT_EQ(Outcome(e, Done(1, "A1")), "");
  EXPECT_EQ(Outcome(e, Alarm(7, "A1", 1, 7000)), R"({"calls":2,"id":"a7","n":7})");
  // More alarms skipped than a window holds among its newest (16): some join the rest as they
  // come, the others wait.
  EXPECT_EQ(Outcome(e, Alarm(8, "A1", 3, 8000)), R"({"calls":3,"id":"a8","n":8})");
  for (int n = 9; n <= 40; ++n) EXPECT_EQ(Outcome(e, Alarm(n, "A1", 1, 1000 * n)), "");
  ASSERT_TRUE(e.ReloadRules().ok());
  EXPECT_EQ(Outcome(e, Done(3, "A1")), "");
  EXPECT_EQ(Outcome(e, Alarm(43, "A1", 1, 43000)), R"({"calls":4,"id":"a43","n":41})");
}

TEST_F(WindowsTest, AWrongSpecIsRefusedWhenTheRuleLoads) {
  const std::pair<const char*, const char*> cases[] = {
      {"windows = 5",
       "'windows' must map names to { on = TYPES, width = MS[, lateness = MS][, value = FIELD] }"},
      {"windows = { w = 600000 }", "'windows' must map names"},
      {"windows = { w = { on = 'alarm', width = 1000, widht = 5 } }",
       "window 'w': unknown field 'widht' (it may have on, width, lateness and value)"},
      {"windows = { w = { width = 1000 } }",
       "window 'w': 'on' must name an event type of the rule's 'on', or list them"},
      {"windows = { w = { on = 'telemetry', width = 1000 } }",
       "window 'w': 'on' names 'telemetry', which is not one of the rule's 'on'"},
      {"windows = { w = { on = 'alarm', width = 0 } }",
       "window 'w': 'width' must be a whole number of milliseconds above 0"},
      {"windows = { w = { on = 'alarm', width = 1.5 } }", "window 'w': 'width' must be"},
      {"windows = { w = { on = 'alarm', width = 1000, lateness = -1 } }",
       "window 'w': 'lateness' must be a whole number of milliseconds, 0 or more"},
      {"windows = { w = { on = 'alarm', width = 1000, value = 'code' } }",
       "window 'w': 'value' must name a data field that every event type of its 'on' declares "
       "as a number, not optional ('code' in 'alarm' is not one)"},
      {"windows = { w = { on = { 'alarm', 'maintenance.done' }, width = 1000, "
       "value = 'severity' } }",
       "window 'w': 'value' must name a data field that every event type of its 'on' declares "
       "as a number, not optional ('severity' in 'maintenance.done' is not one)"},
      {"skip = 5", "'skip' must map event types of the rule's 'on' to a field of its state, a "
                   "table of conditions, or a list of those"},
      {"skip = { alarm = true }",
       "'skip' for 'alarm': an alternative is a field of the state (a string: skipped while it "
       "is set; \"not FIELD\": while it is not) or a table of conditions on data fields and "
       "windows (skipped when all hold)"},
      {"skip = { alarm = 'not ' }", "'skip' for 'alarm': an alternative is a field"},
      {"skip = { alarm = { 'open', 5 } }", "'skip' for 'alarm': an alternative is a field"},
      {"skip = { alarm = { 'open', {} } }", "'skip' for 'alarm': an alternative is a field"},
      {"skip = { telemetry = 'open' }", "'skip' names 'telemetry', which is not one of the rule's"},
      {"skip = { alarm = { level = 3 } }",
       "'skip' for 'alarm': 'skip' field 'level' is not a field of event type 'alarm' (it has: "
       "asset, code, severity)"},
      {"skip = { alarm = { severity = { '<', '3' } } }",
       "'skip' for 'alarm': 'skip' field 'severity' (int in event type 'alarm') is compared with "
       "a string"},
      {"windows = { w = { on = 'alarm', width = 1000 } }, skip = { alarm = { w = { '<', 'x' } } }",
       "'skip' for 'alarm': window 'w' is compared with something that is not a number"},
      {"windows = { w = { on = 'alarm', width = 1000 } }, skip = { alarm = { w = { '=>', 3 } } }",
       "'skip' for 'alarm': window 'w': a condition is a value, or { OP, value }"},
      {"windows = { code = { on = 'alarm', width = 1000 } }, skip = { alarm = { code = 3 } }",
       "'skip' for 'alarm': 'code' is both a data field of 'alarm' and a window"},
  };
  int n = 0;
  for (const auto& [spec, message] : cases) {
    const std::string file = "r" + std::to_string(n++) + ".lua";
    fs::remove_all(dir_ / "rules");
    fs::create_directories(dir_ / "rules");
    auto engine = Open({{file, std::string("return rule 'r' { on = { 'alarm', "
                                           "'maintenance.done' }, ") +
                                   spec + ", decide = function() end }"}});
    ASSERT_FALSE(engine.ok()) << spec;
    EXPECT_EQ(engine.status().code(), Code::kRuleError) << spec;
    EXPECT_NE(engine.status().message().find(file + ": rule 'r': " + message), std::string::npos)
        << spec << "\n" << engine.status().message();
  }
}

TEST_F(WindowsTest, ADamagedWindowFailsTheEventAndChangesNothing) {
  // decide breaks its window's packed entries, then opens: the next alarm is skipped, and the
  // feed finds the damage before it changes anything.
  auto engine = Open({{"r.lua", R"(local window = require "takt.window"
    return rule 'r' { on = { 'alarm', 'maintenance.done' }, commands = 'seen',
    windows = { w = { on = 'alarm', width = 600000 } },
    skip = { alarm = 'open' },
    decide = function(ev, state)
      if ev.type == 'maintenance.done' then
        state.w.recent = state.saved
        state.open = nil
        return
      end
      state.saved = state.w.recent
      state.w.recent = 'not packed entries'
      state.open = true
    end })"}});
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Engine& e = *engine.value();
  EXPECT_EQ(Outcome(e, Alarm(1, "A1", 1, 1000)), "");
  EXPECT_EQ(Outcome(e, Alarm(2, "A1", 1, 2000)),
            "error: takt.window: the window's data is damaged");
  EXPECT_EQ(e.stats().rule_errors, 1u);
}

TEST_F(WindowsTest, SkippedEventsStayWithinTheRulesMemory) {
  // Every alarm is skipped, and its window keeps a day: it grows until the sandbox's memory
  // limit stops it. A refused alarm is a rule error and leaves the window as it was.
  auto engine = Open({{"r.lua", R"(local window = require "takt.window"
    return rule 'r' { on = { 'alarm', 'maintenance.done' }, commands = 'seen',
    windows = { w = { on = 'alarm', width = 86400000 } },
    skip = { alarm = { severity = { '>=', 0 } } },
    decide = function(ev, state)
      return command('seen', { n = window.count(state, 'w', 1000000) })
    end })"}}, false, 2u << 20);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Engine& e = *engine.value();
  int refused_at = 0;
  for (int n = 1; n <= 200'000 && refused_at == 0; ++n) {
    const std::string outcome = Outcome(e, Alarm(n, "A1", 1, 1000 + n));
    if (outcome.empty()) continue;
    EXPECT_NE(outcome.find("memory limit exceeded"), std::string::npos) << outcome;
    refused_at = n;
  }
  ASSERT_GT(refused_at, 1000);
  const std::string count = Outcome(e, Done(1, "A1"));
  EXPECT_EQ(count, R"({"n":)" + std::to_string(refused_at - 1) + "}");
  // The next alarms are refused too, and the window stays as it was.
  EXPECT_NE(Outcome(e, Alarm(refused_at + 1, "A1", 1, 1000 + refused_at + 1)).find("memory"),
            std::string::npos);
  EXPECT_EQ(Outcome(e, Done(2, "A1")), count);
  EXPECT_EQ(Outcome(e, Alarm(refused_at + 2, "A2", 1, 5000)), "");  // another key has room
}

TEST_F(WindowsTest, WindowAddFindsWhatIsWrongBeforeItChangesAnything) {
  // After 15 entries the next add joins the newest to the rest: each bad call below would have
  // changed the window before its error, and none may.
  auto engine = Open({{"r.lua", R"(local window = require "takt.window"
    return rule 'r' { on = 'alarm', commands = 'seen',
    decide = function(ev, state)
      for i = 1, 15 do window.add(state, 'w', i, 1, 100) end
      local errors = {}
      for _, bad in ipairs({ { 100.5 }, { 100, -0.5 }, { 100, 'late' }, { '100' } }) do
        local ok, message = pcall(window.add, state, 'w', 16, 1, bad[1], bad[2])
        errors[#errors + 1] = ok and 'no error' or message
      end
      state.w.kept = 'many'
      errors[#errors + 1] = select(2, pcall(window.add, state, 'w', 16, 1, 100))
      state.w.kept = 0
      local recent = state.w.recent
      state.w.recent = string.rep('x', 17 * 40)  -- more of the newest than add ever keeps apart
      errors[#errors + 1] = select(2, pcall(window.add, state, 'w', 16, 1, 100))
      state.w.recent = recent
      return command('seen', { n = window.count(state, 'w', 16), width = state.w.width,
                               joined = state.w.data == '', errors = errors })
    end })"}});
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  EXPECT_EQ(Outcome(*engine.value(), Alarm(1, "A1", 1, 1000)),
            R"({"errors":["takt.window: the width is a whole number of milliseconds, not a )"
            R"(fraction","takt.window: the lateness is a whole number of milliseconds, not a )"
            R"(fraction","takt.window: the lateness is a whole number of milliseconds, not a )"
            R"(string","takt.window: the width is a whole number of milliseconds, not a string",)"
            R"("takt.window: the window's count of kept entries is damaged",)"
            R"("takt.window: the window's data is damaged"],"joined":true,)"
            R"("n":15,"width":100})");
}

}  // namespace
}  // namespace takt
