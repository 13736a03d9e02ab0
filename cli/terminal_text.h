// Text from inputs (event ids, file names, source lines, database rows) on its way to a
// terminal: control characters and bytes that are not UTF-8 are shown escaped, so that no input
// can move the cursor, recolour the screen or garble the line it is quoted in.
#ifndef TAKT_CLI_TERMINAL_TEXT_H_
#define TAKT_CLI_TERMINAL_TEXT_H_

#include <string>
#include <string_view>

namespace takt::cli {

// `text` with each control character but newline and tab, DEL, and each byte not part of a
// valid UTF-8 sequence written as \xNN; valid UTF-8 is kept as it is.
std::string ForTerminal(std::string_view text);
// As ForTerminal(), with newline and tab escaped too: one record of a log stays one line, so
// that text from an input cannot begin a line that reads as a record of its own.
std::string ForLogLine(std::string_view text);

}  // namespace takt::cli

#endif  // TAKT_CLI_TERMINAL_TEXT_H_
