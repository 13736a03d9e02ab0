#include "engine/store/checkpointer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include <sqlite3.h>

namespace takt::store {
namespace {

// Writes the dirty pages of the file `fd` to disk a slice at a time, each written before the
// next is started. A sync of the whole file would hand the disk megabytes at once, and the
// writer's sync of a few WAL frames, queued behind them, would wait until they are written;
// between slices it waits behind one slice at most.
void WriteBackInSlices(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return;
  const off_t slice = WriteBackSliceBytes(st.st_size);
  for (off_t at = 0; at < st.st_size; at += slice) {
    ::sync_file_range(fd, at, slice,
                      SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
                          SYNC_FILE_RANGE_WAIT_AFTER);
  }
}

}  // namespace

// Smaller slices did better than 256 KiB under paced commits (docs/performance.md), but the
// calls walk the whole file, not only what the copy wrote: a database of 8 GB would take
// 131,072 calls of 64 KiB a copy.
int64_t WriteBackSliceBytes(int64_t file_bytes) {
  constexpr int64_t kSmallestSlice = 64 << 10;
  constexpr int64_t kMostSlices = 4096;
  constexpr int64_t kPage = 4096;
  const int64_t share = (file_bytes + kMostSlices - 1) / kMostSlices;
  const int64_t share_in_pages = (share + kPage - 1) / kPage * kPage;
  return std::max(kSmallestSlice, share_in_pages);
}

Result<std::unique_ptr<Checkpointer>> Checkpointer::Start(const std::string& path,
                                                          const char* synchronous,
                                                          Database& writer,
                                                          CheckpointPolicy policy) {
  Result<Database> connection = Database::Open(path, Database::Mode::kReadWrite);
  if (!connection.ok()) return connection.status();
  TAKT_RETURN_IF_ERROR(connection.value().Exec(std::string("PRAGMA synchronous = ") + synchronous +
                                               "; PRAGMA busy_timeout = 5000"));
  std::unique_ptr<Checkpointer> checkpointer(
      new Checkpointer(std::move(connection).value(), writer, policy));
  checkpointer->database_fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  // Replaces SQLite's automatic checkpoint, which is itself a WAL hook.
  sqlite3_wal_hook(writer.handle(), &Checkpointer::OnCommit, checkpointer.get());
  checkpointer->thread_ = std::thread([c = checkpointer.get()] { c->Run(); });
  return checkpointer;
}

Checkpointer::Checkpointer(Database connection, Database& writer, CheckpointPolicy policy)
    : connection_(std::move(connection)), writer_(writer), policy_(policy) {}

Checkpointer::~Checkpointer() {
  // Puts SQLite's automatic checkpoint back in place of the hook, at the same limit: commits
  // after this one copy the WAL back themselves.
  sqlite3_wal_autocheckpoint(writer_.handle(), static_cast<int>(policy_.start_frames));
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_one();
  thread_.join();
  if (database_fd_ >= 0) ::close(database_fd_);
}

int Checkpointer::OnCommit(void* self, sqlite3*, const char*, int frames) {
  auto* c = static_cast<Checkpointer*>(self);
  const int64_t before = c->wal_frames_.exchange(frames);
  const bool wake = frames >= c->policy_.start_frames && !c->finish_due_.load();
  std::lock_guard<std::mutex> lock(c->mu_);
  c->stats_.wal_max_frames = std::max<int64_t>(c->stats_.wal_max_frames, frames);
  if (frames < before) ++c->stats_.wal_restarts;
  if (wake && !c->woken_) {
    c->woken_ = true;
    c->wake_.notify_one();
  }
  return SQLITE_OK;
}

void Checkpointer::Run() {
  int64_t last_copied = -1;
  int64_t last_left = INT64_MAX;  // frames the previous copy left behind
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || woken_; });
    if (stopping_) return;
    woken_ = false;
    lock.unlock();
    int log = 0, copied = 0;
    // Errors are not fatal here: SQLITE_BUSY while a reader or another checkpoint holds the
    // frames, an I/O error that the writer's next commit will meet and report. Either way the
    // next commit over the limit wakes this thread again.
    const int rc = sqlite3_wal_checkpoint_v2(connection_.handle(), nullptr,
                                             SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
    const int64_t frames = wal_frames_.load();
    // A copy that leaves frames behind writes pages into the database file without syncing
    // it: SQLite syncs only the copy that reaches the WAL's end, which is most often the
    // writer's closing one. That sync would then carry every page copied here, megabytes,
    // while the writer's commits wait. Written back here, in slices, it is left only its own
    // few pages. A failure needs no handling: the kernel reports it to SQLite's own sync too,
    // whose checkpoint then fails and keeps the WAL.
    if (copied > 0 && database_fd_ >= 0) WriteBackInSlices(database_fd_);
    lock.lock();
    ++stats_.background_runs;
    const bool complete = rc == SQLITE_OK && log >= 0 && copied == log;
    const int64_t left = frames - log;  // appended by the writer during this copy
    if (complete && left <= 0 && !writing_.load()) {
      // Everything is copied and the writer is between transactions: its next one starts the
      // WAL from the beginning by itself.
      last_left = INT64_MAX;
    } else if (complete &&
               ((left <= policy_.finish_frames && (left <= 0 || 2 * left > last_left)) ||
                frames >= 2 * policy_.start_frames)) {
      // The writer is in a transaction, which it will commit on top of this copy, or copying
      // again would leave about as much as this copy did (the writer appends as fast as a copy
      // goes): the few frames left are the writer's to copy, after its next commit. When the
      // thread cannot keep up at all (a slow disk, a busy machine) and the WAL has grown to
      // twice its limit, the writer takes over whatever is left, so that the WAL stays bounded.
      copied_frames_.store(log);
      finish_due_.store(true);
      woken_ = false;
      last_left = INT64_MAX;
    } else if (copied > last_copied && frames >= policy_.start_frames) {
      last_left = complete ? left : INT64_MAX;
      woken_ = true;  // progress, and still behind: go on at once
    }
    last_copied = copied;
  }
}

void Checkpointer::Writing(bool writing) { writing_.store(writing); }

void Checkpointer::FinishIfDue() {
  // Four times the limit: the thread has not been scheduled for a while (a busy machine), and
  // the writer copies, as SQLite's own checkpoint would, rather than let the WAL grow on.
  if (!finish_due_.exchange(false) && wal_frames_.load() < 4 * policy_.start_frames) return;
  int log = 0, copied = 0;
  const int rc = sqlite3_wal_checkpoint_v2(writer_.handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                           &log, &copied);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.writer_runs;
    stats_.writer_max_frames =
        std::max<int64_t>(stats_.writer_max_frames, log - copied_frames_.load());
  }
  // The commit stands whatever happens here. SQLITE_BUSY: a reader still needs the frames;
  // an I/O error: the next commit meets it too. The next commit over the limit tries again.
  (void)rc;
}

CheckpointStats Checkpointer::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace takt::store
