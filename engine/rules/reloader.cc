// inotify on the rules directory: writes closed, files moved in or out, created or deleted. An
// editor that saves through a temporary file and a rename shows up as a move.
#include "engine/rules/reloader.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace takt::rules {
namespace {

constexpr uint32_t kMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE;
constexpr int kSettleMs = 100;

}  // namespace

Result<std::unique_ptr<RuleWatcher>> RuleWatcher::Start(const std::string& dir,
                                                        std::function<void()> on_change) {
  const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Status::IoError(std::string("inotify_init1: ") + std::strerror(errno));
  if (inotify_add_watch(fd, dir.c_str(), kMask) < 0) {
    const std::string error = std::strerror(errno);
    close(fd);
    return Status::IoError("cannot watch " + dir + ": " + error);
  }
  const std::string tests = dir + "/tests";
  std::error_code ec;
  if (std::filesystem::is_directory(tests, ec)) inotify_add_watch(fd, tests.c_str(), kMask);
  return std::unique_ptr<RuleWatcher>(new RuleWatcher(fd, std::move(on_change)));
}

RuleWatcher::RuleWatcher(int fd, std::function<void()> on_change)
    : fd_(fd), on_change_(std::move(on_change)), thread_([this] { Run(); }) {}

RuleWatcher::~RuleWatcher() {
  stop_ = true;
  thread_.join();
  close(fd_);
}

void RuleWatcher::Run() {
  alignas(inotify_event) char buffer[8192];
  bool changed = false;
  while (!stop_) {
    pollfd p{fd_, POLLIN, 0};
    // Wake up now and then to notice stop_; after a change, wait for the burst to settle.
    const int ready = poll(&p, 1, changed ? kSettleMs : 200);
    if (ready > 0) {
      while (read(fd_, buffer, sizeof buffer) > 0) {
      }
      changed = true;
      continue;
    }
    if (ready == 0 && changed) {
      changed = false;
      on_change_();
    }
  }
}

}  // namespace takt::rules
