// Loading and checking definitions (.takt files) without running them: what `takt check` and
// `takt graph` are built on. Everything here is a value; nothing throws.
#ifndef TAKT_DEFINITIONS_H_
#define TAKT_DEFINITIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "takt/export.h"
#include "takt/status.h"

namespace takt {

// One finding about a definition file, located at file:line:column (1-based).
struct Diagnostic {
  enum class Severity : uint8_t { kError, kWarning };
  Severity severity = Severity::kError;
  std::string file;
  uint32_t line = 0;    // 0: the finding is about the file as a whole
  uint32_t column = 0;
  std::string message;
  std::string source_line;  // the text of `line`, shown with a caret under `column`

  // "file:line:column: error: message", then the line and a caret when known.
  TAKT_API std::string Format() const;
};

struct CheckReport {
  std::vector<Diagnostic> diagnostics;  // in file order, then line order
  uint32_t errors = 0;
  uint32_t warnings = 0;
  uint32_t files = 0;      // .takt files loaded, imports included
  uint32_t workflows = 0;  // workflows compiled
  bool ok() const { return errors == 0; }
};

// Where imports come from: `import "plant"` looks beside the importing file first, then in
// `stdlib_dir`, then in the stdlib built into the binary (when `stdlib_dir` is empty or lacks
// the file).
struct DefinitionOptions {
  std::vector<std::string> paths;  // .takt files, or directories whose *.takt are all loaded
  std::string stdlib_dir;          // optional override of the built-in stdlib
};

// Loads and compiles every file of `options.paths` with its imports, and reports all errors
// and warnings (unreachable states, non-final states with no way out).
TAKT_API CheckReport CheckDefinitions(const DefinitionOptions& options);

enum class GraphFormat : uint8_t { kDot, kMermaid };

// Draws the workflows found in `options.paths` (all of them, or only `workflow` when not
// empty). Fails with kParseError and the formatted diagnostics when the files do not compile,
// and with kNotFound when `workflow` names none of them.
TAKT_API Result<std::string> RenderWorkflowGraph(const DefinitionOptions& options, GraphFormat format,
                                        const std::string& workflow = "");

}  // namespace takt

#endif  // TAKT_DEFINITIONS_H_
