// What a rule file keeps outside `decide`: its chunk-level locals. What lasts between events
// belongs in `state`, which is saved with each batch and put back on resume; a local is not,
// so a rule that counted in one would decide differently after a restart than in one run. So,
// when a rule loads, the tables its functions reach through their upvalues are frozen (made
// read-only, all the way down), and after each evaluation every other value they reach (a
// number, string or boolean) is compared with what it was at load: one that changed is put
// back, and the evaluation fails naming it.
#ifndef TAKT_ENGINE_RULES_CHUNK_LOCALS_H_
#define TAKT_ENGINE_RULES_CHUNK_LOCALS_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "engine/rules/sandbox.h"
#include "takt/status.h"

namespace takt::rules {

struct ChunkLocals {
  int ref = -1;   // registry table: one {function, upvalue index, value at load, name} per local
  // The same locals, in the same order, with their values as C sees them, for the comparison
  // after every evaluation, which then reads each local once and touches the list above only
  // when one looks changed. Empty: nothing to compare.
  struct AtLoad {
    int upvalue = 0;
    int type = 0;               // LUA_TNUMBER, LUA_TSTRING, LUA_TBOOLEAN, ...
    bool is_integer = false;
    int64_t integer = 0;        // or a boolean
    double number = 0;
    const void* pointer = nullptr;  // a string: short ones are one object per content
  };
  std::vector<AtLoad> at_load;
  int functions_ref = -1;  // registry: the locals' functions, in the list's order
};

// Freezes what the functions behind the registry references `refs` (-1: none) reach, and
// notes their other locals in `out`. kRuleError naming the local when one holds a coroutine
// (it would carry state between events) or tables nested deeper than 32 levels;
// kLimitExceeded when the sandbox has no memory for it.
Status FreezeChunkLocals(Sandbox& sandbox, std::initializer_list<int> refs, ChunkLocals& out);

// Puts back every local of `locals` that changed since load, and returns the name of the first
// one; empty when none did. Allocates nothing in Lua.
std::string RestoreChunkLocals(lua_State* L, const ChunkLocals& locals);

}  // namespace takt::rules

#endif  // TAKT_ENGINE_RULES_CHUNK_LOCALS_H_
