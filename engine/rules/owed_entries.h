// The entries of skipped events that each key's state of a rule is owed (RuleWindows::Deferred),
// by the key's bytes as SnapshotCache::KeyOf() writes them. They are part of the state: the
// rule's set adds them to it before anything reads it or changes it (rule_set.h).
#ifndef TAKT_ENGINE_RULES_OWED_ENTRIES_H_
#define TAKT_ENGINE_RULES_OWED_ENTRIES_H_

#include <string>
#include <unordered_map>

#include "engine/rules/rule_windows.h"
#include "engine/rules/snapshot_cache.h"

namespace takt::rules {

class OwedEntries {
 public:
  // What `key`'s state is owed; an empty Deferred when nothing (kept, with its room, for the
  // key's next skipped events).
  RuleWindows::Deferred& Of(const std::string& key) { return by_key_[key]; }
  // What `key`'s state is owed; nullptr when nothing.
  RuleWindows::Deferred* Find(const std::string& key) {
    const auto it = by_key_.find(key);
    return it == by_key_.end() || it->second.fed.empty() ? nullptr : &it->second;
  }
  // Calls `settle(key, owed)` for each key owed anything.
  template <typename Settle>
  void ForEachOwed(Settle&& settle) {
    for (auto& [key, owed] : by_key_) {
      if (!owed.fed.empty()) settle(key, owed);
    }
  }
  void Forget(const std::string& key) { by_key_.erase(key); }
  void Clear() { by_key_.clear(); }

 private:
  std::unordered_map<std::string, RuleWindows::Deferred, StateKeyHash> by_key_;
};

}  // namespace takt::rules

#endif  // TAKT_ENGINE_RULES_OWED_ENTRIES_H_
