// JSON text -> Event, validated against the declared schema of its type. The hot path of
// ingestion: events in plain JSON read in one pass (decode_plain.h), the others by simdjson On
// Demand; buffers reused from one event to the next.
#ifndef TAKT_ENGINE_EVENT_DECODE_H_
#define TAKT_ENGINE_EVENT_DECODE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "dsl/catalog.h"
#include "engine/event/event.h"

namespace takt {

class EventDecoder {
 public:
  enum class Paths {
    kPlainFirst,   // plain JSON (decode_plain.h) without a general parser, the rest with one
    kGeneralOnly,  // every event through simdjson: what tests compare the plain reader with
  };
  // How many events each reader decoded (the plain reader's count includes those whose
  // envelope is then out of range).
  struct Counts {
    uint64_t plain = 0;
    uint64_t general = 0;
  };

  explicit EventDecoder(const dsl::Catalog& catalog, Paths paths = Paths::kPlainFirst);
  ~EventDecoder();
  EventDecoder(const EventDecoder&) = delete;
  EventDecoder& operator=(const EventDecoder&) = delete;

  // Decodes `json` into `out`. On failure returns false and sets `error` to what is wrong and
  // where ("field data.severity: expected int, got string"); `out.id` is set when the id
  // itself could be read. The envelope of `out` is valid until the next call.
  bool Decode(std::string_view json, Event& out, std::string& error);

  // Decode()'s two readers apart, for a caller that checks something between them: the engine
  // checks its limit on nesting only for events that are not plain (a plain one is two levels
  // deep). TryPlain() is kNotPlain when `json` is not plain (always, with kGeneralOnly), and
  // otherwise as Decode() would be: kDecoded, or kRefused with `error` (an envelope field out of
  // range). DecodeGeneral() is Decode() without the plain reader.
  enum class Plain { kNotPlain, kDecoded, kRefused };
  Plain TryPlain(std::string_view json, Event& out, std::string& error);
  bool DecodeGeneral(std::string_view json, Event& out, std::string& error);

  const Counts& counts() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace takt

#endif  // TAKT_ENGINE_EVENT_DECODE_H_
