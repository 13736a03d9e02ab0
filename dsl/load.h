// Paths -> Definitions: reads .takt files (directories: every *.takt in them, sorted), follows
// imports, parses and compiles. The entry point of the dsl layer for everything above it.
#ifndef TAKT_DSL_LOAD_H_
#define TAKT_DSL_LOAD_H_

#include <memory>

#include "dsl/catalog.h"
#include "takt/definitions.h"

namespace takt::dsl {

// Never fails as a call: problems (a missing file, syntax, semantics) are in the returned
// definitions' diagnostics. Compilation runs only when every file parsed cleanly, so a syntax
// error is not followed by errors that only it caused.
std::unique_ptr<Definitions> LoadDefinitions(const DefinitionOptions& options);

}  // namespace takt::dsl

#endif  // TAKT_DSL_LOAD_H_
