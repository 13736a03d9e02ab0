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

#include "store/wrapped_vfs.h"

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
int64_t wal_syncs = 0;     // syncs of a WAL file so far, SQLite's and takt's own

bool IsWal(const std::string& name) {
  return name.size() > 4 && name.compare(name.size() - 4, 4, "-wal") == 0;
}

// What a sync of `name` does: the disk holds what the file had.
void SyncedLocked(const std::string& name) {
  unsynced.erase(name);
  if (IsWal(name)) ++wal_syncs;
}
bool dead = false;
PowerLoss how = PowerLoss::kDropUnsynced;
std::mt19937_64 random_bytes;
sqlite3_vfs* real_vfs = nullptr;
sqlite3_vfs power_loss_vfs;

struct PowerFile {
  WrappedFile wrapped;
  std::string* name;  // the file's real path; null: a temporary file
};

const std::string* NameOf(sqlite3_file* f) { return reinterpret_cast<PowerFile*>(f)->name; }

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
  RealFile(f)->pMethods->xFileSize(RealFile(f), &size);
  Unsynced change;
  change.offset = offset;
  change.length = length;
  change.size_before = size;
  if (offset < size) {
    change.before.resize(static_cast<size_t>(std::min<int64_t>(end, size) - offset));
    RealFile(f)->pMethods->xRead(RealFile(f), change.before.data(),
                                 static_cast<int>(change.before.size()), offset);
  }
  unsynced[*NameOf(f)].push_back(std::move(change));
}

int Close(sqlite3_file* f) {
  delete reinterpret_cast<PowerFile*>(f)->name;
  return RealFile(f)->pMethods->xClose(RealFile(f));
}
int Write(sqlite3_file* f, const void* buf, int n, sqlite3_int64 off) {
  std::lock_guard<std::mutex> lock(mu);
  if (PowerGoesNow()) return SQLITE_IOERR_WRITE;
  Remember(f, off, n, off + n);
  return RealFile(f)->pMethods->xWrite(RealFile(f), buf, n, off);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  std::lock_guard<std::mutex> lock(mu);
  if (PowerGoesNow()) return SQLITE_IOERR_TRUNCATE;
  sqlite3_int64 now = 0;
  RealFile(f)->pMethods->xFileSize(RealFile(f), &now);
  Remember(f, size, 0, now);
  return RealFile(f)->pMethods->xTruncate(RealFile(f), size);
}
// A sync is only noted, not made: what the disk holds after a power loss is what this file
// computes from the changes it remembers, and the real file in the page cache is not touched by
// a sync. Skipping the real one lets a test lose power thousands of times in a minute.
int Sync(sqlite3_file* f, int /*flags*/) {
  std::lock_guard<std::mutex> lock(mu);
  if (PowerGoesNow()) return SQLITE_IOERR_FSYNC;
  if (NameOf(f) != nullptr) SyncedLocked(*NameOf(f));
  return SQLITE_OK;
}

// Version 2: no memory-mapped I/O (xFetch), so that every change of a file goes through Write.
const sqlite3_io_methods kMethods = [] {
  sqlite3_io_methods m = PassThroughMethods(2);
  m.xClose = Close;
  m.xWrite = Write;
  m.xTruncate = Truncate;
  m.xSync = Sync;
  return m;
}();

int Open(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  auto* file = reinterpret_cast<PowerFile*>(f);
  file->name = nullptr;
  const int rc = OpenWrapped(real_vfs, name, f, sizeof(PowerFile), flags, out_flags, &kMethods);
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

}  // namespace

void InstallPowerLossVfs() {
  std::lock_guard<std::mutex> lock(mu);
  if (real_vfs != nullptr) return;
  real_vfs = RegisterWrappingVfs(power_loss_vfs, "takt-power-loss", sizeof(PowerFile), Open);
  power_loss_vfs.xDelete = Delete;  // forgets what the file had unsynced
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

int64_t WalSyncs() {
  std::lock_guard<std::mutex> lock(mu);
  return wal_syncs;
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
  if (real_vfs == nullptr) return RealFdatasync(fd);
  char path[PATH_MAX];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(link.c_str(), path, sizeof path - 1);
  std::lock_guard<std::mutex> lock(mu);
  if (PowerGoesNow()) {
    errno = EIO;
    return -1;
  }
  if (n > 0) SyncedLocked(std::string(path, static_cast<size_t>(n)));
  return 0;  // noted, not made, as in Sync
}
