// The tables a walk over a rule's state has met, by address, numbered in the order met: the
// state walks (the check after an evaluation, the snapshot before it) run for every evaluation,
// and a state holds a few tables, so a short list is searched faster than a hash set is
// cleared. Past kFew tables the list moves to a map.
#ifndef TAKT_ENGINE_RULES_SEEN_TABLES_H_
#define TAKT_ENGINE_RULES_SEEN_TABLES_H_

#include <cstddef>
#include <cstdint>
#include <unordered_map>
#include <vector>

namespace takt::rules {

class SeenTables {
 public:
  void Clear() {
    few_.clear();
    many_.clear();
  }
  bool Contains(const void* table) const {
    if (!many_.empty()) return many_.count(table) != 0;
    for (const void* met : few_) {
      if (met == table) return true;
    }
    return false;
  }
  // The number `table` got when first met (0, 1, ...); -1 when it is new, and then it is met.
  int64_t FindOrAdd(const void* table) {
    if (many_.empty()) {
      for (size_t i = 0; i < few_.size(); ++i) {
        if (few_[i] == table) return static_cast<int64_t>(i);
      }
      if (few_.size() < kFew) {
        few_.push_back(table);
        return -1;
      }
      for (size_t i = 0; i < few_.size(); ++i) many_.emplace(few_[i], i);
    }
    const auto [it, added] = many_.emplace(table, many_.size());
    return added ? -1 : static_cast<int64_t>(it->second);
  }

 private:
  static constexpr size_t kFew = 16;
  std::vector<const void*> few_;
  std::unordered_map<const void*, size_t> many_;
};

}  // namespace takt::rules

#endif  // TAKT_ENGINE_RULES_SEEN_TABLES_H_
