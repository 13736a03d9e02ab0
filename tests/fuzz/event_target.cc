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

}  // namespace

int FuzzEvent(const uint8_t* data, size_t size) {
  static EventDecoder decoder(Plant().catalog);
  Event event;
  std::string error;
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  if (decoder.Decode(line, event, error)) {
    Require(error.empty(), "a decoded event has no error");
    Require(event.type_id >= 0, "a decoded event has a declared type");
  } else {
    Require(!error.empty(), "a refused event says why");
  }
  return 0;
}

}  // namespace takt::fuzz
