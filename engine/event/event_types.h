// The catalog's event types by the length of their names, for the decoders: a type is found
// among the few of its length (most have a length of their own), where the catalog's map
// compares it with several. Holds views of the catalog's names: the catalog outlives it.
#ifndef TAKT_ENGINE_EVENT_EVENT_TYPES_H_
#define TAKT_ENGINE_EVENT_EVENT_TYPES_H_

#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "dsl/catalog.h"

namespace takt {

class EventTypeIndex {
 public:
  explicit EventTypeIndex(const dsl::Catalog& catalog) {
    for (size_t id = 0; id < catalog.events.size(); ++id) {
      const std::string& type = catalog.events[id].type;
      if (by_length_.size() <= type.size()) by_length_.resize(type.size() + 1);
      by_length_[type.size()].emplace_back(type, static_cast<int>(id));
    }
  }

  // The index of `type` in Catalog::events, or -1.
  int Find(std::string_view type) const {
    if (type.size() >= by_length_.size()) return -1;
    for (const auto& [name, id] : by_length_[type.size()]) {
      if (std::memcmp(name.data(), type.data(), type.size()) == 0) return id;
    }
    return -1;
  }

 private:
  std::vector<std::vector<std::pair<std::string_view, int>>> by_length_;
};

}  // namespace takt

#endif  // TAKT_ENGINE_EVENT_EVENT_TYPES_H_
