// Rule state to bytes and back, for the store. The encoding is exact (integers stay integers,
// floats keep every bit), deterministic (table keys are written sorted, so the same state gives
// the same bytes on every run) and keeps shared tables shared. Keys may be strings, numbers or
// booleans; values also tables.
//   true: T   false: F   integer: i<decimal>;   float: d<%a>;   string: s<length>:<bytes>
//   table: { key value key value ... }   a table written before: r<its number>;
#ifndef TAKT_ENGINE_RULES_STATE_CODEC_H_
#define TAKT_ENGINE_RULES_STATE_CODEC_H_

#include <string>
#include <string_view>

struct lua_State;

namespace takt::rules {

// Appends the value at `index` to `out`. False with `error` for a function, userdata, thread, a
// table used as a key, or tables nested deeper than kMaxStateDepth. It grows the Lua stack:
// call it inside a protected call.
bool EncodeState(lua_State* L, int index, std::string& out, std::string& error);

// How deep tables may nest in a rule's state, along any path, shared tables included (so in
// whatever order it is walked): the state is walked recursively (checked, copied, encoded), so
// its depth must be bounded for the walk to be. TakeSnapshot() (state_snapshot.h) checks it,
// and what EncodeState() needs, after every evaluation; the encoding waits for the batch's end.
constexpr int kMaxStateDepth = 32;
// The error for a state nested deeper.
std::string NestedTooDeep();

// Pushes the value encoded in `text`. False with `error` (and nothing pushed) when `text` is not
// a complete encoding. Raises a Lua error when the state runs out of memory, so call it inside
// a protected call.
bool DecodeState(lua_State* L, std::string_view text, std::string& error);

}  // namespace takt::rules

#endif  // TAKT_ENGINE_RULES_STATE_CODEC_H_
