// A check of a TOML text before toml++ reads it. Debian's toml++ (3.3) reaches
// __builtin_unreachable, undefined behaviour, when it asks whether a non-ASCII character is
// whitespace: wherever one stands outside a string or a comment, and right after a backslash in
// a basic string, or after the whitespace that follows a line-ending one (toml++ issues #190
// and #295, fixed upstream later), and when it meets bytes that are not UTF-8. TOML allows
// neither but non-ASCII after a line-ending backslash's whitespace, so such a character is
// refused here, with its line and column, before the parser can meet it.
#ifndef TAKT_ENGINE_CONFIG_TOML_GUARD_H_
#define TAKT_ENGINE_CONFIG_TOML_GUARD_H_

#include <string>
#include <string_view>

namespace takt::config {

// Empty when `text` holds no such character; otherwise "LINE:COLUMN: what".
std::string FindCharacterTomlCannotRead(std::string_view text);

}  // namespace takt::config

#endif  // TAKT_ENGINE_CONFIG_TOML_GUARD_H_
