// takt graph FILE.takt: a workflow as Graphviz DOT or Mermaid, to look at as a picture.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/terminal_text.h"
#include "takt/definitions.h"

namespace takt::cli {

Runner AddGraph(CLI::App& app) {
  struct Args {
    DefinitionOptions definitions;
    std::string format = "dot";
    std::string workflow;
  };
  auto args = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("graph", "Draw workflows as Graphviz DOT or Mermaid");
  cmd->add_option("paths", args->definitions.paths, ".takt files or directories")->required();
  cmd->add_option("--format", args->format, "dot or mermaid")
      ->check(CLI::IsMember({"dot", "mermaid"}))
      ->capture_default_str();
  cmd->add_option("--workflow", args->workflow, "draw only this workflow");
  cmd->add_option("--stdlib", args->definitions.stdlib_dir, "overrides the built-in stdlib");
  return [args] {
    const GraphFormat format = args->format == "dot" ? GraphFormat::kDot : GraphFormat::kMermaid;
    Result<std::string> graph = RenderWorkflowGraph(args->definitions, format, args->workflow);
    if (!graph.ok()) {
      std::cerr << ForTerminal(graph.status().message());
      if (graph.status().code() == Code::kNotFound) std::cerr << "\n";
      return graph.status().code() == Code::kParseError ? 1 : 2;
    }
    std::cout << graph.value();
    return 0;
  };
}

}  // namespace takt::cli
