// A store::Store that wraps another and fails on demand: from a chosen call on, every call
// (a read in the middle of an event, a write, the commit) fails with kIoError, as a database
// whose disk or server has gone away. It works on any implementation, so the engine's
// handling of store failures is tested at the seam, not through one database's internals.
#ifndef TAKT_TESTS_STORE_FAULTY_STORE_H_
#define TAKT_TESTS_STORE_FAULTY_STORE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "engine/store/store.h"

namespace takt::test {

// Shared between a test and the store it gave the engine.
struct StoreFaults {
  // The call after `fail_after` more successful ones fails, and every one after it; -1: none.
  int64_t fail_after = -1;
  // With fail_after: only calls of this name count towards it, and the first of them to fail
  // clears it (every call after fails, whatever its name). Empty: every call counts.
  std::string fail_at;
  int64_t calls = 0;   // every call counted so far
  int64_t failed = 0;  // calls failed so far
  std::string first_failed;  // the name of the first call failed since it was last cleared
};

std::unique_ptr<store::Store> WrapFaulty(std::unique_ptr<store::Store> inner,
                                         std::shared_ptr<StoreFaults> faults);

}  // namespace takt::test

#endif  // TAKT_TESTS_STORE_FAULTY_STORE_H_
