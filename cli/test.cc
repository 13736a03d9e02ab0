// takt test RULES_DIR: loads the rules, runs the test vectors kept beside them
// (RULES_DIR/tests/*.test.json) and shows what differs when one fails. Exit 0 when all pass
// (or there are none, which it says), 1 when one fails or the rules or workflows have errors, 2
// when a folder or a test file cannot be read.
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
  cmd->footer(
      "Exit status: 0 every vector passed, or there are none (it says so); 1 a vector failed, or\n"
      "the rules or workflows have errors; 2 a folder or a test file cannot be read.");
  return [options] {
    Result<RuleTestReport> report = RunRuleTests(*options);
    if (!report.ok()) {
      const std::string& message = report.status().message();
      std::cerr << (message.find('\n') == std::string::npos ? "takt test: " : "")
                << ForTerminal(message);
      if (message.empty() || message.back() != '\n') std::cerr << "\n";
      const Code code = report.status().code();
      return code == Code::kParseError || code == Code::kRuleError ? 1 : 2;
    }
    if (report.value().results.empty()) {
      std::cout << "no test vectors in " << ForTerminal(report.value().tests_dir)
                << " (*.test.json); the rules loaded\n";
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
