// IdSet: the ids of every well-formed event seen, for dedup without a store. A node-based set
// of strings cost a heap allocation per id (about 70 bytes with its bucket), and its rehashes
// and frees were a fifth of an in-memory run; a FlatStringMap costs an id its bytes (with a
// 4-byte length) plus about 33 bytes (its entry, and slots at a load of a quarter to a half),
// and allocates only when the arena, the entries or the table grow.
#ifndef TAKT_ENGINE_EVENT_ID_SET_H_
#define TAKT_ENGINE_EVENT_ID_SET_H_

#include <cstdint>
#include <string_view>

#include "engine/event/flat_string_map.h"

namespace takt {

class IdSet {
 public:
  // Adds `id`: true when it was not there before.
  bool Insert(std::string_view id) {
    bool inserted = false;
    ids_.Emplace(id, inserted);
    return inserted;
  }
  bool Contains(std::string_view id) const { return ids_.Lookup(id) != nullptr; }
  size_t size() const { return ids_.size(); }
  size_t memory_bytes() const { return ids_.memory_bytes(); }

 private:
  FlatStringMap<uint8_t> ids_;  // the value is unused
};

}  // namespace takt

#endif  // TAKT_ENGINE_EVENT_ID_SET_H_
