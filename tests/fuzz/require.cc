#include <cstdio>
#include <cstdlib>

#include "fuzz/fuzz_targets.h"

namespace takt::fuzz {

void Require(bool holds, const char* what) {
  if (holds) return;
  std::fprintf(stderr, "fuzz target invariant broken: %s\n", what);
  std::abort();
}

}  // namespace takt::fuzz
