// One decoded event. The envelope's strings point into the decoder's buffers and are valid
// until the next Decode(); data fields are copied into slots, in the order of the event type's
// schema, so that guards read them by index.
#ifndef TAKT_ENGINE_EVENT_EVENT_H_
#define TAKT_ENGINE_EVENT_EVENT_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "dsl/value.h"

namespace takt {

struct Event {
  std::string_view id;
  std::string_view source;
  std::string_view type;
  std::string_view key;
  int64_t seq = 0;
  int64_t ts = 0;  // event time, ms since the Unix epoch
  int type_id = -1;  // index into Catalog::events
  std::vector<dsl::Value> fields;  // by FieldDef index; null where an optional field is absent
};

}  // namespace takt

#endif  // TAKT_ENGINE_EVENT_EVENT_H_
