// What every Store implementation shares: the names of outcomes as stored, and the check of
// a cursor's line values.
#include "engine/store/store.h"

#include <string>

namespace takt::store {

bool OutcomeByName(std::string_view name, Outcome& out) {
  for (int o = 0; o < kOutcomeCount; ++o) {
    if (name == OutcomeName(static_cast<Outcome>(o))) {
      out = static_cast<Outcome>(o);
      return true;
    }
  }
  return false;
}

Result<int64_t> FirstCheckedLine(const InputCursor& cursor) {
  constexpr size_t kCheckBytes = InputCursor::kLineCheckBytes;
  const auto lines = static_cast<int64_t>(cursor.line_checks.size() / kCheckBytes);
  const int64_t first_line = static_cast<int64_t>(cursor.position) - lines + 1;
  if (first_line < 1 || cursor.line_checks.size() % kCheckBytes != 0) {
    return Status::InvalidArgument(
        "cursor " + cursor.name + ": " + std::to_string(cursor.line_checks.size()) +
        " bytes of line checks for " + std::to_string(cursor.position) + " lines");
  }
  return first_line;
}

}  // namespace takt::store
