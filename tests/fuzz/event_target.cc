#include <cstring>
#include <memory>
#include <string>

#include "dsl/load.h"
#include "engine/event/decode.h"
#include "fuzz/fuzz_targets.h"

namespace takt::fuzz {
namespace {

// The shipped workflows' definitions, loaded once: their schemas validate the events.
const dsl::Definitions& Plant() {
  static const std::unique_ptr<dsl::Definitions> definitions = [] {
    DefinitionOptions options;
    options.paths = {std::string(TAKT_SOURCE_DIR) + "/workflows"};
    return dsl::LoadDefinitions(options);
  }();
  Require(definitions->diagnostics.errors() == 0, "the shipped workflows load");
  return *definitions;
}

bool SameValue(const dsl::Value& a, const dsl::Value& b) {
  if (a.type != b.type) return false;
  switch (a.type) {
    case dsl::Type::kNull: return true;
    case dsl::Type::kBool: return a.b == b.b;
    case dsl::Type::kInt: return a.i == b.i;
    case dsl::Type::kFloat: return std::memcmp(&a.f, &b.f, sizeof a.f) == 0;
    case dsl::Type::kString: return a.s == b.s;
  }
  return false;
}

}  // namespace

// Decoded by the engine's decoder (the plain reader first) and by simdjson alone: the two must
// agree on every byte of the outcome.
int FuzzEvent(const uint8_t* data, size_t size) {
  static EventDecoder decoder(Plant().catalog);
  static EventDecoder general(Plant().catalog, EventDecoder::Paths::kGeneralOnly);
  Event event, expected;
  std::string error, expected_error;
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  const bool ok = decoder.Decode(line, event, error);
  Require(ok == general.Decode(line, expected, expected_error), "both readers decode it, or not");
  Require(event.id == expected.id, "both readers read the same id");
  if (ok) {
    Require(error.empty(), "a decoded event has no error");
    Require(event.type_id >= 0, "a decoded event has a declared type");
    Require(event.source == expected.source && event.type == expected.type &&
                event.key == expected.key && event.seq == expected.seq &&
                event.ts == expected.ts && event.type_id == expected.type_id &&
                event.fields.size() == expected.fields.size(),
            "both readers read the same envelope");
    for (size_t i = 0; i < event.fields.size(); ++i) {
      Require(SameValue(event.fields[i], expected.fields[i]), "both readers read the same data");
    }
  } else {
    Require(!error.empty(), "a refused event says why");
    Require(error == expected_error, "both readers refuse it for the same reason");
  }
  return 0;
}

}  // namespace takt::fuzz
