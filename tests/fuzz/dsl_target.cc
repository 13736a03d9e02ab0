#include <string>

#include "dsl/load.h"
#include "fuzz/fuzz_targets.h"

namespace takt::fuzz {

int FuzzDsl(const uint8_t* data, size_t size) {
  dsl::TextFile main{"fuzz.takt", std::string(reinterpret_cast<const char*>(data), size)};
  std::unique_ptr<dsl::Definitions> definitions = dsl::LoadDefinitionsFromText(main, {});
  Require(definitions != nullptr, "LoadDefinitionsFromText returns definitions, broken or not");
  return 0;
}

}  // namespace takt::fuzz
