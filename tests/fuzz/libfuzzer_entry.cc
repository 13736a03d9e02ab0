// The libFuzzer entry point of one target, chosen at build time (TAKT_FUZZ_TARGET, a function
// of fuzz_targets.h): tests/fuzz/CMakeLists.txt builds one executable per target with clang.
#include "fuzz/fuzz_targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return takt::fuzz::TAKT_FUZZ_TARGET(data, size);
}
