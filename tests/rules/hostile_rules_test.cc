// Hostile and careless rules beside the shipped ones, on the recorded plant stream: each fails
// alone with an error naming it, the engine goes on, and the shipped rules decide exactly what
// they decide without it.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/test_support.h"

namespace takt {
namespace {

namespace fs = std::filesystem;

struct Hostile {
  const char* name;
  const char* code;   // the rule file, run before the shipped rules (its name sorts first)
  const char* error;  // part of the rule error it must give; "" when it must give none
};

void PrintTo(const Hostile& h, std::ostream* os) { *os << h.name; }

struct PlantRun {
  std::vector<std::string> shipped_commands;  // "cause name payload" of the shipped rules' commands
  std::vector<std::string> hostile_errors;    // messages of the hostile rule's failures
  std::vector<std::string> hostile_commands;  // names of the commands it got out
  uint64_t events = 0;
};

// Runs examples/plant/events.jsonl through the shipped workflow and the rules in `rules_dir`.
PlantRun RunPlant(const std::string& rules_dir) {
  EngineOptions options;
  options.workflow_paths = {"workflows"};
  options.rules_dir = rules_dir;
  options.rule_max_instructions = 200'000;
  options.rule_timeout_ms = 2000;
  Result<std::unique_ptr<Engine>> engine = Engine::Open(options);
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  PlantRun run;
  if (!engine.ok()) return run;
  std::ifstream in("examples/plant/events.jsonl");
  for (std::string line; std::getline(in, line);) {
    Result<SubmitResult> r = engine.value()->Submit(line);
    EXPECT_TRUE(r.ok()) << r.status().message();
    if (!r.ok()) continue;
    ++run.events;
    for (const Command& c : r.value().commands) {
      if (c.emitted_by.rfind("rule 000_hostile", 0) == 0) {
        run.hostile_commands.push_back(c.name);
      } else {
        run.shipped_commands.push_back(c.caused_by + " " + c.name + " " + c.payload_json);
      }
    }
    for (const RuleError& e : r.value().rule_errors) {
      if (e.rule == "000_hostile") run.hostile_errors.push_back(e.message);
    }
  }
  return run;
}

class HostileRuleTest : public testing::TestWithParam<Hostile> {
 protected:
  static void SetUpTestSuite() { baseline_ = new PlantRun(RunPlant("rules")); }
  static void TearDownTestSuite() {
    delete baseline_;
    baseline_ = nullptr;
  }
  static PlantRun* baseline_;
};
PlantRun* HostileRuleTest::baseline_ = nullptr;

TEST_P(HostileRuleTest, FailsAloneAndTheShippedRulesDecideAsWithoutIt) {
  const test::ScratchDir scratch("hostile-" + std::string(GetParam().name));
  for (const auto& entry : fs::directory_iterator("rules")) {
    if (entry.path().extension() == ".lua") {
      fs::copy_file(entry.path(), fs::path(scratch.dir) / entry.path().filename());
    }
  }
  test::WriteFile(scratch.dir + "/000_hostile.lua", GetParam().code);
  const PlantRun run = RunPlant(scratch.dir);

  ASSERT_GT(baseline_->shipped_commands.size(), 0u);
  EXPECT_EQ(run.events, baseline_->events);
  EXPECT_EQ(run.shipped_commands, baseline_->shipped_commands)
      << GetParam().name << " changed what the shipped rules decide";
  if (std::string(GetParam().error).empty()) {
    EXPECT_TRUE(run.hostile_errors.empty()) << run.hostile_errors.front();
  } else {
    ASSERT_FALSE(run.hostile_errors.empty()) << GetParam().name << " gave no error";
    EXPECT_NE(run.hostile_errors.front().find(GetParam().error), std::string::npos)
        << GetParam().name << ": " << run.hostile_errors.front();
    EXPECT_TRUE(run.hostile_commands.empty()) << run.hostile_commands.front();
  }
}

// Each rule runs on alarms, before the shipped rules (R1, R2) do.
#define HOSTILE(body) "return rule \"000_hostile\" { on = {\"alarm\"}, commands = \"alert.*\", decide = function(ev, state, ctx)\n" body "\nend }\n"

INSTANTIATE_TEST_SUITE_P(
    Kinds, HostileRuleTest,
    testing::Values(
        // What the sandbox does not have, and what it stops.
        Hostile{"os_execute", HOSTILE("os.execute('touch /tmp/takt-pwned')"), "global 'os'"},
        Hostile{"io_open", HOSTILE("io.open('/etc/passwd')"), "global 'io'"},
        Hostile{"load_code", HOSTILE("load('return 1')()"), "global 'load'"},
        Hostile{"debug_registry", HOSTILE("debug.getregistry()"), "global 'debug'"},
        Hostile{"string_dump", HOSTILE("string.dump(tostring)"), "field 'dump'"},
        Hostile{"assign_global", HOSTILE("counter = 1"), "assignment to global 'counter'"},
        Hostile{"endless_loop", HOSTILE("while true do end"), "instruction limit exceeded"},
        Hostile{"endless_loop_under_pcall",
                HOSTILE("while true do pcall(function() while true do end end) end"),
                "instruction limit exceeded"},
        Hostile{"error_with_a_table", HOSTILE("error({code = 1})"), "error object is a table"},
        Hostile{"memory_bomb", HOSTILE("local s = string.rep('x', 1 << 30)"), "memory limit exceeded"},
        // 5. Each rule has a memory budget of its own: one that fills it starves no other.
        Hostile{"hoards_memory_in_its_state",
                HOSTILE("local t = state.kept or {}\nstate.kept = t\n"
                        "local block = string.rep('x', 1 << 16)\n"
                        "for i = 1, #t == 0 and 14 or 1 do t[#t + 1] = string.rep(block, 64) end"),
                "memory limit exceeded"},
        // 7. What lasts from one event to the next is in state: a chunk-level local is not saved,
        // so changing one is refused (and it is put back), and chunk-level tables are frozen.
        Hostile{"counts_in_a_chunk_local",
                "local count = 0\n"
                "return rule \"000_hostile\" { on = {\"alarm\"}, commands = \"alert.*\", decide = function(ev, state)\n"
                "  count = count + 1\n"
                "  if count > 1 then return command('alert.counted', {count = count}) end\nend }\n",
                "the chunk-level local 'count' was changed"},
        Hostile{"caches_in_a_chunk_table",
                "local seen = {}\n"
                "local function remember(id) seen[id] = true end\n"
                "return rule \"000_hostile\" { on = {\"alarm\"}, commands = \"alert.*\", decide = function(ev, state)\n"
                "  remember(ev.id)\nend }\n",
                "attempt to change a read-only table"},
        Hostile{"caches_in_a_table_that_claims_to_be_read_only",
                "local seen = setmetatable({}, {__metatable = 'read-only'})\n"
                "return rule \"000_hostile\" { on = {\"alarm\"}, decide = function(ev, state)\n"
                "  seen[ev.id] = true\nend }\n",
                "attempt to change a read-only table"},
        Hostile{"returns_a_function", HOSTILE("return function() end"), "decide returned a function"},
        // Careless but harmless: no error, and the shipped rules still decide the same.
        Hostile{"changes_its_event", HOSTILE("ev.data.severity = 4\nev.key = 'A01'"), ""},
        Hostile{"signal_to_no_workflow", HOSTILE("return signal('no_such_workflow', ev.key, 'hold')"),
                "signal 'hold' to workflow 'no_such_workflow', which the definitions do not have "
                "(they have production_order)"},
        // 1. Read-only tables: pairs() gives no way to the table behind the proxy.
        Hostile{"pairs_string_state",
                HOSTILE("local f, s = pairs(string)\n"
                        "if type(s) == 'table' then s.upper = function() return 'PWNED' end\n"
                        "  s.format = nil end\n"
                        "for k, v in pairs(string) do if type(v) == 'table' then v.x = 1 end end\n"
                        "error('no way in')"),
                "attempt to change a read-only table"},
        Hostile{"pairs_window_module",
                HOSTILE("local window = require 'takt.window'\n"
                        "local f, s = pairs(window)\n"
                        "assert(s == window, 'the state is the proxy')\n"
                        "s.count = function() return 0 end"),
                "attempt to change a read-only table"},
        Hostile{"pairs_ctx",
                HOSTILE("local f, s = pairs(ctx)\n"
                        "assert(s == ctx, 'the state is the proxy')\n"
                        "s.current = function() return nil end"),
                "attempt to change a read-only table"},
        Hostile{"pairs_iterator_state_is_the_proxy",
                HOSTILE("local f, s = pairs(table)\n"
                        "assert(s == table, 'the state is the proxy')\n"
                        "s.insert = nil"),
                "read-only table"},
        Hostile{"string_metatable",
                HOSTILE("local mt = getmetatable('')\n"
                        "assert(type(mt) == 'string', 'the metatable is hidden')\n"
                        "string.upper = function() return 'PWNED' end"),
                "read-only table"},
        // 2. Decisions are checked and copied when made.
        Hostile{"decision_kind_set_to_nil",
                HOSTILE("local c = command('alert.x', {a = 1})\nc.kind = nil\nreturn c"),
                "cannot be changed once command() or signal() made it"},
        Hostile{"decision_name_changed",
                HOSTILE("local c = command('alert.x')\nc.name = 'odoo.maintenance.create'\nreturn c"),
                "cannot be changed once command() or signal() made it"},
        Hostile{"decision_data_changed_after",
                HOSTILE("local d = {a = 1}\nlocal c = command('alert.x', d)\nd.a = function() end\n"
                        "error('data was copied: ' .. c.data)"),
                "data was copied: {\"a\":1}"},
        Hostile{"signal_target_number",
                HOSTILE("return signal('production_order', 42, 'hold')"),
                "expected an instance key or {index_variable = value}"},
        Hostile{"data_not_utf8",
                HOSTILE("return command('alert.x', {s = 'ok\\xff'})"),
                "command data holds a string that is not UTF-8"},
        Hostile{"data_nan",
                HOSTILE("return command('alert.x', {v = 0/0})"),
                "NaN or an infinity"},
        Hostile{"data_key_with_nul",
                HOSTILE("local d = setmetatable({['a\\0b'] = 1, a = 2}, {__index = function() while true do end end})\n"
                        "error('data: ' .. command('alert.x', d).data)"),
                "data: {\"a\":2,\"a\\u0000b\":1}"},
        Hostile{"forty_commands",
                HOSTILE("local list = {}\nfor i = 1, 40 do list[i] = command('alert.n' .. i) end\n"
                        "error('made ' .. #list)"),
                "made 40"},
        Hostile{"sixty_five_commands",
                HOSTILE("local list = {}\nfor i = 1, 65 do list[i] = command('alert.n') end\nreturn list"),
                "decide returned more than 64 decisions"},
        Hostile{"a_list_with_something_else",
                HOSTILE("return {command('alert.x'), 'shell.exec'}"),
                "decide returned a string"},
        Hostile{"a_decision_from_a_table",
                HOSTILE("return {kind = 'command', name = 'odoo.maintenance.create'}"),
                "decide returned a table with fields"},
        // 3. Names are checked for characters and length.
        Hostile{"undeclared_command",
                HOSTILE("return command('shell.exec', {cmd = 'rm -rf /'})"),
                "command 'shell.exec' is not declared: the rule may emit only alert.*"},
        Hostile{"another_rules_command",
                HOSTILE("return command('odoo.maintenance.create', {asset = ev.key, priority = 'high'})"),
                "command 'odoo.maintenance.create' is not declared"},
        Hostile{"name_with_nul",
                HOSTILE("return command('odoo.maintenance.create\\0shell')"),
                "a command name must be 1 to 128 letters, digits"},
        Hostile{"name_with_space",
                HOSTILE("return command('shell exec')"),
                "not \"shell exec\""},
        Hostile{"name_of_1_mb",
                HOSTILE("return command(string.rep('a', 1024 * 1024))"),
                "(1048576 bytes)"},
        Hostile{"signal_name_with_nul",
                HOSTILE("return signal('production_order', ev.key, 'hold\\0x')"),
                "a signal name must be"},
        // 4. Budgets that cannot be escaped.
        Hostile{"budget_caught_by_a_coroutine",
                HOSTILE("local co = coroutine.create(function() while true do end end)\n"
                        "local ok, err = coroutine.resume(co)\n"
                        "return command('alert.escaped', {caught = tostring(err)})"),
                "instruction limit exceeded"},
        Hostile{"table_move_of_a_huge_range",
                HOSTILE("table.move({1}, 1, 1 << 40, 2)"),
                "a range of more elements than the instruction limit"},
        Hostile{"table_insert_with_a_lying_len",
                HOSTILE("local t = setmetatable({}, {__len = function() return 1 << 62 end})\n"
                        "table.insert(t, 1, 'x')"),
                "a table with __len cannot be given to the table library"},
        Hostile{"table_unpack_of_a_huge_range",
                HOSTILE("return table.unpack({}, 1, 1 << 30)"),
                "a range of more elements than the instruction limit"},
        // Pattern matching loops and backtracks in C: each step counts against the budget.
        Hostile{"pattern_find_backtracking",
                HOSTILE("string.find(string.rep('a', 3000), '.-.-.-.-b')"),
                "instruction limit exceeded"},
        Hostile{"pattern_match_captures_backtracking",
                HOSTILE("return command('alert.x', {m = string.match(string.rep('a', 3000), '(a*)(a*)(a*)b')})"),
                "instruction limit exceeded"},
        Hostile{"pattern_gmatch_under_pcall",
                HOSTILE("pcall(function() for w in string.gmatch(string.rep('a', 3000), '.-.-.-b') do end end)\n"
                        "return command('alert.escaped')"),
                "instruction limit exceeded"},
        Hostile{"pattern_gsub_backtracking",
                HOSTILE("local s = ('a'):rep(3000):gsub('a-a-a-b', 'x')"),
                "instruction limit exceeded"},
        Hostile{"pattern_balance_quadratic",
                HOSTILE("string.find(string.rep('(', 100000), '%b()')"),
                "instruction limit exceeded"},
        Hostile{"plain_find_quadratic",
                HOSTILE("string.find(string.rep('a', 1 << 18), string.rep('a', 1 << 14) .. 'b', 1, true)"),
                "instruction limit exceeded"},
        Hostile{"finalizer",
                HOSTILE("setmetatable({}, {__gc = function() while true do end end})"),
                "a metatable with __gc is not allowed in a rule"},
        Hostile{"spec_with_index_metamethod",
                "return setmetatable(rule \"000_hostile\" { on = {\"alarm\"},\n"
                "  decide = function(ev, state) error('ran') end },\n"
                "  {__index = function(t, k) while true do end end})\n",
                "ran"},
        // 6. What a rule returns is checked before anything outside its protected call uses it.
        Hostile{"key_nan",
                "return rule \"000_hostile\" { on = {\"alarm\"}, key = function(ev) return 0/0 end,\n"
                "  decide = function(ev, state) state.n = 1 end }\n",
                "key() must return a string or a finite number, not NaN"},
        Hostile{"key_infinity",
                "return rule \"000_hostile\" { on = {\"alarm\"}, key = function(ev) return -1/0 end,\n"
                "  decide = function(ev, state) state.n = 1 end }\n",
                "not an infinity"},
        Hostile{"state_nested_deep",
                HOSTILE("local t = state\nfor i = 1, 5000 do t.n = {} t = t.n end"),
                "rule state is nested deeper than 32 levels"},
        Hostile{"signal_target_with_nul",
                HOSTILE("return signal('production_order', 'MO\\0-1', 'hold')"),
                "an instance key must be 1 to 1024 bytes without NUL"}));

// The tests below run one rule alone, on alarms of asset A1.

// The n-th alarm on A1: id "s<n>", seq n, event time n.
std::string Alarm(int n, int severity = 1) {
  return R"({"id":"s)" + std::to_string(n) + R"(","source":"scada","type":"alarm","key":"A1","seq":)" +
         std::to_string(n) + R"(,"ts":)" + std::to_string(n) +
         R"(,"data":{"asset":"A1","code":"X","severity":)" + std::to_string(severity) + "}}";
}

// An engine on the shipped workflow and the one rule `code`, written to a rules folder in
// `scratch`; `options` gives the limits and the store.
std::unique_ptr<Engine> OpenOnRule(const test::ScratchDir& scratch, const std::string& code,
                                   EngineOptions options = {}) {
  options.rules_dir = scratch.dir + "/rules";
  fs::create_directories(options.rules_dir);
  test::WriteFile(options.rules_dir + "/rule.lua", code);
  Result<std::unique_ptr<Engine>> engine = Engine::Open(options);
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  return engine.ok() ? std::move(engine).value() : nullptr;
}

// The message of a result's first rule error, for assertion messages.
std::string FirstError(const SubmitResult& r) {
  return r.rule_errors.empty() ? "" : r.rule_errors[0].message;
}

// 7. Determinism: no address reaches what a rule decides.
TEST(HostileRuleDeterminismTest, NoAddressReachesADecision) {
  const test::ScratchDir scratch("hostile-addr");
  auto engine = OpenOnRule(
      scratch,
      "return rule \"addr\" { on = {\"alarm\"}, commands = \"alert.*\", decide = function(ev, state)\n"
      "  if ev.data.severity == 2 then return command('alert.p', {p = string.format('%5p', {})}) end\n"
      "  return command('alert.addr', {t = tostring({}), f = tostring(tostring),\n"
      "    c = tostring(coroutine.create(function() end)), d = tostring(command('alert.x')),\n"
      "    n = tostring(12.5), pct = string.format('%%p %d', 3),\n"
      "    named = tostring(setmetatable({}, {__tostring = function() return 'mine' end}))})\n"
      "end }\n");
  ASSERT_NE(engine, nullptr);
  Result<SubmitResult> r = engine->Submit(Alarm(1, 1));
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.value().commands.size(), 1u) << FirstError(r.value());
  EXPECT_EQ(r.value().commands[0].payload_json,
            R"({"c":"thread","d":"userdata","f":"function","n":"12.5","named":"mine","pct":"%p 3","t":"table"})");
  Result<SubmitResult> p = engine->Submit(Alarm(2, 2));
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p.value().rule_errors.size(), 1u);
  EXPECT_NE(FirstError(p.value()).find("%p is not available in a rule"), std::string::npos)
      << FirstError(p.value());
}

// pairs() visits keys in a defined order and table.sort keeps ties in their order, whatever
// Lua's per-process string hash seed and its clock-drawn pivots would make of them.
TEST(HostileRuleDeterminismTest, PairsOrderAndSortTiesAreTheSameOnEveryRun) {
  const test::ScratchDir scratch("hostile-order");
  const std::string rule =
      "return rule \"order\" { on = {\"alarm\"}, commands = \"alert.*\", decide = function(ev, state)\n"
      "  local t = {zeta = 1, alpha = 2, [3] = 3, [1.5] = 4, [true] = 5, mid = 6,\n"
      "             [false] = 7, [-2] = 8, Beta = 9}\n"
      "  for i = 1, 200 do t['k' .. (i * 7919 % 200)] = i end\n"
      "  local seen = {}\n"
      "  for k in pairs(t) do seen[#seen + 1] = tostring(k) end\n"
      "  local rows = {}\n"
      "  for i = 1, 300 do rows[i] = {id = i, group = i % 3} end\n"
      "  table.sort(rows, function(a, b) return a.group < b.group end)\n"
      "  local ids = {}\n"
      "  for i = 1, 6 do ids[i] = rows[i].id end\n"
      "  for i = 101, 103 do ids[#ids + 1] = rows[i].id end\n"
      "  local plain = {5, 3, 9, 1}\n"
      "  table.sort(plain)\n"
      "  return command('alert.order', {first = table.concat(seen, ',', 1, 9),\n"
      "    count = #seen, ties = table.concat(ids, ','), plain = table.concat(plain, ',')})\n"
      "end }\n";
  std::string first;
  for (int run = 0; run < 3; ++run) {  // each engine is a new Lua state, with a new seed
    auto engine = OpenOnRule(scratch, rule);
    ASSERT_NE(engine, nullptr);
    Result<SubmitResult> r = engine->Submit(Alarm(1));
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r.value().commands.size(), 1u) << FirstError(r.value());
    const std::string payload = r.value().commands[0].payload_json;
    if (run == 0) {
      first = payload;
      EXPECT_EQ(payload,
                R"({"count":209,"first":"-2,1.5,3,Beta,alpha,k0,k1,k10,k100",)"
                R"("plain":"1,3,5,9","ties":"3,6,9,12,15,18,1,4,7"})");
    }
    EXPECT_EQ(payload, first) << "run " << run;
  }
}

// 4. One instruction can be a C call that copies megabytes: a loop of them ran for 10 s under a
// 100 ms limit, because the count hook looks at the clock only every thousand instructions.
// Big allocations look at it too now, so the limit holds (within a few of those calls).
TEST(HostileRuleTimeTest, HeavyCCallsBetweenHookChecksStillEndAtTheTimeLimit) {
  const test::ScratchDir scratch("hostile-heavy");
  EngineOptions options;
  options.rule_timeout_ms = 100;
  auto engine = OpenOnRule(scratch,
                           "return rule \"heavy\" { on = {\"alarm\"}, commands = \"alert.*\", decide = function(ev, state)\n"
                           "  if ev.data.severity == 1 then\n"
                           "    while true do local s = string.rep('x', 16 << 20) end\n"
                           "  end\n"
                           "  while true do pcall(string.rep, 'x', 16 << 20) end\n"
                           "end }\n",
                           options);
  ASSERT_NE(engine, nullptr);
  for (int severity : {1, 2}) {
    const auto start = std::chrono::steady_clock::now();
    Result<SubmitResult> r = engine->Submit(Alarm(severity, severity));
    const auto took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(r.ok()) << r.status().message();
    ASSERT_EQ(r.value().rule_errors.size(), 1u);
    EXPECT_NE(FirstError(r.value()).find("time limit exceeded (100 ms)"), std::string::npos)
        << FirstError(r.value());
    // The limit, give or take a few 16 MiB copies; before, 10 s and more. The bound leaves room
    // for those copies under ThreadSanitizer on a loaded machine (3.8 s seen), and still fails
    // the old behaviour.
    EXPECT_LT(took, std::chrono::seconds(5)) << "severity " << severity;
  }
}

// 5. A rule that keeps its sandbox full (memory held in its state) makes allocations for the
// next events (the event table the engine passes) fail outside the rule's pcall: each is a rule
// error, never an abort, and the engine goes on.
TEST(HostileRuleMemoryTest, AFullSandboxFailsTheRuleNotTheProcess) {
  const test::ScratchDir scratch("hostile-full");
  EngineOptions options;
  options.rule_max_memory_bytes = 4u << 20;
  // It fills what is left with small tables it keeps in its state, so that when it returns
  // nothing is garbage the collector could give back: it keeps the event table too, and makes
  // no function per call. A list that grows fails when its array cannot double, with room left
  // for smaller things: so it starts list after list, each filling part of what the one before
  // left, until no room is left for anything.
  auto engine = OpenOnRule(scratch,
                           "local function keep(list, x) list[#list + 1] = x end\n"
                           "local function fill(list)\n"
                           "  local t = {}\n"
                           "  list[#list + 1] = t\n"
                           "  while true do t[#t + 1] = {} end\n"
                           "end\n"
                           "return rule \"hoard\" { on = {\"alarm\"}, commands = \"alert.*\", decide = function(ev, state)\n"
                           "  state.kept = state.kept or {}\n"
                           "  pcall(keep, state.kept, ev)\n"
                           "  for round = 1, 24 do pcall(fill, state.kept) end\n"
                           "end }\n",
                           options);
  ASSERT_NE(engine, nullptr);
  int full = 0;
  for (int i = 1; i <= 5; ++i) {
    Result<SubmitResult> r = engine->Submit(Alarm(i));
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r.value().outcome, Outcome::kApplied);
    for (const RuleError& e : r.value().rule_errors) {
      EXPECT_NE(e.message.find("memory limit exceeded"), std::string::npos) << e.message;
      ++full;
    }
  }
  // The rule catches the memory errors of its own loop, so an evaluation fails only when an
  // allocation outside its pcall finds the sandbox full; each of those is put back.
  EXPECT_GE(full, 1) << "the sandbox was never full";
  EXPECT_EQ(engine->stats().rule_budget_breaks, static_cast<uint64_t>(full));
  // The workflow side goes on as if the rule were not there.
  EXPECT_EQ(engine->Submit(
                R"({"id":"o1","source":"odoo","type":"order.released","key":"MO-1","seq":1,"ts":9,"data":{"asset":"A1"}})")
                .value()
                .outcome,
            Outcome::kApplied);
}

// Each rule has a sandbox, and a memory budget, of its own: a rule that holds most of its
// budget in its state leaves every other rule the whole of theirs. (With one sandbox for all,
// the second rule's 4 MiB string, copied once more when made, did not fit.)
TEST(HostileRuleMemoryTest, EachRuleHasAMemoryBudgetOfItsOwn) {
  const test::ScratchDir scratch("hostile-budget");
  test::WriteFile(scratch.dir + "/a_hoard.lua",
                  "return rule \"hoard\" { on = {\"alarm\"}, commands = \"alert.*\", decide = function(ev, state)\n"
                  "  state.kept = state.kept or {}\n"
                  "  local block = string.rep('x', 1 << 16)\n"
                  "  for i = 1, 12 do state.kept[#state.kept + 1] = string.rep(block, 16) end\n"
                  "end }\n");
  test::WriteFile(scratch.dir + "/b_big.lua",
                  "return rule \"big\" { on = {\"alarm\"}, commands = \"alert.*\", decide = function(ev, state)\n"
                  "  return command('alert.big', {n = #string.rep(string.rep('y', 1 << 16), 64)})\nend }\n");
  EngineOptions options;
  options.workflow_paths = {"workflows"};
  options.rules_dir = scratch.dir;
  options.rule_max_memory_bytes = 16u << 20;
  options.rule_timeout_ms = 10'000;  // memory is the limit here, also under sanitizers
  auto engine = Engine::Open(options);
  ASSERT_TRUE(engine.ok()) << engine.status().message();
  Result<SubmitResult> r = engine.value()->Submit(Alarm(1));
  ASSERT_TRUE(r.ok()) << r.status().message();
  for (const RuleError& e : r.value().rule_errors) ADD_FAILURE() << e.rule << ": " << e.message;
  ASSERT_EQ(r.value().commands.size(), 1u);
  EXPECT_EQ(r.value().commands[0].payload_json, R"({"n":4194304})");
}

// With a store the state is also encoded, recursively: a state 200,000 tables deep is refused
// when the evaluation ends, before any walk of it could exhaust the C stack.
TEST(HostileRuleStoreTest, AStateNestedVeryDeepIsRefusedAndTheEngineGoesOn) {
  const test::ScratchDir scratch("hostile-deep");
  EngineOptions options;
  options.store_path = scratch.dir + "/t.db";
  options.rule_max_instructions = 50'000'000;
  options.rule_timeout_ms = 20'000;
  auto engine = OpenOnRule(scratch,
                           "return rule \"deep\" { on = {\"alarm\"}, commands = \"alert.*\", decide = function(ev, state)\n"
                           "  local t = state\n  for i = 1, 200000 do t.n = {} t = t.n end\n"
                           "  return command('alert.deep')\nend }\n",
                           options);
  ASSERT_NE(engine, nullptr);
  Result<SubmitResult> r = engine->Submit(Alarm(1));
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r.value().rule_errors.size(), 1u);
  EXPECT_NE(FirstError(r.value()).find("nested deeper than 32 levels"), std::string::npos)
      << FirstError(r.value());
  EXPECT_TRUE(r.value().commands.empty());
  // The engine goes on, and the rule's state is what it was: empty.
  EXPECT_EQ(engine->Submit(Alarm(2)).value().outcome, Outcome::kApplied);
}

}  // namespace
}  // namespace takt
