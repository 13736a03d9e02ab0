// string.find, match, gmatch and gsub for rules: Lua's own pattern matching, with every step
// charged to the evaluation's instruction budget and time limit (see lua_patterns.cc).
#ifndef TAKT_ENGINE_RULES_LUA_PATTERNS_H_
#define TAKT_ENGINE_RULES_LUA_PATTERNS_H_

struct lua_State;

namespace takt::rules {

// Sets find, match, gmatch and gsub of the string library table at `library` to the bounded
// versions.
void ReplacePatternFunctions(lua_State* L, int library);

}  // namespace takt::rules

#endif  // TAKT_ENGINE_RULES_LUA_PATTERNS_H_
