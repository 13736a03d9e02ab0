#include "store/fault_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cstring>

#include "store/wrapped_vfs.h"

namespace takt::test {
namespace {

std::atomic<int64_t> writes_left{-1};  // -1: no fault armed
std::atomic<int64_t> failed{0};
sqlite3_vfs* real_vfs = nullptr;
sqlite3_vfs fault_vfs;

// True when this write must fail.
bool Fail() {
  int64_t left = writes_left.load();
  if (left < 0) return false;
  if (left == 0) {
    ++failed;
    return true;
  }
  writes_left.store(left - 1);
  return false;
}

int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  if (Fail()) return SQLITE_IOERR_WRITE;
  return RealFile(f)->pMethods->xWrite(RealFile(f), buf, n, off);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (Fail()) return SQLITE_IOERR_TRUNCATE;
  return RealFile(f)->pMethods->xTruncate(RealFile(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  if (Fail()) return SQLITE_IOERR_FSYNC;
  return RealFile(f)->pMethods->xSync(RealFile(f), flags);
}

const sqlite3_io_methods kMethods = [] {
  sqlite3_io_methods m = PassThroughMethods(3);
  m.xWrite = Write;
  m.xTruncate = Truncate;
  m.xSync = Sync;
  return m;
}();

int Open(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  return OpenWrapped(real_vfs, name, f, sizeof(WrappedFile), flags, out_flags, &kMethods);
}

}  // namespace

void InstallFaultVfs() {
  if (real_vfs != nullptr) return;
  real_vfs = RegisterWrappingVfs(fault_vfs, "takt-fault", sizeof(WrappedFile), Open);
}

void FailWritesAfter(int64_t n) { writes_left.store(n); }

int64_t FailedWrites() { return failed.load(); }

}  // namespace takt::test
