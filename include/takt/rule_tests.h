// Test vectors for rule authors: files kept beside the rules (DIR/tests/*.test.json), each a
// list of events and the commands, signals and final states they must give. `takt test DIR`
// runs them; see docs/rules.md for the format.
#ifndef TAKT_RULE_TESTS_H_
#define TAKT_RULE_TESTS_H_

#include <string>
#include <vector>

#include "takt/export.h"
#include "takt/status.h"

namespace takt {

struct RuleTestOptions {
  std::string rules_dir;                           // the rules; tests in rules_dir/tests
  std::vector<std::string> workflow_paths = {"workflows"};
  std::string stdlib_dir;
};

struct RuleTestResult {
  std::string file;
  std::string name;  // its "description", or the file name
  bool passed = false;
  std::string diff;  // when failed: what differs, expected (-) and actual (+)
};

struct RuleTestReport {
  std::vector<RuleTestResult> results;  // in file name order
  size_t passed = 0;
  size_t failed = 0;
  std::string tests_dir;  // where the vectors were looked for: rules_dir/tests
};

// Loads the definitions and rules once, then runs every test vector, each on a fresh engine; a
// folder without tests/ or without vectors in it gives an empty report. Fails (as a call) when
// the definitions or rules do not load (kParseError, kRuleError, kNotFound), or a test file
// cannot be read or parsed (naming the file and the problem).
TAKT_API Result<RuleTestReport> RunRuleTests(const RuleTestOptions& options);

}  // namespace takt

#endif  // TAKT_RULE_TESTS_H_
