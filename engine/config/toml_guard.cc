#include "engine/config/toml_guard.h"

#include <cstddef>

namespace takt::config {
namespace {

bool StartsWith(std::string_view text, size_t at, std::string_view what) {
  return at <= text.size() && text.substr(at, what.size()) == what;
}

// The length of the UTF-8 sequence at `at`, or 0 when it is not a valid one.
size_t Utf8Length(std::string_view text, size_t at) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[at + k]); };
  const unsigned char lead = byte(0);
  if (lead < 0x80) return 1;
  size_t n = 0;
  unsigned char low = 0x80, high = 0xBF;  // the second byte's range
  if (lead >= 0xC2 && lead <= 0xDF) {
    n = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    n = 3;
    if (lead == 0xE0) low = 0xA0;   // no overlong forms
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    n = 4;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;  // nothing past U+10FFFF
  } else {
    return 0;
  }
  if (at + n > text.size() || byte(1) < low || byte(1) > high) return 0;
  for (size_t k = 2; k < n; ++k) {
    if (byte(k) < 0x80 || byte(k) > 0xBF) return 0;
  }
  return n;
}

// Where the reader stands outside strings, as far as quotes go. toml++ takes a quote for a
// string's start only where a key or a value starts; elsewhere (the quote in `a = 2"..."`) it
// scans on through it as part of a malformed value, asking of every character whether it is
// whitespace, so what follows such a quote is outside a string here too.
class QuotePlaces {
 public:
  bool OpensString() const { return at_ == At::kKeyStart || at_ == At::kValueStart; }
  void AfterString() { at_ = at_ == At::kKeyStart ? At::kKey : At::kOther; }

  // Moves on past `c`: an ASCII character outside strings and comments.
  void Past(char c) {
    switch (c) {
      case ' ': case '\t': case '\r': return;
      case '\n':
        if (open_.empty()) at_ = At::kKeyStart;  // within brackets a value goes on
        return;
      case '=': at_ = at_ == At::kKey ? At::kValueStart : At::kOther; return;
      case '.':
        if (at_ == At::kKey) at_ = At::kKeyStart;  // a dotted key; elsewhere part of a value
        if (at_ == At::kValueStart) at_ = At::kOther;
        return;
      case '[':
        if (at_ == At::kKeyStart && open_.empty()) return;  // a table's header
        if (at_ != At::kValueStart) break;
        open_.push_back('[');
        return;
      case '{':
        if (at_ != At::kValueStart) break;
        open_.push_back('{');
        at_ = At::kKeyStart;
        return;
      case ']': case '}':
        if (!open_.empty() && open_.back() == (c == ']' ? '[' : '{')) open_.pop_back();
        break;
      case ',':
        if (open_.empty()) break;
        at_ = open_.back() == '[' ? At::kValueStart : At::kKeyStart;
        return;
      default:
        if (at_ == At::kKeyStart) {
          at_ = At::kKey;
          return;
        }
        if (at_ == At::kKey) return;
        break;
    }
    at_ = At::kOther;
  }

 private:
  enum class At { kKeyStart, kKey, kValueStart, kOther };
  At at_ = At::kKeyStart;
  std::string open_;  // the open arrays ('[') and inline tables ('{'), innermost last
};

}  // namespace

std::string FindCharacterTomlCannotRead(std::string_view text) {
  size_t line = 1;
  size_t line_start = 0;
  auto where = [&](size_t at, const char* what) {
    return std::to_string(line) + ":" + std::to_string(at - line_start + 1) + ": " + what;
  };
  // A TOML file is UTF-8 throughout; toml++ meets a broken sequence with the same undefined
  // behaviour, inside strings and comments too.
  for (size_t at = 0; at < text.size();) {
    if (text[at] == '\n') {
      ++line;
      line_start = at + 1;
    }
    const size_t n = Utf8Length(text, at);
    if (n == 0) return where(at, "bytes that are not UTF-8");
    at += n;
  }
  line = 1;
  line_start = 0;
  // Strings are skipped: basic ones ('"') with their escapes, multi-line ones across lines.
  QuotePlaces places;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '\n') {
      places.Past(c);
      ++line;
      line_start = ++i;
      continue;
    }
    if (c == '#') {  // a comment, to the end of the line
      while (i < text.size() && text[i] != '\n') ++i;
      continue;
    }
    if ((c == '"' || c == '\'') && places.OpensString()) {
      places.AfterString();
      const bool multi = StartsWith(text, i, c == '"' ? "\"\"\"" : "'''");
      const std::string_view close = multi ? text.substr(i, 3) : text.substr(i, 1);
      i += close.size();
      while (i < text.size() && !StartsWith(text, i, close)) {
        if (text[i] == '\n') {
          if (!multi) break;  // an unterminated string: toml++ reports it
          ++line;
          line_start = i + 1;
        } else if (c == '"' && text[i] == '\\') {
          // An escape is ASCII; after a line-ending backslash (only whitespace up to the end of
          // its line, in a multi-line string) what follows is trimmed up to the next character
          // that is not whitespace. toml++ asks whether the character after the backslash (or
          // after that whitespace) is whitespace, so it must be ASCII.
          size_t j = i + 1;
          const size_t line_before = line;
          while (j < text.size() && (text[j] == ' ' || text[j] == '\t' || text[j] == '\r' ||
                                     (multi && text[j] == '\n'))) {
            if (text[j] == '\n') {
              ++line;
              line_start = j + 1;
            }
            ++j;
          }
          if (j < text.size() && static_cast<unsigned char>(text[j]) >= 0x80) {
            return where(j, "a non-ASCII character after a backslash, which the TOML reader "
                            "cannot handle: escape it (\\uXXXX), or after a line-ending "
                            "backslash put it on the backslash's line");
          }
          if (line > line_before) {
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
    places.Past(c);
    ++i;
  }
  return "";
}

}  // namespace takt::config
