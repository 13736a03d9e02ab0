// takt test RULES_DIR: runs the test vectors kept beside the rules (RULES_DIR/tests/*.test.json)
// and shows what differs when one fails. Exit 0 when all pass, 1 when one fails, 2 when the
// tests or the rules cannot be loaded.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/terminal_text.h"
#include "takt/rule_tests.h"

namespace takt::cli {

Runner AddTest(CLI::App& app) {
  auto options = std::make_shared<RuleTestOptions>();
  CLI::App* cmd = app.add_subcommand("test", "Run the test vectors kept beside rules (DIR/tests)");
  cmd->add_option("rules", options->rules_dir, "directory of rules")->required();
  cmd->add_option("--workflows", options->workflow_paths, ".takt files or directories")
      ->capture_default_str();
  cmd->add_option("--stdlib", options->stdlib_dir, "directory that overrides the built-in stdlib");
  return [options] {
    Result<RuleTestReport> report = RunRuleTests(*options);
    if (!report.ok()) {
      std::cerr << "takt test: " << ForTerminal(report.status().message()) << "\n";
      return 2;
    }
    for (const RuleTestResult& r : report.value().results) {
      std::cout << (r.passed ? "PASS " : "FAIL ") << ForTerminal(r.name) << "  ("
                << ForTerminal(r.file) << ")\n";
      if (!r.passed) std::cout << ForTerminal(r.diff);
    }
    std::cout << report.value().passed << " passed, " << report.value().failed << " failed\n";
    return report.value().failed == 0 ? 0 : 1;
  };
}

}  // namespace takt::cli
