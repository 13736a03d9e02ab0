#include "engine/store/wal_sync.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace takt::store {

WalSync::WalSync(std::string wal_path) : wal_path_(std::move(wal_path)) {}

WalSync::~WalSync() {
  if (fd_ >= 0) ::close(fd_);
}

uint64_t WalSync::Ticket() {
  std::lock_guard<std::mutex> lock(mu_);
  return ++tickets_;
}

Status WalSync::WaitDurable(uint64_t ticket) {
  std::unique_lock<std::mutex> lock(mu_);
  while (failed_.ok() && durable_ < ticket) {
    if (syncing_) {
      synced_cv_.wait(lock);
      continue;
    }
    // Sync on behalf of every commit written so far, this one among them.
    syncing_ = true;
    const uint64_t target = tickets_;
    lock.unlock();
    Status status;
    if (fd_ < 0) fd_ = ::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);  // only the syncer
    if (fd_ < 0 || ::fdatasync(fd_) != 0) {
      status = Status::IoError("syncing " + wal_path_ + ": " + std::strerror(errno));
    }
    lock.lock();
    syncing_ = false;
    if (status.ok()) {
      durable_ = std::max(durable_, target);
      ++syncs_;
    } else {
      failed_ = status;
    }
    synced_cv_.notify_all();
  }
  return durable_ >= ticket ? Status() : failed_;
}

Status WalSync::failure() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

void WalSync::AllDurable() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!failed_.ok()) return;
  durable_ = tickets_;
  synced_cv_.notify_all();
}

uint64_t WalSync::syncs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return syncs_;
}

}  // namespace takt::store
