// takt check PATH... [--db FILE]: compile definitions, print every error and warning, exit 1 on
// errors. With --db, also warn about running instances the definitions would strand.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/terminal_text.h"
#include "takt/definitions.h"
#include "takt/store.h"

namespace takt::cli {

Runner AddCheck(CLI::App& app) {
  auto options = std::make_shared<DefinitionOptions>();
  auto db = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("check", "Load and check workflow definitions (.takt)");
  cmd->add_option("paths", options->paths, ".takt files or directories")->required();
  cmd->add_option("--stdlib", options->stdlib_dir, "directory that overrides the built-in stdlib");
  cmd->add_option("--db", *db, "database whose running instances the definitions must keep");
  return [options, db] {
    CheckReport report = CheckDefinitions(*options);
    if (report.ok() && !db->empty()) {
      Result<std::vector<std::string>> stranded = StrandedInstances(*db, *options);
      if (!stranded.ok()) {
        std::cerr << "takt check: " << ForTerminal(stranded.status().message()) << "\n";
        return 2;
      }
      for (const std::string& s : stranded.value()) {
        Diagnostic d;
        d.severity = Diagnostic::Severity::kWarning;
        d.file = *db;
        d.message = s;
        report.diagnostics.push_back(d);
        ++report.warnings;
      }
    }
    for (const Diagnostic& d : report.diagnostics) std::cout << ForTerminal(d.Format());
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
