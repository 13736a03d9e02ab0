// Text -> syntax tree. A syntax error is reported at file:line:column and parsing resumes at
// the next top-level declaration, so one run reports every broken declaration of a file.
#ifndef TAKT_DSL_PARSE_H_
#define TAKT_DSL_PARSE_H_

#include "dsl/ast.h"
#include "dsl/source.h"

namespace takt::dsl {

// Parses `file` into `out`, appending what it can; every syntax error goes to `diagnostics`.
void ParseFile(const SourceFile& file, AstFile& out, Diagnostics& diagnostics);

// The grammar's own consistency (PEGTL analyze): the number of problems found, 0 when sound.
size_t AnalyzeGrammar();

}  // namespace takt::dsl

#endif  // TAKT_DSL_PARSE_H_
