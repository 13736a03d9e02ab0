// Durability::kFull without holding the writer during the sync. SQLite's FULL syncs the WAL
// inside COMMIT, so the engine could apply nothing else while the disk worked (about 0.5 ms a
// sync here, several ms in its tail). Instead the connection commits as NORMAL (the WAL frames
// are written, not synced) and the committing thread then calls WaitDurable() outside the
// engine's lock: one fdatasync of the WAL file covers every commit written before it began, so
// while one sync runs the next group is applied and committed, and its sync follows. A
// submission still returns only once its commit is on disk, as with SQLite's FULL.
//
// Why this keeps SQLite's guarantees: a WAL transaction is durable once its frames, the commit
// frame last, are on disk; recovery keeps every commit whose frames' checksums chain up to it.
// Checkpoints (NORMAL or FULL alike) sync the WAL before copying it back and sync the database
// file after, and the WAL header is synced when the WAL starts over, so a commit never reaches
// the database file before its frames are on disk.
#ifndef TAKT_ENGINE_STORE_WAL_SYNC_H_
#define TAKT_ENGINE_STORE_WAL_SYNC_H_

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>

#include "takt/status.h"

namespace takt::store {

class WalSync {
 public:
  // `wal_path`: the database's "-wal" file, opened at the first sync (SQLite creates it).
  explicit WalSync(std::string wal_path);
  ~WalSync();
  WalSync(const WalSync&) = delete;
  WalSync& operator=(const WalSync&) = delete;

  // On the writer's thread, after a commit: a ticket for WaitDurable() that stands for every
  // commit written before this call.
  uint64_t Ticket();
  // Returns once the commit of `ticket` (and every earlier one) is on disk: syncs the WAL, or
  // waits for a sync under way and then syncs again if that one began before the commit. Any
  // thread, no lock held. A failed sync fails this call and every later one: the kernel may
  // have dropped the pages it could not write, so no later sync could vouch for them.
  Status WaitDurable(uint64_t ticket);
  // Everything committed is on disk by other means (a checkpoint that folded the WAL into a
  // synced database file, as at close). Ignored after a failed sync, which stays failed.
  void AllDurable();
  // The failed sync's error, or ok.
  Status failure() const;
  uint64_t syncs() const;

 private:
  const std::string wal_path_;
  int fd_ = -1;  // the WAL file, read-only: fdatasync() needs no write access
  mutable std::mutex mu_;
  std::condition_variable synced_cv_;
  uint64_t tickets_ = 0;  // handed out
  uint64_t durable_ = 0;  // tickets whose commit is on disk
  bool syncing_ = false;
  uint64_t syncs_ = 0;
  Status failed_;
};

}  // namespace takt::store

#endif  // TAKT_ENGINE_STORE_WAL_SYNC_H_
