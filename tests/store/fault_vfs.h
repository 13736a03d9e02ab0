// A SQLite VFS for tests that wraps the platform's and fails writes on demand, to check that
// an I/O error at any write of a commit never half-applies anything.
#ifndef TAKT_TESTS_STORE_FAULT_VFS_H_
#define TAKT_TESTS_STORE_FAULT_VFS_H_

#include <cstdint>

namespace takt::test {

// Registers the fault VFS as SQLite's default for this process (once; later calls do nothing).
void InstallFaultVfs();
// From now on, the write, sync or truncate after `n` more successful ones fails with an I/O
// error, and so do all after it until the next call; -1: none fails.
void FailWritesAfter(int64_t n);
// Writes, syncs and truncates that failed since the process started.
int64_t FailedWrites();

}  // namespace takt::test

#endif  // TAKT_TESTS_STORE_FAULT_VFS_H_
