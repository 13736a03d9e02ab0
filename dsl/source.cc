// Source lines and diagnostics: the "file:line:column: error: ..." format with a caret line.
#include "dsl/source.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <tuple>

namespace takt {

std::string Diagnostic::Format() const {
  std::string out = file;
  if (line > 0) {
    out += ":" + std::to_string(line) + ":" + std::to_string(column);
  }
  out += severity == Severity::kError ? ": error: " : ": warning: ";
  out += message;
  out += "\n";
  if (line > 0 && !source_line.empty()) {
    const std::string number = std::to_string(line);
    out += " " + number + " | " + source_line + "\n";
    out += " " + std::string(number.size(), ' ') + " | ";
    // Keep tabs so that the caret lines up under the same column in a terminal.
    for (uint32_t i = 1; i < column && i - 1 < source_line.size(); ++i) {
      out += source_line[i - 1] == '\t' ? '\t' : ' ';
    }
    out += "^\n";
  }
  return out;
}

namespace dsl {

std::string ContentHash(std::string_view text) {
  uint64_t h = 1469598103934665603ULL;
  for (char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string_view SourceFile::Line(uint32_t line) const {
  if (line == 0) return {};
  size_t start = 0;
  for (uint32_t n = 1; n < line; ++n) {
    start = text.find('\n', start);
    if (start == std::string::npos) return {};
    ++start;
  }
  size_t end = text.find('\n', start);
  if (end == std::string::npos) end = text.size();
  std::string_view result(text.data() + start, end - start);
  if (!result.empty() && result.back() == '\r') result.remove_suffix(1);
  return result;
}

void Diagnostics::Error(const Location& where, std::string message) {
  Add(Diagnostic::Severity::kError, where, std::move(message));
}

void Diagnostics::Warning(const Location& where, std::string message) {
  Add(Diagnostic::Severity::kWarning, where, std::move(message));
}

void Diagnostics::FileError(std::string file, std::string message) {
  Diagnostic d;
  d.file = std::move(file);
  d.message = std::move(message);
  list_.push_back(std::move(d));
  ++errors_;
}

void Diagnostics::Add(Diagnostic::Severity severity, const Location& where, std::string message) {
  Diagnostic d;
  d.severity = severity;
  if (where.file != nullptr) {
    d.file = where.file->name;
    d.source_line = std::string(where.file->Line(where.line));
  }
  d.line = where.line;
  d.column = where.column;
  d.message = std::move(message);
  list_.push_back(std::move(d));
  (severity == Diagnostic::Severity::kError ? errors_ : warnings_)++;
}

std::vector<Diagnostic> Diagnostics::Sorted() const {
  std::vector<Diagnostic> sorted = list_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return std::tie(a.file, a.line, a.column, a.severity) <
           std::tie(b.file, b.line, b.column, b.severity);
  });
  return sorted;
}

std::string Diagnostics::FormatAll() const {
  std::string out;
  for (const Diagnostic& d : Sorted()) out += d.Format();
  return out;
}

}  // namespace dsl
}  // namespace takt
