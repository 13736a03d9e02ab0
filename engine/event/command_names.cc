#include "engine/event/command_names.h"

namespace takt {

bool IsName(std::string_view name) {
  constexpr size_t kMaxNameBytes = 128;
  return !name.empty() && name.size() <= kMaxNameBytes &&  // the length first: it is cheap
         name.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                "0123456789_-.") == std::string_view::npos;
}

bool IsCommandPattern(std::string_view pattern) {
  if (pattern == "*") return true;
  if (!pattern.empty() && pattern.back() == '*') pattern.remove_suffix(1);
  return IsName(pattern);
}

bool MatchesCommandPattern(std::string_view pattern, std::string_view name) {
  if (!pattern.empty() && pattern.back() == '*') {
    const std::string_view prefix = pattern.substr(0, pattern.size() - 1);
    return name.substr(0, prefix.size()) == prefix;
  }
  return name == pattern;
}

}  // namespace takt
