// JSON Lines as the C API and takt serve take them: one event per line, a trailing '\r'
// dropped, empty lines skipped.
#ifndef TAKT_ENGINE_EVENT_LINES_H_
#define TAKT_ENGINE_EVENT_LINES_H_

#include <string_view>
#include <vector>

namespace takt {

// The non-empty lines of `text`, as views into it.
std::vector<std::string_view> SplitLines(std::string_view text);

}  // namespace takt

#endif  // TAKT_ENGINE_EVENT_LINES_H_
