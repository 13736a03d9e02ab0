// The snapshot (state_snapshot.h) of each key's state as its last successful evaluation left
// it. The walk after an evaluation, which checks that the state can be stored, writes the
// snapshot as it goes; kept here, it spares the next evaluation of the key the walk it would
// take first, to have something to put back if it fails. Only the rule's evaluations change
// its states, and the engine's feed of its windows while decide is skipped: what that feed
// added is kept beside the snapshot (NoteFed()), to be fed again to the snapshot when it is put
// back. So a kept snapshot, with its feeds, stays true until the next evaluation. Restoring
// states from the store clears the cache.
#ifndef TAKT_ENGINE_RULES_SNAPSHOT_CACHE_H_
#define TAKT_ENGINE_RULES_SNAPSHOT_CACHE_H_

#include <cstddef>
#include <string>
#include <unordered_map>
#include <vector>

#include "engine/event/flat_string_map.h"
#include "engine/rules/rule_windows.h"

struct lua_State;

namespace takt::rules {

// Hashes a state's key as SnapshotCache::KeyOf() writes it, for maps by key. FlatStringHash:
// std::hash of a string makes a map of up to 20 keys search them one by one (libstdc++'s
// threshold for a hash it does not count as fast), a key compared with each.
struct StateKeyHash {
  size_t operator()(const std::string& key) const { return FlatStringHash(key); }
};

class SnapshotCache {
 public:
  // Holds at most `max_bytes` of snapshots; past that it starts again, empty.
  explicit SnapshotCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Writes into `out` the bytes the state key at `index` (a string or a number, as a state's
  // key is) is kept under. An integral float is the integer, as for a Lua table's keys.
  static void KeyOf(lua_State* L, int index, std::string& out);
  // Pushes the key that KeyOf() wrote `bytes` for.
  static void PushKey(lua_State* L, const std::string& bytes);

  // A key's state: its snapshot, then what was fed to its windows since, in order.
  struct Kept {
    std::string snapshot;
    std::vector<RuleWindows::Fed> fed;
  };
  // What is kept for `key`; nullptr when nothing is.
  const Kept* Find(const std::string& key) const {
    const auto it = kept_.find(key);
    return it == kept_.end() ? nullptr : &it->second;
  }
  // Keeps `snapshot` as `key`'s, taking its bytes; `snapshot` gets a buffer to reuse.
  void Keep(const std::string& key, std::string& snapshot);
  // `key`'s state is about to take `fed` outside an evaluation (a window fed while decide is
  // skipped, rule_windows.h). Noted first; the returned guard forgets the key unless told that
  // the feed happened (a feed that fails leaves the state as it was, and the note would then be
  // false). Past kMaxFed feeds the key is forgotten: its next evaluation takes a snapshot.
  class FeedGuard {
   public:
    FeedGuard(SnapshotCache* cache, const std::string* key) : cache_(cache), key_(key) {}
    FeedGuard(const FeedGuard&) = delete;
    FeedGuard& operator=(const FeedGuard&) = delete;
    ~FeedGuard() {
      if (cache_ != nullptr) cache_->Forget(*key_);
    }
    void Fed() { cache_ = nullptr; }

   private:
    SnapshotCache* cache_;
    const std::string* key_;
  };
  FeedGuard NoteFed(const std::string& key, const RuleWindows::Fed& fed);
  void Clear() {
    kept_.clear();
    bytes_ = 0;
  }

 private:
  static constexpr size_t kMaxFed = 256;

  void Forget(const std::string& key);
  static size_t BytesOf(const Kept& kept);  // its snapshot's and its feeds'

  size_t max_bytes_;
  size_t bytes_ = 0;
  std::unordered_map<std::string, Kept, StateKeyHash> kept_;
};

}  // namespace takt::rules

#endif  // TAKT_ENGINE_RULES_SNAPSHOT_CACHE_H_
