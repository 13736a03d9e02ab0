// The snapshot (state_snapshot.h) of each key's state as its last successful evaluation left
// it. The walk after an evaluation, which checks that the state can be stored, writes the
// snapshot as it goes; kept here, it spares the next evaluation of the key the walk it would
// take first, to have something to put back if it fails. Only the rule's evaluations change
// its states, and the engine's feed of its windows while decide is skipped, which forgets the
// key's snapshot (Forget()); so a kept snapshot stays true until the next evaluation. Restoring
// states from the store clears the cache.
#ifndef TAKT_ENGINE_RULES_SNAPSHOT_CACHE_H_
#define TAKT_ENGINE_RULES_SNAPSHOT_CACHE_H_

#include <cstddef>
#include <string>
#include <unordered_map>

struct lua_State;

namespace takt::rules {

class SnapshotCache {
 public:
  // Holds at most `max_bytes` of snapshots; past that it starts again, empty.
  explicit SnapshotCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Writes into `out` the bytes the state key at `index` (a string or a number, as a state's
  // key is) is kept under. An integral float is the integer, as for a Lua table's keys.
  static void KeyOf(lua_State* L, int index, std::string& out);

  // The snapshot kept for `key`; nullptr when none is.
  const std::string* Find(const std::string& key) const {
    const auto it = snapshots_.find(key);
    return it == snapshots_.end() ? nullptr : &it->second;
  }
  // Keeps `snapshot` as `key`'s, taking its bytes; `snapshot` gets a buffer to reuse.
  void Keep(const std::string& key, std::string& snapshot);
  // Forgets `key`'s snapshot: its state changed other than by an evaluation (a window fed while
  // decide was skipped, rule_windows.h), so the next evaluation takes one first.
  void Forget(const std::string& key) {
    const auto it = snapshots_.find(key);
    if (it == snapshots_.end()) return;
    bytes_ -= key.size() + it->second.size();
    snapshots_.erase(it);
  }
  void Clear() {
    snapshots_.clear();
    bytes_ = 0;
  }

 private:
  size_t max_bytes_;
  size_t bytes_ = 0;
  std::unordered_map<std::string, std::string> snapshots_;
};

}  // namespace takt::rules

#endif  // TAKT_ENGINE_RULES_SNAPSHOT_CACHE_H_
