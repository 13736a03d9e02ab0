// Events in plain JSON decoded without a general parser: the common case, one pass over the
// text. Plain means: one object; the envelope's seven fields and no others, type before data;
// strings of printable ASCII without escapes; data's values scalars (those of fields the schema
// does not declare too). That is how takt's generator, its connectors and most peers write
// events. Anything else DecodePlain() declines, and the general decoder (decode.cc, simdjson)
// decodes it and words any error: an event decodes to the same Event, or fails with the same
// error, whichever decoder takes it (tests/engine/decode_plain_test.cc, the event fuzz target).
#ifndef TAKT_ENGINE_EVENT_DECODE_PLAIN_H_
#define TAKT_ENGINE_EVENT_DECODE_PLAIN_H_

#include <string_view>

#include "dsl/catalog.h"
#include "engine/event/event.h"
#include "engine/event/event_types.h"

namespace takt {

// Decodes `text` into `out` when it is plain and valid against its type's schema (the
// envelope's ranges are the caller's to check); false declines it, leaving `out` partly
// written. The text must be followed in memory by at least 16 readable zero bytes (as
// simdjson's padding is): scans read 16 bytes at a time and stop at a zero byte. `out`'s
// strings point into `text`.
bool DecodePlain(std::string_view text, const dsl::Catalog& catalog, const EventTypeIndex& types,
                 Event& out);

}  // namespace takt

#endif  // TAKT_ENGINE_EVENT_DECODE_PLAIN_H_
