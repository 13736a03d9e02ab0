// Copies the write-ahead log back into the database file on a thread of its own, so that a
// commit does not wait while megabytes of WAL are copied and synced.
//
// SQLite's own automatic checkpoint runs inside the COMMIT that takes the WAL over its limit:
// that one commit copies every page the WAL holds (40 MB at takt's limit) and syncs the file,
// and each event in it waits tens of milliseconds. Here the writer only counts the WAL's frames
// after each commit (SQLite's WAL hook, OnCommit()); past `start_frames` it wakes this thread,
// which copies on its own connection in PASSIVE mode, alongside the writer's next
// transactions. A passive copy cannot finish while the writer keeps appending, and SQLite
// starts the WAL over only when every frame has been copied. The thread copies again and again,
// each time what the writer appended during the copy before; when that stops shrinking and is
// at most `finish_frames`, the writer copies the rest itself after a commit (FinishIfDue()),
// and its next transaction starts the WAL from the beginning. When the writer pauses, the
// thread's copy is complete and the writer has nothing to copy; when the copy ends during a
// transaction, the writer copies that transaction's frames after it. When the thread cannot
// keep up and the WAL reaches twice `start_frames`, the writer copies what is left however much
// it is, and at four times the limit it copies whether or not the thread has come round to it:
// the WAL stays bounded. After each copy the thread writes the database file back a slice at a
// time (64 KiB, at most 4,096 slices a copy), so that the sync closing a checkpoint, the
// writer's most often, finds little left to write, and the writer's syncs of the WAL never
// queue behind megabytes.
#ifndef TAKT_ENGINE_STORE_CHECKPOINTER_H_
#define TAKT_ENGINE_STORE_CHECKPOINTER_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "engine/store/sqlite.h"

namespace takt::store {

struct CheckpointPolicy {
  int64_t start_frames = 10'000;  // WAL frames that wake the thread (40 MB of 4 KiB pages)
  int64_t finish_frames = 1'000;  // at most this many left (4 MB): the writer copies them
};

struct CheckpointStats {
  uint64_t background_runs = 0;    // passive copies by the thread
  uint64_t writer_runs = 0;        // copies the writer finished after a commit
  int64_t writer_max_frames = 0;   // the most frames one of those had to look at: what the
                                   // thread left, and the commit just made
  int64_t wal_max_frames = 0;      // the longest the WAL has been after a commit
  uint64_t wal_restarts = 0;       // times the WAL started over from its beginning
};

// How many bytes of the database file each writeback call after a copy covers, for a file of
// `file_bytes`: 64 KiB, more for a file past 256 MiB so that a copy makes at most 4,096 calls
// (each costs about a microsecond even where nothing is dirty).
int64_t WriteBackSliceBytes(int64_t file_bytes);

class Checkpointer {
 public:
  // Opens a second connection to the database at `path` (with the writer's `synchronous`
  // setting, which decides how a checkpoint syncs) and starts the thread. `writer` is the
  // connection that commits; the caller keeps it open for the checkpointer's lifetime.
  static Result<std::unique_ptr<Checkpointer>> Start(const std::string& path,
                                                     const char* synchronous, Database& writer,
                                                     CheckpointPolicy policy);
  // Stops the thread (a copy under way ends first) and puts SQLite's automatic checkpoint back
  // on the writer's connection, at `start_frames`.
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // On the writer's thread: true before it begins a transaction, false once it has committed
  // or rolled back. A copy that ends while the writer is in a transaction cannot let the WAL
  // start over (the transaction reads from the WAL and adds to it); the writer finishes it.
  void Writing(bool writing);
  // On the writer's thread, after each commit: copies the last few frames when the thread has
  // left only those (see above). A failure here is not the commit's, which stands; a later
  // commit tries again.
  void FinishIfDue();
  CheckpointStats stats() const;

 private:
  Checkpointer(Database connection, Database& writer, CheckpointPolicy policy);
  // SQLite's WAL hook on the writer's connection: `frames` is the WAL's length after a commit.
  static int OnCommit(void* self, struct sqlite3* db, const char* name, int frames);
  void Run();

  Database connection_;  // the thread's own
  int database_fd_ = -1;  // the database file, read-only, for the writeback after a copy
  Database& writer_;
  const CheckpointPolicy policy_;
  std::atomic<int64_t> wal_frames_{0};    // after the writer's last commit
  std::atomic<int64_t> copied_frames_{0}; // the WAL's frames up to which a copy has reached
  std::atomic<bool> finish_due_{false};   // the thread left the last few frames to the writer
  std::atomic<bool> writing_{false};      // the writer is in a transaction
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool woken_ = false;
  CheckpointStats stats_;  // guarded by mu_
  std::thread thread_;
};

}  // namespace takt::store

#endif  // TAKT_ENGINE_STORE_CHECKPOINTER_H_
