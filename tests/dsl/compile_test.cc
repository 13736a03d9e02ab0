// The compiler's output (what the engine runs), and loading: imports, directories, the stdlib.
#include <gtest/gtest.h>

#include <filesystem>

#include "dsl/load.h"
#include "support/test_support.h"

namespace takt::dsl {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("takt-compile-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    const fs::path p = path_ / name;
    fs::create_directories(p.parent_path());
    test::WriteFile(p.string(), text);
    return p.string();
  }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

std::unique_ptr<Definitions> Load(const std::vector<std::string>& paths,
                                  const std::string& stdlib = "") {
  DefinitionOptions options;
  options.paths = paths;
  options.stdlib_dir = stdlib;
  return LoadDefinitions(options);
}

TEST(CompileTest, ShippedWorkflowCompilesToTheExpectedMachine) {
  auto defs = Load({"workflows/production_order.takt"});
  ASSERT_EQ(defs->diagnostics.errors(), 0u) << defs->diagnostics.FormatAll();
  const Catalog& c = defs->catalog;
  ASSERT_EQ(c.workflows.size(), 1u);
  const WorkflowDef& wf = c.workflows[0];
  EXPECT_EQ(wf.name, "production_order");
  EXPECT_EQ(wf.key_name, "order");
  std::vector<std::string> states;
  for (const StateDef& s : wf.states) states.push_back(s.name + (s.final ? "!" : ""));
  EXPECT_EQ(states, (std::vector<std::string>{"released", "executing", "inspecting", "disposition",
                                              "on_hold", "complete!", "scrapped!", "cancelled!"}));
  EXPECT_EQ(wf.states[static_cast<size_t>(wf.start_state)].name, "released");
  EXPECT_EQ(c.events[static_cast<size_t>(wf.start_event)].type, "order.released");
  // inspecting: the critical guard first, then the unguarded default, in the order written.
  const StateDef& inspecting = wf.states[static_cast<size_t>(wf.StateIndex("inspecting"))];
  const auto& results = inspecting.on_event.at(c.EventId("inspection.result"));
  ASSERT_EQ(results.size(), 2u);
  EXPECT_TRUE(results[0].has_guard);
  EXPECT_FALSE(results[1].has_guard);
  // The shared block gives on_hold the same three disposition transitions.
  const StateDef& on_hold = wf.states[static_cast<size_t>(wf.StateIndex("on_hold"))];
  EXPECT_EQ(on_hold.on_event.at(c.EventId("disposition")).size(), 3u);
  EXPECT_EQ(wf.states[static_cast<size_t>(wf.StateIndex("complete"))].on_enter.size(), 1u);
  EXPECT_FALSE(wf.handles[static_cast<size_t>(c.EventId("alarm"))]);
  EXPECT_TRUE(wf.handles[static_cast<size_t>(c.EventId("order.progress"))]);
  ASSERT_EQ(wf.indexes.size(), 1u);
  EXPECT_EQ(wf.vars[static_cast<size_t>(wf.indexes[0])].name, "asset");
}

TEST(CompileTest, OwnersAndSchemasComeFromTheBuiltInStdlib) {
  auto defs = Load({"workflows"});
  ASSERT_EQ(defs->diagnostics.errors(), 0u) << defs->diagnostics.FormatAll();
  const Catalog& c = defs->catalog;
  EXPECT_EQ(c.events.size(), 11u);
  const EventDef& alarm = c.events[static_cast<size_t>(c.EventId("alarm"))];
  EXPECT_EQ(alarm.owner, "scada");
  EXPECT_EQ(alarm.fields[static_cast<size_t>(alarm.FieldIndex("severity"))].type, Type::kInt);
  EXPECT_EQ(c.events[static_cast<size_t>(c.EventId("order.started"))].owner, "mes");
  EXPECT_EQ(c.events[static_cast<size_t>(c.EventId("disposition"))].owner, "qms");
  EXPECT_EQ(c.events[static_cast<size_t>(c.EventId("maintenance.done"))].owner, "odoo");
}

TEST(CompileTest, StdlibDirectoryOverridesTheBuiltInOne) {
  TempDir dir;
  dir.Write("lib/plant.takt", "source odoo owns order.released\nevent order.released { n: int }\n");
  const std::string wf = dir.Write("w.takt", R"(import "plant"
workflow w { key order
  start a on order.released
  final a })");
  auto defs = Load({wf}, dir.path() + "/lib");
  ASSERT_EQ(defs->diagnostics.errors(), 0u) << defs->diagnostics.FormatAll();
  EXPECT_EQ(defs->catalog.events.size(), 1u);
}

TEST(CompileTest, ImportBesideTheFileWinsAndIsLoadedOnce) {
  TempDir dir;
  dir.Write("common.takt", "source mes owns tick\nevent tick { n: int }\n");
  const std::string a = dir.Write("a.takt", R"(import "common"
workflow a { key k
  start s on tick
  state s { on tick when event.n > 1 -> e }
  final e })");
  const std::string b = dir.Write("b.takt", R"(import "common.takt"
workflow b { key k
  start s on tick
  final s })");
  auto defs = Load({a, b});
  ASSERT_EQ(defs->diagnostics.errors(), 0u) << defs->diagnostics.FormatAll();
  EXPECT_EQ(defs->files.size(), 3u);
  EXPECT_EQ(defs->catalog.workflows.size(), 2u);
  EXPECT_EQ(defs->catalog.events.size(), 1u);
}

TEST(CompileTest, DirectoryLoadsEveryTaktFileSorted) {
  TempDir dir;
  dir.Write("z.takt", "source s owns z\nevent z { }\n");
  dir.Write("a.takt", "source s owns a\nevent a { }\n");
  dir.Write("notes.txt", "not a definition");
  auto defs = Load({dir.path()});
  ASSERT_EQ(defs->diagnostics.errors(), 0u) << defs->diagnostics.FormatAll();
  ASSERT_EQ(defs->catalog.events.size(), 2u);
  EXPECT_EQ(defs->catalog.events[0].type, "a");
}

TEST(CompileTest, MissingPathIsAnErrorNamingIt) {
  auto defs = Load({"no/such/dir"});
  ASSERT_EQ(defs->diagnostics.errors(), 1u);
  EXPECT_EQ(defs->diagnostics.list()[0].file, "no/such/dir");
  EXPECT_NE(defs->diagnostics.list()[0].message.find("no such file"), std::string::npos);
}

TEST(CompileTest, VariableDefaultsAndTheirTypes) {
  TempDir dir;
  const std::string wf = dir.Write("w.takt", R"(import "plant"
workflow w { key order
  var a: int
  var b: float = 2
  var c: int = -5
  var d: string = "x"
  var e: bool = true
  start s on order.released
  final s })");
  auto defs = Load({wf});
  ASSERT_EQ(defs->diagnostics.errors(), 0u) << defs->diagnostics.FormatAll();
  const auto& vars = defs->catalog.workflows.at(0).vars;
  EXPECT_EQ(vars[0].initial, Value::Int(0));
  EXPECT_EQ(vars[1].initial.type, Type::kFloat);
  EXPECT_EQ(vars[1].initial.f, 2.0);
  EXPECT_EQ(vars[2].initial, Value::Int(-5));
  EXPECT_EQ(vars[3].initial, Value::String("x"));
  EXPECT_EQ(vars[4].initial, Value::Bool(true));
}

TEST(CompileTest, ReportsEveryErrorOfAFileNotOnlyTheFirst) {
  TempDir dir;
  const std::string wf = dir.Write("w.takt", R"(import "plant"
workflow w { key order
  start s on order.released
  state s {
    on order.started -> nowhere
    on order.finshed -> s
    on order.progress when event.good == "x" -> s
  }
})");
  auto defs = Load({wf});
  EXPECT_EQ(defs->diagnostics.errors(), 3u) << defs->diagnostics.FormatAll();
}

TEST(CompileTest, IntAndFloatMixInArithmeticAndComparison) {
  TempDir dir;
  const std::string wf = dir.Write("w.takt", R"(import "plant"
workflow w { key order
  var ratio: float
  start s on order.released
  state s { on order.progress when event.good * 1.5 >= event.scrap -> s { set ratio = event.good / 2 } }
})");
  auto defs = Load({wf});
  EXPECT_EQ(defs->diagnostics.errors(), 0u) << defs->diagnostics.FormatAll();
}

}  // namespace
}  // namespace takt::dsl
