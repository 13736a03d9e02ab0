// Evaluates compiled expressions. Types were checked by the compiler, so evaluation cannot fail:
// every operator meets the operand types it was compiled for.
#ifndef TAKT_ENGINE_WORKFLOW_EVALUATE_H_
#define TAKT_ENGINE_WORKFLOW_EVALUATE_H_

#include <vector>

#include "dsl/catalog.h"
#include "dsl/value.h"

namespace takt {

struct EvalContext {
  const dsl::Value* key = nullptr;                // the instance key (a string)
  const std::vector<dsl::Value>* vars = nullptr;  // instance variables by index
  const std::vector<dsl::Value>* fields = nullptr;  // event fields by index; null: no event
};

dsl::Value Evaluate(const dsl::Expr& expr, const EvalContext& ctx);
// For guards: same as Evaluate(...).b, without building a Value for leaves and comparisons.
bool EvaluateBool(const dsl::Expr& expr, const EvalContext& ctx);

}  // namespace takt

#endif  // TAKT_ENGINE_WORKFLOW_EVALUATE_H_
