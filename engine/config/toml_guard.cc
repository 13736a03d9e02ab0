#include "engine/config/toml_guard.h"

#include <cstddef>

namespace takt::config {
namespace {

bool StartsWith(std::string_view text, size_t at, std::string_view what) {
  return at <= text.size() && text.substr(at, what.size()) == what;
}

}  // namespace

std::string FindCharacterTomlCannotRead(std::string_view text) {
  size_t line = 1;
  size_t line_start = 0;
  auto where = [&](size_t at, const char* what) {
    return std::to_string(line) + ":" + std::to_string(at - line_start + 1) + ": " + what;
  };
  // Strings are skipped: basic ones ('"') with their escapes, multi-line ones across lines.
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      ++line;
      line_start = ++i;
      continue;
    }
    if (c == '#') {  // a comment, to the end of the line
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if (c == '"' || c == '\'') {
      const bool multi = StartsWith(text, i, c == '"' ? "\"\"\"" : "'''");
      const std::string_view close = multi ? text.substr(i, 3) : text.substr(i, 1);
      i += close.size();
      while (i < text.size() && !StartsWith(text, i, close)) {
        if (text[i] == '\n') {
          if (!multi) break;  // an unterminated string: toml++ reports it
          ++line;
          line_start = i + 1;
        } else if (c == '"' && text[i] == '\\') {
          // A line-ending backslash: what follows is trimmed up to the next character that is
          // not whitespace, which must be ASCII here.
          size_t j = i + 1;
          while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r')) ++j;
          if (multi && j < text.size() && text[j] == '\n') {
            while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' ||
                                       text[j] == '\n')) {
              if (text[j] == '\n') {
                ++line;
                line_start = j + 1;
              }
              ++j;
            }
            if (j < text.size() && static_cast<unsigned char>(text[j]) >= 0x80) {
              return where(j, "a non-ASCII character right after a line-ending backslash, "
                              "which the TOML reader cannot handle: put it on the line of the "
                              "backslash or escape it (\\uXXXX)");
            }
            i = j;
            continue;
          }
          ++i;  // the escaped character is skipped with the backslash
        }
        ++i;
      }
      // A multi-line string may end in one or two quotes of its own before its closing three.
      for (int extra = 0; multi && extra < 2 && i + 3 < text.size() && text[i + 3] == c; ++extra) {
        ++i;
      }
      if (StartsWith(text, i, close)) i += close.size();
      continue;
    }
    if (static_cast<unsigned char>(c) >= 0x80) {
      return where(i, "a non-ASCII character outside a string or a comment");
    }
    ++i;
  }
  return "";
}

}  // namespace takt::config
