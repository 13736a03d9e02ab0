// The rule test vectors as a rule reload runs them: on exactly the rule files it loaded.
#ifndef TAKT_ENGINE_RULE_TESTS_H_
#define TAKT_ENGINE_RULE_TESTS_H_

#include <vector>

#include "takt/engine.h"
#include "takt/rule_tests.h"

namespace takt {

// RunRuleTests(), where every engine a vector runs on must have loaded the rules `expected`
// (name and version, in file order; null: the ones the first engine loads). A rule file that
// changes while the vectors run fails the run with kRuleError naming the rule, so that the
// rules that passed are the rules a reload swaps in.
Result<RuleTestReport> RunRuleTestsOn(const RuleTestOptions& options,
                                      const std::vector<RuleInfo>* expected);

}  // namespace takt

#endif  // TAKT_ENGINE_RULE_TESTS_H_
