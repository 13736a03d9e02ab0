// Paths -> Definitions: reads .takt files (directories: every *.takt in them, sorted), follows
// imports, parses and compiles. The entry point of the dsl layer for everything above it.
#ifndef TAKT_DSL_LOAD_H_
#define TAKT_DSL_LOAD_H_

#include <memory>
#include <string>
#include <vector>

#include "dsl/catalog.h"
#include "takt/definitions.h"

namespace takt::dsl {

// Never fails as a call: problems (a missing file, syntax, semantics) are in the returned
// definitions' diagnostics. Compilation runs only when every file parsed cleanly, so a syntax
// error is not followed by errors that only it caused.
std::unique_ptr<Definitions> LoadDefinitions(const DefinitionOptions& options);

// A file given as text rather than read from disk.
struct TextFile {
  std::string name;  // as shown in messages
  std::string text;
};

// Loads `main` and what it imports from `imports` (matched by file name without directory and
// extension: `import "plant"` finds "<stdlib>/plant.takt"), then from the built-in stdlib; the
// disk is never read. How a stored definition version is compiled again.
std::unique_ptr<Definitions> LoadDefinitionsFromText(const TextFile& main,
                                                     const std::vector<TextFile>& imports);

}  // namespace takt::dsl

#endif  // TAKT_DSL_LOAD_H_
