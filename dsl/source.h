// A loaded .takt file and the diagnostics gathered about it. Diagnostics carry the source
// line so that they can be printed with a caret without reading the file again.
#ifndef TAKT_DSL_SOURCE_H_
#define TAKT_DSL_SOURCE_H_

#include <string>
#include <string_view>
#include <vector>

#include "dsl/ast.h"
#include "takt/definitions.h"

namespace takt::dsl {

struct SourceFile {
  std::string name;  // as shown in messages: the path given, or "<stdlib>/plant.takt"
  std::string path;  // on disk; empty for a file built into the binary
  std::string text;

  // The text of 1-based line `line`, without its newline; empty when out of range.
  std::string_view Line(uint32_t line) const;
};

// A definition's version: FNV-1a (64 bits) of its text, as 16 hex digits. It tells versions
// apart; it is not meant to resist deliberate collisions.
std::string ContentHash(std::string_view text);

class Diagnostics {
 public:
  void Error(const Location& where, std::string message);
  void Warning(const Location& where, std::string message);
  // An error about a file as a whole (it cannot be read), or with no file at all.
  void FileError(std::string file, std::string message);

  uint32_t errors() const { return errors_; }
  uint32_t warnings() const { return warnings_; }
  const std::vector<Diagnostic>& list() const { return list_; }
  // Ordered by file, line, column; errors before warnings at the same place.
  std::vector<Diagnostic> Sorted() const;
  // Every error and warning, formatted, one after the other.
  std::string FormatAll() const;

 private:
  void Add(Diagnostic::Severity severity, const Location& where, std::string message);
  std::vector<Diagnostic> list_;
  uint32_t errors_ = 0;
  uint32_t warnings_ = 0;
};

}  // namespace takt::dsl

#endif  // TAKT_DSL_SOURCE_H_
