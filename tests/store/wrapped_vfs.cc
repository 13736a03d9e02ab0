#include "store/wrapped_vfs.h"

#include <cstring>

namespace takt::test {
namespace {

int Close(sqlite3_file* f) { return RealFile(f)->pMethods->xClose(RealFile(f)); }
int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return RealFile(f)->pMethods->xRead(RealFile(f), buf, n, off);
}
int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  return RealFile(f)->pMethods->xWrite(RealFile(f), buf, n, off);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  return RealFile(f)->pMethods->xTruncate(RealFile(f), size);
}
int Sync(sqlite3_file* f, int flags) { return RealFile(f)->pMethods->xSync(RealFile(f), flags); }
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return RealFile(f)->pMethods->xFileSize(RealFile(f), size);
}
int Lock(sqlite3_file* f, int level) { return RealFile(f)->pMethods->xLock(RealFile(f), level); }
int Unlock(sqlite3_file* f, int level) {
  return RealFile(f)->pMethods->xUnlock(RealFile(f), level);
}
int CheckReservedLock(sqlite3_file* f, int* out) {
  return RealFile(f)->pMethods->xCheckReservedLock(RealFile(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return RealFile(f)->pMethods->xFileControl(RealFile(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return RealFile(f)->pMethods->xSectorSize(RealFile(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return RealFile(f)->pMethods->xDeviceCharacteristics(RealFile(f));
}
int ShmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return RealFile(f)->pMethods->xShmMap(RealFile(f), page, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return RealFile(f)->pMethods->xShmLock(RealFile(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { RealFile(f)->pMethods->xShmBarrier(RealFile(f)); }
int ShmUnmap(sqlite3_file* f, int del) {
  return RealFile(f)->pMethods->xShmUnmap(RealFile(f), del);
}
int Fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** out) {
  return RealFile(f)->pMethods->xFetch(RealFile(f), off, n, out);
}
int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) {
  return RealFile(f)->pMethods->xUnfetch(RealFile(f), off, p);
}

// The VFS's own calls go to the wrapped one, kept in pAppData.
sqlite3_vfs* Wrapped(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }
int Delete(sqlite3_vfs* vfs, const char* name, int sync) {
  return Wrapped(vfs)->xDelete(Wrapped(vfs), name, sync);
}
int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Wrapped(vfs)->xAccess(Wrapped(vfs), name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Wrapped(vfs)->xFullPathname(Wrapped(vfs), name, n, out);
}

}  // namespace

sqlite3_io_methods PassThroughMethods(int version) {
  sqlite3_io_methods m = {
      version,  Close,       Read,     Write,       Truncate,         Sync,
      FileSize, Lock,        Unlock,   CheckReservedLock, FileControl, SectorSize,
      DeviceCharacteristics, ShmMap,   ShmLock,     ShmBarrier,       ShmUnmap,
      Fetch,    Unfetch,
  };
  if (version < 3) {
    m.xFetch = nullptr;
    m.xUnfetch = nullptr;
  }
  return m;
}

sqlite3_vfs* RegisterWrappingVfs(sqlite3_vfs& vfs, const char* name, size_t own_size,
                                 OpenFunction open) {
  sqlite3_vfs* wrapped = sqlite3_vfs_find(nullptr);
  vfs = *wrapped;  // everything not about files is the wrapped VFS's
  vfs.zName = name;
  vfs.szOsFile = static_cast<int>(own_size) + wrapped->szOsFile;
  vfs.pAppData = wrapped;
  vfs.xOpen = open;
  vfs.xDelete = Delete;
  vfs.xAccess = Access;
  vfs.xFullPathname = FullPathname;
  vfs.pNext = nullptr;
  sqlite3_vfs_register(&vfs, /*makeDflt=*/1);
  return wrapped;
}

int OpenWrapped(sqlite3_vfs* wrapped, const char* name, sqlite3_file* f, size_t own_size,
                int flags, int* out_flags, const sqlite3_io_methods* methods) {
  auto* file = reinterpret_cast<WrappedFile*>(f);
  file->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + own_size);
  std::memset(file->real, 0, static_cast<size_t>(wrapped->szOsFile));
  const int rc = wrapped->xOpen(wrapped, name, file->real, flags, out_flags);
  file->base.pMethods = file->real->pMethods != nullptr ? methods : nullptr;
  return rc;
}

}  // namespace takt::test
