// takt graph's output for the shipped workflow, in both formats.
#include <gtest/gtest.h>

#include "takt/definitions.h"

namespace takt {
namespace {

std::string Render(GraphFormat format, const std::string& workflow = "") {
  DefinitionOptions options;
  options.paths = {"workflows/production_order.takt"};
  Result<std::string> graph = RenderWorkflowGraph(options, format, workflow);
  EXPECT_TRUE(graph.ok()) << graph.status().message();
  return graph.ok() ? graph.value() : "";
}

TEST(GraphTest, DotHasEveryStateAndTransition) {
  const std::string dot = Render(GraphFormat::kDot);
  EXPECT_EQ(dot.rfind("digraph \"production_order\" {", 0), 0u);
  EXPECT_NE(dot.find("\"(start)\" -> \"released\" [label=\"order.released\"];"), std::string::npos);
  EXPECT_NE(dot.find("\"inspecting\" -> \"on_hold\" [label=\"inspection.result when event.critical\"];"),
            std::string::npos);
  EXPECT_NE(dot.find("\"on_hold\" -> \"complete\" [label=\"disposition when event.decision == \\\"release\\\"\"];"),
            std::string::npos);
  EXPECT_NE(dot.find("\"executing\" -> \"executing\" [label=\"order.progress\", style=dashed];"),
            std::string::npos);
  EXPECT_NE(dot.find("\"complete\" [peripheries=2];"), std::string::npos);
  EXPECT_EQ(dot.back(), '\n');
}

TEST(GraphTest, MermaidIsAStateDiagram) {
  const std::string m = Render(GraphFormat::kMermaid);
  EXPECT_EQ(m.rfind("stateDiagram-v2\n", 0), 0u);
  EXPECT_NE(m.find("  [*] --> released : order.released\n"), std::string::npos);
  EXPECT_NE(m.find("  executing --> on_hold : signal hold\n"), std::string::npos);
  EXPECT_NE(m.find("  disposition --> complete : disposition when event.decision == #quot;release#quot;\n"),
            std::string::npos);
  EXPECT_NE(m.find("  scrapped --> [*]\n"), std::string::npos);
}

TEST(GraphTest, UnknownWorkflowIsNotFound) {
  DefinitionOptions options;
  options.paths = {"workflows"};
  Result<std::string> graph = RenderWorkflowGraph(options, GraphFormat::kDot, "nope");
  ASSERT_FALSE(graph.ok());
  EXPECT_EQ(graph.status().code(), Code::kNotFound);
}

TEST(GraphTest, BrokenDefinitionsGiveTheirDiagnostics) {
  DefinitionOptions options;
  options.paths = {"tests/data/dsl/errors/unknown_target_state.takt"};
  Result<std::string> graph = RenderWorkflowGraph(options, GraphFormat::kDot);
  ASSERT_FALSE(graph.ok());
  EXPECT_EQ(graph.status().code(), Code::kParseError);
  EXPECT_NE(graph.status().message().find("unknown_target_state.takt:7:25"), std::string::npos);
}

}  // namespace
}  // namespace takt
