// What commands may be called, and the patterns that select them: a rule declares the commands
// it may emit with them, and a connector the commands it delivers.
#ifndef TAKT_ENGINE_EVENT_COMMAND_NAMES_H_
#define TAKT_ENGINE_EVENT_COMMAND_NAMES_H_

#include <string_view>

namespace takt {

// 1 to 128 letters, digits, '_', '-' and '.': what a command, signal or workflow may be called.
bool IsName(std::string_view name);
// A name, a name's beginning followed by '*' ("odoo.*", matching any ending), or "*" alone.
bool IsCommandPattern(std::string_view pattern);
// Does `pattern` (IsCommandPattern) select the command `name`?
bool MatchesCommandPattern(std::string_view pattern, std::string_view name);

}  // namespace takt

#endif  // TAKT_ENGINE_EVENT_COMMAND_NAMES_H_
