#include "store/power_loss_vfs.h"

#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include <cstring>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <vector>

namespace takt::test {
namespace {

// What a file held before one write or truncation that was not synced yet.
struct Unsynced {
  int64_t offset = 0;
  int64_t length = 0;    // bytes written there (0 for a truncation)
  std::string before;    // the bytes at [offset, offset + before.size()) before it
  int64_t size_before = 0;
};

std::mutex mu;  // every write, sync and truncation goes through it, and the power loss
std::map<std::string, std::vector<Unsynced>> unsynced;  // by file name
int64_t countdown = -1;  // -1: not armed
int64_t file_changes = 0;  // writes, syncs and truncations so far
bool dead = false;
PowerLoss how = PowerLoss::kDropUnsynced;
std::mt19937_64 random_bytes;
sqlite3_vfs* real_vfs = nullptr;
sqlite3_vfs power_loss_vfs;

struct PowerFile {
  sqlite3_file base;
  std::string* name;   // the file's real path; null: a temporary file
  sqlite3_file* real;  // follows this struct in the same allocation
};

sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<PowerFile*>(f)->real; }
const std::string* NameOf(sqlite3_file* f) { return reinterpret_cast<PowerFile*>(f)->name; }

// On a thread inside a sync SQLite asked for: the fdatasync it makes is that sync.
thread_local bool in_vfs_sync = false;

int RealFdatasync(int fd) { return static_cast<int>(::syscall(SYS_fdatasync, fd)); }

// What the disk holds after the power went, file by file: each unsynced change undone, newest
// first, or its bytes replaced by random ones. Written with POSIX calls on the path, since the
// connections that wrote may be closed.
void LosePowerLocked() {
  dead = true;
  for (auto& [name, changes] : unsynced) {
    const int fd = ::open(name.c_str(), O_RDWR);
    if (fd < 0) continue;
    for (auto it = changes.rbegin(); it != changes.rend(); ++it) {
      if (how == PowerLoss::kDropUnsynced) {
        (void)!::pwrite(fd, it->before.data(), it->before.size(), it->offset);
        (void)!::ftruncate(fd, it->size_before);
      } else if (it->length > 0) {
        std::string garbage(static_cast<size_t>(it->length), '\0');
        for (char& c : garbage) c = static_cast<char>(random_bytes());
        (void)!::pwrite(fd, garbage.data(), garbage.size(), it->offset);
      }
    }
    ::close(fd);
  }
  unsynced.clear();
}

// Counts one write, sync or truncation: true when the power goes at it (or went before).
bool PowerGoesNow() {
  ++file_changes;
  if (dead) return true;
  if (countdown < 0) return false;
  if (countdown-- > 0) return false;
  LosePowerLocked();
  return true;
}

// Remembers what [offset, end) of `f` holds before a write of `length` bytes at `offset`, or a
// truncation to `offset` (length 0) from a size of `end`.
void Remember(sqlite3_file* f, int64_t offset, int64_t length, int64_t end) {
  if (NameOf(f) == nullptr) return;
  sqlite3_int64 size = 0;
  Real(f)->pMethods->xFileSize(Real(f), &size);
  Unsynced change;
  change.offset = offset;
  change.length = length;
  change.size_before = size;
  if (offset < size) {
    change.before.resize(static_cast<size_t>(std::min<int64_t>(end, size) - offset));
    Real(f)->pMethods->xRead(Real(f), change.before.data(), static_cast<int>(change.before.size()),
                             offset);
  }
  unsynced[*NameOf(f)].push_back(std::move(change));
}

int Close(sqlite3_file* f) {
  delete reinterpret_cast<PowerFile*>(f)->name;
  return Real(f)->pMethods->xClose(Real(f));
}
int Read(sqlite3_file* f, void* buf, int n, sqlite3_int64 off) {
  return Real(f)->pMethods->xRead(Real(f), buf, n, off);
}
int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  std::lock_guard<std::mutex> lock(mu);
  if (PowerGoesNow()) return SQLITE_IOERR_WRITE;
  Remember(f, off, n, off + n);
  return Real(f)->pMethods->xWrite(Real(f), buf, n, off);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  std::lock_guard<std::mutex> lock(mu);
  if (PowerGoesNow()) return SQLITE_IOERR_TRUNCATE;
  sqlite3_int64 now = 0;
  Real(f)->pMethods->xFileSize(Real(f), &now);
  Remember(f, size, 0, now);
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  std::lock_guard<std::mutex> lock(mu);
  if (PowerGoesNow()) return SQLITE_IOERR_FSYNC;
  in_vfs_sync = true;
  const int rc = Real(f)->pMethods->xSync(Real(f), flags);
  in_vfs_sync = false;
  if (rc == SQLITE_OK && NameOf(f) != nullptr) unsynced.erase(*NameOf(f));
  return rc;
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int Lock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int Unlock(sqlite3_file* f, int level) { return Real(f)->pMethods->xUnlock(Real(f), level); }
int CheckReservedLock(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int FileControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int SectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
int DeviceCharacteristics(sqlite3_file* f) {
  return Real(f)->pMethods->xDeviceCharacteristics(Real(f));
}
int ShmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  return Real(f)->pMethods->xShmMap(Real(f), page, size, extend, out);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { Real(f)->pMethods->xShmBarrier(Real(f)); }
int ShmUnmap(sqlite3_file* f, int del) { return Real(f)->pMethods->xShmUnmap(Real(f), del); }

// Version 2: no memory-mapped I/O (xFetch), so that every change of a file goes through Write.
const sqlite3_io_methods kMethods = {
    2,        Close,       Read,     Write,       Truncate,         Sync,
    FileSize, Lock,        Unlock,   CheckReservedLock, FileControl, SectorSize,
    DeviceCharacteristics, ShmMap,   ShmLock,     ShmBarrier,       ShmUnmap,
    nullptr,  nullptr,
};

int Open(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  auto* file = reinterpret_cast<PowerFile*>(f);
  file->name = nullptr;
  file->real = reinterpret_cast<sqlite3_file*>(file + 1);
  std::memset(file->real, 0, static_cast<size_t>(real_vfs->szOsFile));
  const int rc = real_vfs->xOpen(real_vfs, name, file->real, flags, out_flags);
  file->base.pMethods = file->real->pMethods != nullptr ? &kMethods : nullptr;
  char path[PATH_MAX];
  if (rc == SQLITE_OK && name != nullptr && ::realpath(name, path) != nullptr) {
    file->name = new std::string(path);
  }
  return rc;
}

int Delete(sqlite3_vfs*, const char* name, int sync) {
  std::lock_guard<std::mutex> lock(mu);
  if (dead) return SQLITE_IOERR_DELETE;
  char path[PATH_MAX];
  if (::realpath(name, path) != nullptr) unsynced.erase(path);
  return real_vfs->xDelete(real_vfs, name, sync);
}
int Access(sqlite3_vfs*, const char* name, int flags, int* out) {
  return real_vfs->xAccess(real_vfs, name, flags, out);
}
int FullPathname(sqlite3_vfs*, const char* name, int n, char* out) {
  return real_vfs->xFullPathname(real_vfs, name, n, out);
}

}  // namespace

void InstallPowerLossVfs() {
  std::lock_guard<std::mutex> lock(mu);
  if (real_vfs != nullptr) return;
  real_vfs = sqlite3_vfs_find(nullptr);
  power_loss_vfs = *real_vfs;  // everything not about files is the platform's
  power_loss_vfs.zName = "takt-power-loss";
  power_loss_vfs.szOsFile = static_cast<int>(sizeof(PowerFile)) + real_vfs->szOsFile;
  power_loss_vfs.xOpen = Open;
  power_loss_vfs.xDelete = Delete;
  power_loss_vfs.xAccess = Access;
  power_loss_vfs.xFullPathname = FullPathname;
  power_loss_vfs.pNext = nullptr;
  sqlite3_vfs_register(&power_loss_vfs, /*makeDflt=*/1);
}

void LosePowerAfter(int64_t n, PowerLoss loss, uint64_t seed) {
  std::lock_guard<std::mutex> lock(mu);
  countdown = n;
  how = loss;
  random_bytes.seed(seed);
}

bool PowerWasLost() {
  std::lock_guard<std::mutex> lock(mu);
  return dead;
}

int64_t FileChanges() {
  std::lock_guard<std::mutex> lock(mu);
  return file_changes;
}

void RestorePower() {
  std::lock_guard<std::mutex> lock(mu);
  dead = false;
  countdown = -1;
  unsynced.clear();
}

}  // namespace takt::test

// takt syncs the WAL itself, with fdatasync on a descriptor of its own (engine/store/
// wal_sync.h), not through SQLite: this definition, which the test program's calls and
// SQLite's reach before the C library's, counts such a sync as one of the VFS's, by the path
// the descriptor has.
extern "C" int fdatasync(int fd) {
  using namespace takt::test;
  if (in_vfs_sync || real_vfs == nullptr) return RealFdatasync(fd);
  char path[PATH_MAX];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(link.c_str(), path, sizeof path - 1);
  std::lock_guard<std::mutex> lock(mu);
  if (PowerGoesNow()) {
    errno = EIO;
    return -1;
  }
  const int rc = RealFdatasync(fd);
  if (rc == 0 && n > 0) unsynced.erase(std::string(path, static_cast<size_t>(n)));
  return rc;
}
