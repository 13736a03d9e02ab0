// The rule test vectors as a rule reload runs them: on exactly the rule files it loaded.
#ifndef TAKT_ENGINE_RULE_TESTS_H_
#define TAKT_ENGINE_RULE_TESTS_H_

#include <memory>
#include <vector>

#include "dsl/catalog.h"
#include "takt/engine.h"
#include "takt/rule_tests.h"

namespace takt {

// RunRuleTests(), where every engine a vector runs on must have loaded the rules `expected`
// (name and version, in file order; null: the ones the first engine loads). A rule file that
// changes while the vectors run fails the run with kRuleError naming the rule, so that the
// rules that passed are the rules a reload swaps in. The vectors run on `definitions` (those
// of the engine reloading; null: options.workflow_paths, compiled once for all vectors).
Result<RuleTestReport> RunRuleTestsOn(const RuleTestOptions& options,
                                      const std::vector<RuleInfo>* expected,
                                      std::shared_ptr<const dsl::Definitions> definitions = nullptr);

}  // namespace takt

#endif  // TAKT_ENGINE_RULE_TESTS_H_
