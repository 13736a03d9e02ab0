// Syntax trees -> Catalog. Checks everything that can be known before an event arrives:
// unknown or duplicate names, owners, types of guards and actions, transitions that can never
// fire; warns about unreachable states and states with no way out.
#ifndef TAKT_DSL_COMPILE_H_
#define TAKT_DSL_COMPILE_H_

#include <vector>

#include "dsl/ast.h"
#include "dsl/catalog.h"
#include "dsl/source.h"

namespace takt::dsl {

// Compiles the declarations of all `files` together (they share one namespace of sources,
// event types and workflows) into `out`. Every problem goes to `diagnostics`.
void Compile(const std::vector<const AstFile*>& files, Catalog& out, Diagnostics& diagnostics);

}  // namespace takt::dsl

#endif  // TAKT_DSL_COMPILE_H_
