// takt check PATH...: compile definitions, print every error and warning, exit 1 on errors.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "takt/definitions.h"

namespace takt::cli {

Runner AddCheck(CLI::App& app) {
  auto options = std::make_shared<DefinitionOptions>();
  CLI::App* cmd = app.add_subcommand("check", "Load and check workflow definitions (.takt)");
  cmd->add_option("paths", options->paths, ".takt files or directories")->required();
  cmd->add_option("--stdlib", options->stdlib_dir, "directory that overrides the built-in stdlib");
  return [options] {
    const CheckReport report = CheckDefinitions(*options);
    for (const Diagnostic& d : report.diagnostics) std::cout << d.Format();
    auto plural = [](uint32_t n, const char* word) {
      return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
    };
    std::cout << "checked " << plural(report.files, "file") << ", "
              << plural(report.workflows, "workflow") << ": " << plural(report.errors, "error")
              << ", " << plural(report.warnings, "warning") << "\n";
    return report.ok() ? 0 : 1;
  };
}

}  // namespace takt::cli
