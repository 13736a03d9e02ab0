// The Store interface held in memory: every row in standard containers, a batch staged on a
// copy of what is committed and swapped in at Commit(). It is the reference implementation
// the conformance suite checks next to SQLite (tests/store/store_conformance_test.cc), and a
// store for tests that need no file. Not for speed: Begin() copies everything committed.
#ifndef TAKT_ENGINE_STORE_MEMORY_STORE_H_
#define TAKT_ENGINE_STORE_MEMORY_STORE_H_

#include <memory>

#include "engine/store/store.h"

namespace takt::store {

// What a memory store holds once committed. A store opened again on the same data finds what
// was committed before, as a reopened database would.
struct MemoryStoreData;

std::shared_ptr<MemoryStoreData> NewMemoryStoreData();
std::unique_ptr<Store> OpenMemoryStore(std::shared_ptr<MemoryStoreData> data);

}  // namespace takt::store

#endif  // TAKT_ENGINE_STORE_MEMORY_STORE_H_
