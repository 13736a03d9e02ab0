// Loading rules and running them: what a rule file must look like, state per key, rollback of a
// failed evaluation, decisions, and that rules cannot reach each other's state.
#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_support.h"

namespace takt {
namespace {

namespace fs = std::filesystem;

class RuleDir {
 public:
  RuleDir() {
    path_ = fs::temp_directory_path() / ("takt-rules-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~RuleDir() { fs::remove_all(path_); }
  void Write(const std::string& name, const std::string& text) const {
    test::WriteFile((path_ / name).string(), text);
  }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

Result<std::unique_ptr<Engine>> Open(const RuleDir& dir) {
  EngineOptions options;
  options.workflow_paths = {"workflows"};
  options.rules_dir = dir.path();
  options.rule_max_instructions = 100'000;
  options.rule_max_memory_bytes = 16u << 20;
  return Engine::Open(options);
}

std::string Alarm(const std::string& id, const std::string& asset, int severity, int64_t ts = 1000,
                  const std::string& source = "scada") {
  return R"({"id":")" + id + R"(","source":")" + source + R"(","type":"alarm","key":")" + asset +
         R"(","seq":1,"ts":)" + std::to_string(ts) + R"(,"data":{"asset":")" + asset +
         R"(","code":"OVERTEMP","severity":)" + std::to_string(severity) + "}}";
}

SubmitResult Submit(Engine& engine, const std::string& json) {
  Result<SubmitResult> r = engine.Submit(json);
  EXPECT_TRUE(r.ok());
  return r.ok() ? r.value() : SubmitResult{};
}

TEST(RuleLoadTest, SyntaxErrorNamesFileAndLine) {
  RuleDir dir;
  dir.Write("broken.lua", "return rule 'x' {\n  on = 'alarm',\n  decide = function(ev) return end end,\n}\n");
  auto engine = Open(dir);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), Code::kParseError);
  EXPECT_NE(engine.status().message().find("broken.lua:3:"), std::string::npos)
      << engine.status().message();
}

TEST(RuleLoadTest, EveryInvalidFileIsReported) {
  RuleDir dir;
  dir.Write("a_not_a_rule.lua", "return 42");
  dir.Write("b_unknown_type.lua", "return rule 'b' { on = 'alarm.raised', commands = '*', decide = function() end }");
  dir.Write("c_no_decide.lua", "return rule 'c' { on = 'alarm' }");
  dir.Write("d_dup.lua", "return rule 'e' { on = 'alarm', commands = '*', decide = function() end }");
  dir.Write("e_dup.lua", "return rule 'e' { on = 'alarm', commands = '*', decide = function() end }");
  dir.Write("f_raises.lua", "error('refusing to load')");
  dir.Write("g_bad_key.lua", "return rule 'g' { on = 'alarm', commands = '*', key = 'asset', decide = function() end }");
  dir.Write("h_no_on.lua", "return rule 'h' { decide = function() end }");
  auto engine = Open(dir);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), Code::kRuleError);
  const std::string& m = engine.status().message();
  for (const char* part :
       {"a_not_a_rule.lua: the file must end with 'return rule \"NAME\"",
        "b_unknown_type.lua: rule 'b': 'on' names unknown event type 'alarm.raised'",
        "c_no_decide.lua: rule 'c': 'decide' must be a function",
        "e_dup.lua: rule 'e' is already defined in", "f_raises.lua:1: refusing to load",
        "g_bad_key.lua: rule 'g': 'key' must be a function", "h_no_on.lua: rule 'h': 'on' must name"}) {
    EXPECT_NE(m.find(part), std::string::npos) << part << "\nin:\n" << m;
  }
}

// Chunk-level tables are frozen at load, all the way down; reading them works as before (#,
// ipairs, pairs in a defined order), and a chunk-level coroutine, which would carry state
// between events, is refused when the rule loads.
TEST(RuleLoadTest, ChunkLevelTablesAreReadOnlyAndCoroutinesAreRefused) {
  RuleDir dir;
  dir.Write("config.lua", R"(
local LIMITS = { b = { on = 2 }, a = { on = 1 }, list = { 10, 20, 30 } }
local NAME = "config"
return rule "config" { on = "alarm", commands = '*', decide = function(ev, state)
  local keys = {}
  for k in pairs(LIMITS) do keys[#keys + 1] = k end
  local sum = 0
  for _, v in ipairs(LIMITS.list) do sum = sum + v end
  local nested_write = pcall(function() LIMITS.a.on = 5 end)
  return command("alert.config", { keys = table.concat(keys, ","), n = #LIMITS.list, sum = sum,
                                   on = LIMITS.a.on, nested_write = nested_write, name = NAME })
end })");
  auto engine = Open(dir);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  SubmitResult r = Submit(*engine.value(), Alarm("a1", "P1", 2));
  ASSERT_EQ(r.commands.size(), 1u) << (r.rule_errors.empty() ? "" : r.rule_errors[0].message);
  EXPECT_EQ(r.commands[0].payload_json,
            R"({"keys":"a,b,list","n":3,"name":"config","nested_write":false,"on":1,"sum":60})");

  RuleDir coroutine;
  coroutine.Write("gen.lua", R"(
local next_id = coroutine.wrap(function() local i = 0 while true do i = i + 1 coroutine.yield(i) end end)
return rule "gen" { on = "alarm", commands = '*', decide = function(ev, state) return command("alert.n", { n = next_id() }) end })");
  auto refused = Open(coroutine);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("gen.lua: rule 'gen': chunk-level local 'next_id' holds "
                                            "a coroutine"),
            std::string::npos)
      << refused.status().message();
}

// A chunk-level local of any kind that an evaluation changes fails it, naming the local, and is
// put back; one given an equal value (the same long string made again, NaN for NaN, 1.0 for 1)
// has not changed.
TEST(RuleEvalTest, AChangedChunkLocalOfAnyKindFailsTheEvaluationAndIsPutBack) {
  RuleDir dir;
  dir.Write("locals.lua", R"(
local n, f, word, flag, unset = 1, 0 / 0, "short", true, nil
local long = string.rep("x", 100)
return rule "locals" { on = "alarm", commands = '*', decide = function(ev)
  local s = ev.data.severity
  if s == 1 then n = 2 elseif s == 2 then word = "other" elseif s == 3 then flag = false
  elseif s == 4 then unset = 0 elseif s == 5 then f = 1.5
  elseif s == 6 then long = string.rep("x", 99) .. "x"; f = 0 / 0; n = 1.0 end
  return command("alert.seen", { n = n, word = word, flag = flag, unset = unset or "nil",
                                 long = #long, nan = f ~= f })
end })");
  auto engine = Open(dir);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  const std::string as_loaded =
      R"({"flag":true,"long":100,"n":1,"nan":true,"unset":"nil","word":"short"})";
  const char* names[] = {"n", "word", "flag", "unset", "f"};
  for (int severity = 1; severity <= 5; ++severity) {
    SubmitResult changed = Submit(*engine.value(), Alarm("c" + std::to_string(severity), "P1",
                                                         severity));
    ASSERT_EQ(changed.rule_errors.size(), 1u) << severity;
    EXPECT_NE(changed.rule_errors[0].message.find(
                  std::string("the chunk-level local '") + names[severity - 1] + "' was changed"),
              std::string::npos)
        << changed.rule_errors[0].message;
    SubmitResult after = Submit(*engine.value(), Alarm("a" + std::to_string(severity), "P1", 7));
    ASSERT_EQ(after.commands.size(), 1u) << severity;
    EXPECT_EQ(after.commands[0].payload_json, as_loaded) << "put back after severity " << severity;
  }
  SubmitResult equal = Submit(*engine.value(), Alarm("e1", "P1", 6));
  EXPECT_TRUE(equal.rule_errors.empty()) << equal.rule_errors[0].message;
  ASSERT_EQ(equal.commands.size(), 1u);
}

// A rule emits only the commands it declares: names, or prefixes ending in '*'.
TEST(RuleEvalTest, ARuleEmitsOnlyTheCommandsItDeclares) {
  RuleDir dir;
  dir.Write("a.lua", R"(return rule "declared" { on = "alarm", commands = { "odoo.maintenance.create", "alert.*" },
    decide = function(ev)
      if ev.data.severity == 1 then return command("odoo.maintenance.create"), command("alert.anything") end
      if ev.data.severity == 2 then return command("odoo.quality.alert") end
      return command("alert")  -- "alert.*" covers names that start with "alert.", not "alert"
    end })");
  dir.Write("b.lua", R"(return rule "silent" { on = "alarm", decide = function(ev) return command("x.y") end })");
  auto engine = Open(dir);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  SubmitResult r = Submit(*engine.value(), Alarm("a1", "P1", 1));
  ASSERT_EQ(r.commands.size(), 2u);
  EXPECT_EQ(r.commands[0].name, "odoo.maintenance.create");
  EXPECT_EQ(r.commands[1].name, "alert.anything");
  ASSERT_EQ(r.rule_errors.size(), 1u);
  EXPECT_EQ(r.rule_errors[0].rule, "silent");
  EXPECT_NE(r.rule_errors[0].message.find("command 'x.y' is not declared: the rule declares no "
                                          "commands (add commands = { \"x.y\" } to it)"),
            std::string::npos)
      << r.rule_errors[0].message;
  for (int severity : {2, 3}) {
    r = Submit(*engine.value(), Alarm("a" + std::to_string(severity + 1), "P1", severity));
    EXPECT_TRUE(r.commands.empty()) << r.commands[0].name;
    ASSERT_EQ(r.rule_errors.size(), 2u);
    EXPECT_NE(r.rule_errors[0].message.find(
                  "is not declared: the rule may emit only odoo.maintenance.create, alert.*"),
              std::string::npos)
        << r.rule_errors[0].message;
  }

  for (const char* bad : {"commands = 42", "commands = { 'ok', 7 }", "commands = 'shell exec'",
                          "commands = 'a*b'", "commands = ''", "commands = 'odoo.\\0x'"}) {
    RuleDir broken;
    broken.Write("c.lua", std::string("return rule 'c' { on = 'alarm', ") + bad +
                              ", decide = function() end }");
    auto refused = Open(broken);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.status().message().find("c.lua: rule 'c': 'commands' must name the commands"),
              std::string::npos)
        << bad << ": " << refused.status().message();
  }
}

// Limits that leave a rule no room to load are refused when the engine opens, naming them.
TEST(RuleLoadTest, LimitsTooSmallToLoadARuleAreRefused) {
  RuleDir dir;
  dir.Write("a.lua", "return rule 'a' { on = 'alarm', decide = function() end }");
  EngineOptions options;
  options.workflow_paths = {"workflows"};
  options.rules_dir = dir.path();
  options.rule_max_memory_bytes = 1000;
  auto engine = Engine::Open(options);
  ASSERT_FALSE(engine.ok());
  EXPECT_EQ(engine.status().code(), Code::kInvalidArgument);
  EXPECT_NE(engine.status().message().find("rule_max_memory_bytes is 1000; it must be at least"),
            std::string::npos)
      << engine.status().message();
  options.rule_max_memory_bytes = 1u << 20;
  options.rule_timeout_ms = 0;
  EXPECT_EQ(Engine::Open(options).status().code(), Code::kInvalidArgument);
  options.rule_timeout_ms = 100;
  EXPECT_TRUE(Engine::Open(options).ok());
}

TEST(RuleLoadTest, MissingDirectoryIsNotFound) {
  EngineOptions options;
  options.workflow_paths = {"workflows"};
  options.rules_dir = "no/such/rules";
  EXPECT_EQ(Engine::Open(options).status().code(), Code::kNotFound);
}

TEST(RuleLoadTest, RulesRunInFileNameOrderAndHaveVersions) {
  RuleDir dir;
  dir.Write("b.lua", "return rule 'second' { on = 'alarm', commands = '*', decide = function() return command('two') end }");
  dir.Write("a.lua", "return rule 'first' { on = 'alarm', commands = '*', decide = function() return command('one') end }");
  auto engine = Open(dir);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  std::vector<RuleInfo> rules = engine.value()->rules();
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_EQ(rules[0].name, "first");
  EXPECT_EQ(rules[0].version.size(), 16u);
  EXPECT_NE(rules[0].version, rules[1].version);
  SubmitResult r = Submit(*engine.value(), Alarm("s1", "A1", 1));
  ASSERT_EQ(r.commands.size(), 2u);
  EXPECT_EQ(r.commands[0].name, "one");
  EXPECT_EQ(r.commands[0].emitted_by, "rule first@" + rules[0].version);
  EXPECT_EQ(r.commands[0].caused_by, "s1");
  EXPECT_EQ(r.commands[0].payload_json, "{}");
}

TEST(RuleEvalTest, StateIsKeptPerKey) {
  RuleDir dir;
  dir.Write("count.lua", R"(return rule 'count' { on = 'alarm', commands = '*',
    decide = function(ev, state)
      state.n = (state.n or 0) + 1
      return command('counted', { asset = ev.key, n = state.n })
    end })");
  auto engine = Open(dir);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Submit(*engine.value(), Alarm("s1", "A1", 1));
  Submit(*engine.value(), Alarm("s2", "A2", 1));
  SubmitResult r = Submit(*engine.value(), Alarm("s3", "A1", 1));
  ASSERT_EQ(r.commands.size(), 1u);
  EXPECT_EQ(r.commands[0].payload_json, R"({"asset":"A1","n":2})");
}

TEST(RuleEvalTest, KeyFunctionChoosesTheState) {
  RuleDir dir;
  dir.Write("by_code.lua", R"(return rule 'by_code' { on = 'alarm', commands = '*',
    key = function(ev) return ev.data.code end,
    decide = function(ev, state)
      state.n = (state.n or 0) + 1
      return command('n', { n = state.n })
    end })");
  auto engine = Open(dir);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Submit(*engine.value(), Alarm("s1", "A1", 1));
  SubmitResult r = Submit(*engine.value(), Alarm("s2", "A2", 1));  // same code, other asset
  EXPECT_EQ(r.commands.at(0).payload_json, R"({"n":2})");
}

TEST(RuleEvalTest, AFailedEvaluationLeavesStateAsItWasAndOthersRun) {
  RuleDir dir;
  dir.Write("a_flaky.lua", R"(return rule 'flaky' { on = 'alarm', commands = '*',
    decide = function(ev, state)
      state.n = (state.n or 0) + 1
      state.list = state.list or {}
      state.list[#state.list + 1] = ev.id
      if ev.data.severity == 4 then error('severity 4 is not handled') end
      return command('seen', { n = state.n, ids = state.list })
    end })");
  dir.Write("b_loops.lua", R"(return rule 'loops' { on = 'alarm', commands = '*',
    decide = function(ev) if ev.data.severity == 4 then while true do end end end })");
  dir.Write("c_steady.lua", R"(return rule 'steady' { on = 'alarm', commands = '*',
    decide = function(ev) return command('steady') end })");
  auto engine = Open(dir);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Submit(*engine.value(), Alarm("s1", "A1", 1));
  SubmitResult bad = Submit(*engine.value(), Alarm("s2", "A1", 4));
  EXPECT_EQ(bad.outcome, Outcome::kApplied);
  ASSERT_EQ(bad.rule_errors.size(), 2u);
  EXPECT_EQ(bad.rule_errors[0].rule, "flaky");
  EXPECT_NE(bad.rule_errors[0].message.find("severity 4 is not handled"), std::string::npos);
  EXPECT_EQ(bad.rule_errors[1].rule, "loops");
  EXPECT_NE(bad.rule_errors[1].message.find("instruction limit exceeded"), std::string::npos);
  ASSERT_EQ(bad.commands.size(), 1u);  // steady still ran
  EXPECT_EQ(bad.commands[0].name, "steady");
  SubmitResult next = Submit(*engine.value(), Alarm("s3", "A1", 1));
  EXPECT_EQ(next.commands.at(0).payload_json, R"({"ids":["s1","s3"],"n":2})");
  EXPECT_EQ(engine.value()->stats().rule_errors, 2u);
}

// The engine may hand a rule the same tables for each event, filled again: nothing the rule
// did with an earlier event's tables shows in a later one, and what it kept of them in its
// state stays as it was.
TEST(RuleEvalTest, EachEventIsSeenAsItselfWhateverTheRuleDidWithEarlierOnes) {
  RuleDir dir;
  dir.Write("tables.lua", R"(return rule 'tables' {
    on = { 'alarm', 'maintenance.done' }, commands = '*',
    decide = function(ev, state)
      local function keys(t)
        local list = {}
        for k in pairs(t) do list[#list + 1] = k end
        return table.concat(list, ',')
      end
      if ev.type == 'maintenance.done' then return command('done', { data = keys(ev.data) }) end
      local severity = ev.data.severity
      if severity == 1 then
        state.kept, state.kept_data = ev, ev.data
      elseif severity == 2 then
        ev.extra, ev.data.note = 'x', 'y'
        ev.type, ev.data.code = 'changed', nil
      else
        return command('seen', {
          id = ev.id, type = ev.type, code = ev.data.code, asset = ev.data.asset or 'none',
          extra = ev.extra or 'none', note = ev.data.note or 'none',
          fields = keys(ev), data = keys(ev.data),
          kept = state.kept.id, kept_severity = state.kept.data.severity,
          kept_code = state.kept_data.code, same = state.kept.data == state.kept_data,
          meta = getmetatable(ev), replaced = pcall(setmetatable, ev, {}) })
      end
    end })");
  auto engine = Open(dir);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  const auto alarm = [](int n, int severity, const std::string& asset_field) {
    return R"({"id":"a)" + std::to_string(n) + R"(","source":"scada","type":"alarm","key":"A1",)"
           R"("seq":)" + std::to_string(n) + R"(,"ts":)" + std::to_string(n * 1000) +
           R"(,"data":{)" + asset_field + R"("code":"C)" + std::to_string(n) +
           R"(","severity":)" + std::to_string(severity) + "}}";
  };
  EXPECT_TRUE(Submit(*engine.value(), alarm(1, 1, R"("asset":"A1",)")).rule_errors.empty());
  EXPECT_TRUE(Submit(*engine.value(), alarm(2, 2, R"("asset":"A1",)")).rule_errors.empty());
  const SubmitResult done = Submit(*engine.value(),
      R"({"id":"m1","source":"odoo","type":"maintenance.done","key":"A1","seq":1,"ts":2500,)"
      R"("data":{"asset":"A1"}})");
  ASSERT_EQ(done.commands.size(), 1u);
  EXPECT_EQ(done.commands[0].payload_json, R"({"data":"asset"})");
  const SubmitResult seen = Submit(*engine.value(), alarm(3, 3, ""));
  ASSERT_TRUE(seen.rule_errors.empty()) << seen.rule_errors[0].message;
  ASSERT_EQ(seen.commands.size(), 1u);
  EXPECT_EQ(seen.commands[0].payload_json,
            R"({"asset":"none","code":"C3","data":"code,severity","extra":"none",)"
            R"("fields":"data,id,key,seq,source,ts,type","id":"a3","kept":"a1",)"
            R"("kept_code":"C1","kept_severity":1,"meta":"takt.event","note":"none",)"
            R"("replaced":false,"same":true,"type":"alarm"})");
}

// Tables filled again event after event, of one type and of two alternating, hold each event's
// fields and nothing else.
TEST(RuleEvalTest, TablesFilledAgainHoldEachEventsFieldsAndNothingElse) {
  RuleDir dir;
  dir.Write("fields.lua", R"(return rule 'fields' {
    on = { 'alarm', 'maintenance.done' }, commands = '*',
    decide = function(ev)
      local function list(t)
        local out = {}
        for k, v in pairs(t) do
          out[#out + 1] = k .. '=' .. (type(v) == 'table' and 'table' or tostring(v))
        end
        return table.concat(out, ',')
      end
      return command('seen', { ev = list(ev), data = list(ev.data) })
    end })");
  auto engine = Open(dir);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  const auto payload = [&](const std::string& event) {
    const SubmitResult r = Submit(*engine.value(), event);
    EXPECT_TRUE(r.rule_errors.empty());
    return r.commands.empty() ? std::string("none") : r.commands[0].payload_json;
  };
  for (int n = 1; n <= 3; ++n) {
    const std::string asset = "A" + std::to_string(n);
    EXPECT_EQ(payload(Alarm("s" + std::to_string(n), asset, n)),
              R"({"data":"asset=)" + asset + R"(,code=OVERTEMP,severity=)" + std::to_string(n) +
                  R"(","ev":"data=table,id=s)" + std::to_string(n) + ",key=" + asset +
                  R"(,seq=1,source=scada,ts=1000,type=alarm"})");
    EXPECT_EQ(payload(R"({"id":"m)" + std::to_string(n) +
                      R"(","source":"odoo","type":"maintenance.done","key":")" + asset +
                      R"(","seq":1,"ts":2000,"data":{"asset":")" + asset + R"("}})"),
              R"({"data":"asset=)" + asset + R"(","ev":"data=table,id=m)" + std::to_string(n) +
                  ",key=" +
                  asset + R"(,seq=1,source=odoo,ts=2000,type=maintenance.done"})");
  }
}

TEST(RuleEvalTest, DecisionsAsValuesOrAList) {
  RuleDir dir;
  dir.Write("many.lua", R"(return rule 'many' { on = 'alarm', commands = '*',
    decide = function(ev)
      if ev.data.severity == 1 then return command('a'), nil, command('b') end
      if ev.data.severity == 2 then return { command('c'), command('d') } end
      if ev.data.severity == 3 then
        local t = {} for i = 1, 100 do t[i] = command('x') end return t
      end
      return 42
    end })");
  auto engine = Open(dir);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  EXPECT_EQ(Submit(*engine.value(), Alarm("s1", "A1", 1)).commands.size(), 2u);
  EXPECT_EQ(Submit(*engine.value(), Alarm("s2", "A1", 2)).commands.size(), 2u);
  SubmitResult too_many = Submit(*engine.value(), Alarm("s3", "A1", 3));
  EXPECT_TRUE(too_many.commands.empty());
  ASSERT_EQ(too_many.rule_errors.size(), 1u);
  EXPECT_NE(too_many.rule_errors[0].message.find("more than 64 decisions"), std::string::npos);
  SubmitResult wrong = Submit(*engine.value(), Alarm("s4", "A1", 4));
  ASSERT_EQ(wrong.rule_errors.size(), 1u);
  EXPECT_NE(wrong.rule_errors[0].message.find("decide returned a number"), std::string::npos);
}

TEST(RuleEvalTest, CommandDataBecomesDeterministicJson) {
  RuleDir dir;
  dir.Write("data.lua", R"(return rule 'data' { on = 'alarm', commands = '*',
    decide = function(ev)
      if ev.data.severity == 1 then
        return command('ok', { z = 1, a = 'x', m = { 1, 2.5, true }, n = { deep = { k = 'v' } }, q = 'say "hi"\n' })
      elseif ev.data.severity == 2 then
        return command('bad', { f = function() end })
      elseif ev.data.severity == 3 then
        local t = {} t.self = t return command('cycle', t)
      elseif ev.data.severity == 5 then
        return command('huge', { s = string.rep('x', 70000) })
      end
      return command('mixed', { 1, 2, x = 3 })
    end })");
  auto engine = Open(dir);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  EXPECT_EQ(Submit(*engine.value(), Alarm("s1", "A1", 1)).commands.at(0).payload_json,
            R"({"a":"x","m":[1,2.5,true],"n":{"deep":{"k":"v"}},"q":"say \"hi\"\n","z":1})");
  EXPECT_NE(Submit(*engine.value(), Alarm("s2", "A1", 2)).rule_errors.at(0).message.find(
                "cannot hold a function"),
            std::string::npos);
  EXPECT_NE(Submit(*engine.value(), Alarm("s3", "A1", 3)).rule_errors.at(0).message.find(
                "nested deeper than"),
            std::string::npos);
  EXPECT_NE(Submit(*engine.value(), Alarm("s4", "A1", 4)).rule_errors.at(0).message.find(
                "mixes a list and named fields"),
            std::string::npos);
  EXPECT_NE(Submit(*engine.value(), Alarm("s5", "A1", 5)).rule_errors.at(0).message.find(
                "command data is larger than 65536 bytes"),
            std::string::npos);
}

TEST(RuleEvalTest, StateHoldsOnlyData) {
  RuleDir dir;
  dir.Write("fn.lua", R"(return rule 'fn' { on = 'alarm', commands = '*',
    decide = function(ev, state) state.f = function() end end })");
  auto engine = Open(dir);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  // Refused when the evaluation that put it there ends, with or without a store; the state is
  // put back, so the next event meets the same refusal and not a state that cannot be kept.
  for (const char* id : {"s1", "s2"}) {
    SubmitResult r = Submit(*engine.value(), Alarm(id, "A1", 1));
    ASSERT_EQ(r.rule_errors.size(), 1u) << id;
    EXPECT_NE(r.rule_errors[0].message.find("rule state may hold tables, strings, numbers and booleans"),
              std::string::npos);
  }
}

// With a store, the rule in `dir` builds a state too deep on an alarm of severity 1 and asks
// for `fine` on one of severity 2: the first evaluation fails saying why, and the engine takes
// the next event (and commits both).
void ExpectATooDeepStateRefusedAndNothingBroken(const RuleDir& dir) {
  EngineOptions options;
  options.workflow_paths = {"workflows"};
  options.rules_dir = dir.path();
  options.store_path = dir.path() + "/t.db";
  auto engine = Engine::Open(options);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  const SubmitResult deep = Submit(*engine.value(), Alarm("s1", "A1", 1));
  ASSERT_EQ(deep.rule_errors.size(), 1u);
  EXPECT_NE(deep.rule_errors[0].message.find("nested deeper than 32 levels"), std::string::npos)
      << deep.rule_errors[0].message;
  EXPECT_TRUE(deep.commands.empty());
  const SubmitResult next = Submit(*engine.value(), Alarm("s2", "A1", 2, 2000));
  ASSERT_EQ(next.commands.size(), 1u);
  EXPECT_EQ(next.commands[0].name, "fine");
  EXPECT_EQ(engine.value()->stats().events, 2u);
}

// Depth counts along every path, shared tables included: here every table sits one level
// down, where the check after the evaluation walks first, and they also chain 40 deep through
// `prev`, where the store's encoder (keys sorted, `true` first) walks first. Such a state once
// passed the check and then took the process down when the batch was committed.
TEST(RuleEvalTest, AStateNestedDeepThroughSharedTablesIsRefusedAndNothingBreaks) {
  RuleDir dir;
  dir.Write("deep.lua", R"(return rule 'deep' { on = 'alarm', commands = '*',
    decide = function(ev, state)
      if ev.data.severity == 2 then return command('fine') end
      local flat = {}
      for i = 1, 40 do flat[i] = { prev = flat[i - 1] } end
      state[1], state[true] = flat, flat[40]
      return command('kept')
    end })");
  ExpectATooDeepStateRefusedAndNothingBroken(dir);
}

// And through a cycle: the check after the evaluation meets `a` again from `b5` while still
// walking it, and counts no levels for it there. The store's encoder walks `b` first (`true`
// sorts first) and goes on from `b5` through `a` and its chain, six levels deeper than any
// path the check took. Such a state passed the check and then failed every commit that held
// it, and the submissions grouped with it.
TEST(RuleEvalTest, AStateNestedDeepThroughACycleIsRefusedAndNothingBreaks) {
  RuleDir dir;
  dir.Write("cycle.lua", R"(return rule 'cycle' { on = 'alarm', commands = '*',
    decide = function(ev, state)
      if ev.data.severity == 2 then return command('fine') end
      local a, link = {}, nil
      link = a
      for i = 1, 31 do link.next = {}; link = link.next end
      local b = {}
      link = b
      for i = 2, 5 do link.next = {}; link = link.next end
      link.a, a.b = a, b
      state[1], state[true] = a, b
      return command('kept')
    end })");
  ExpectATooDeepStateRefusedAndNothingBroken(dir);
}

// A failed evaluation leaves the state as it was before it, value for value: an integer stays
// an integer, a string with a NUL keeps it, shared and cyclic tables stay shared and cyclic.
TEST(RuleEvalTest, AFailedEvaluationLeavesTheStateAsItWas) {
  RuleDir dir;
  dir.Write("keep.lua", R"(return rule 'keep' { on = 'alarm', commands = '*',
    decide = function(ev, state)
      local severity = ev.data.severity
      if severity == 1 then
        local shared = { x = 'kept', list = { 1, 2, 3 } }
        shared.self = shared
        state.n, state.f, state.s, state.yes = 1, 2.5, 'a\0b', true
        state.a, state.b = shared, shared
      elseif severity == 2 then
        state.n, state.f, state.s, state.yes = 99, 0.5, 'other', false
        state.a.x = 'changed'
        state.a.list[4] = 4
        state.b = nil
        state.new = {}
        error('boom')
      else
        return command('state', {
          n = math.type(state.n) .. state.n, f = state.f, s = #state.s, yes = state.yes,
          x = state.a.x, list = #state.a.list, shared = state.a == state.b,
          cycle = state.a.self == state.a, new = state.new == nil })
      end
    end })");
  auto engine = Open(dir);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  EXPECT_TRUE(Submit(*engine.value(), Alarm("s1", "A1", 1)).rule_errors.empty());
  const SubmitResult failed = Submit(*engine.value(), Alarm("s2", "A1", 2));
  ASSERT_EQ(failed.rule_errors.size(), 1u);
  EXPECT_NE(failed.rule_errors[0].message.find("boom"), std::string::npos);
  EXPECT_EQ(engine.value()->stats().rule_errors, 1u);
  EXPECT_EQ(engine.value()->stats().rule_budget_breaks, 0u);  // an error, not a broken budget
  EXPECT_EQ(Submit(*engine.value(), Alarm("s3", "A1", 3)).commands.at(0).payload_json,
            R"({"cycle":true,"f":2.5,"list":3,"n":"integer1","new":true,"s":3,"shared":true,)"
            R"("x":"kept","yes":true})");
}

TEST(RuleEvalTest, ARuleCannotReachAnotherRulesState) {
  RuleDir dir;
  dir.Write("a_keeper.lua", R"(return rule 'keeper' { on = 'alarm', commands = '*',
    decide = function(ev, state)
      state.secret = state.secret or 'mine'
      return command('kept', { secret = state.secret })
    end })");
  // Everything a rule can reach: its globals, the libraries, ctx, the event. None leads to the
  // keeper's state, and writes to shared tables fail.
  dir.Write("b_thief.lua", R"(return rule 'thief' { on = 'alarm', commands = '*',
    decide = function(ev, state, ctx)
      local found = 0
      for _, t in ipairs({ _ENV, string, table, math, ctx, ev }) do
        for k, v in pairs(t) do
          if type(v) == 'table' and rawget(v, 'secret') then found = found + 1 end
        end
      end
      local wrote = pcall(function() ctx.instance = nil end)
      return command('stolen', { found = found, wrote = wrote })
    end })");
  auto engine = Open(dir);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  SubmitResult r = Submit(*engine.value(), Alarm("s1", "A1", 1));
  ASSERT_EQ(r.commands.size(), 2u) << (r.rule_errors.empty() ? "" : r.rule_errors[0].message);
  EXPECT_EQ(r.commands[1].payload_json, R"({"found":0,"wrote":false})");
  EXPECT_EQ(Submit(*engine.value(), Alarm("s2", "A1", 1)).commands[0].payload_json,
            R"({"secret":"mine"})");
}

TEST(RuleEvalTest, RequireOnlyFindsTheStdlib) {
  RuleDir dir;
  dir.Write("req.lua", R"(
    local window = require "takt.window"
    local ok, err = pcall(require, "os")
    return rule 'req' { on = 'alarm', commands = '*',
      decide = function(ev) return command('r', { window = type(window.count), err = err }) end })");
  auto engine = Open(dir);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  const std::string payload = Submit(*engine.value(), Alarm("s1", "A1", 1)).commands.at(0).payload_json;
  EXPECT_NE(payload.find(R"("window":"function")"), std::string::npos) << payload;
  EXPECT_NE(payload.find("module 'os' not found"), std::string::npos) << payload;
}

TEST(RuleEvalTest, RejectedEventsNeverReachRules) {
  RuleDir dir;
  dir.Write("count.lua", R"(return rule 'count' { on = 'alarm', commands = '*',
    decide = function(ev, state) state.n = (state.n or 0) + 1 return command('n', { n = state.n }) end })");
  auto engine = Open(dir);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Submit(*engine.value(), Alarm("s1", "A1", 1));
  EXPECT_TRUE(Submit(*engine.value(), Alarm("s1", "A1", 1)).commands.empty());  // duplicate
  EXPECT_TRUE(Submit(*engine.value(), Alarm("m1", "A1", 1, 1000, "mes")).commands.empty());  // foreign
  EXPECT_EQ(Submit(*engine.value(), Alarm("s2", "A1", 1)).commands.at(0).payload_json, R"({"n":2})");
}

TEST(RuleEvalTest, CtxShowsInstancesReadOnly) {
  RuleDir dir;
  dir.Write("look.lua", R"(return rule 'look' { on = 'alarm', commands = '*',
    decide = function(ev, state, ctx)
      local byKey = ctx.instance('production_order', 'MO-1')
      local current = ctx.current('production_order', { asset = ev.key })
      local none = ctx.instance('production_order', 'MO-404')
      return command('seen', { state = byKey.state, asset = byKey.vars.asset, final = byKey.final,
                               current = current and current.key or 'none', none = none == nil })
    end })");
  auto engine = Open(dir);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Submit(*engine.value(), R"({"id":"o1","source":"odoo","type":"order.released","key":"MO-1","seq":1,"ts":1,"data":{"asset":"A1"}})");
  EXPECT_EQ(Submit(*engine.value(), Alarm("s1", "A1", 1)).commands.at(0).payload_json,
            R"({"asset":"A1","current":"MO-1","final":false,"none":true,"state":"released"})");
}

}  // namespace
}  // namespace takt
