// JSON text -> Event, validated against the declared schema of its type. The hot path of
// ingestion: simdjson On Demand, buffers reused from one event to the next.
#ifndef TAKT_ENGINE_EVENT_DECODE_H_
#define TAKT_ENGINE_EVENT_DECODE_H_

#include <memory>
#include <string>
#include <string_view>

#include "dsl/catalog.h"
#include "engine/event/event.h"

namespace takt {

class EventDecoder {
 public:
  explicit EventDecoder(const dsl::Catalog& catalog);
  ~EventDecoder();
  EventDecoder(const EventDecoder&) = delete;
  EventDecoder& operator=(const EventDecoder&) = delete;

  // Decodes `json` into `out`. On failure returns false and sets `error` to what is wrong and
  // where ("field data.severity: expected int, got string"); `out.id` is set when the id
  // itself could be read. The envelope of `out` is valid until the next call.
  bool Decode(std::string_view json, Event& out, std::string& error);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace takt

#endif  // TAKT_ENGINE_EVENT_DECODE_H_
