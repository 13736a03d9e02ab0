// Watches a rules directory (inotify) and calls back when its files change, once things have
// settled, from a thread of its own. What to do about the change is the caller's business.
#ifndef TAKT_ENGINE_RULES_RELOADER_H_
#define TAKT_ENGINE_RULES_RELOADER_H_

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "takt/status.h"

namespace takt::rules {

class RuleWatcher {
 public:
  // Starts watching `dir` and its tests/ directory. `on_change` runs on the watcher's thread,
  // at most once per burst of changes (a burst ends after 100 ms without a change).
  static Result<std::unique_ptr<RuleWatcher>> Start(const std::string& dir,
                                                    std::function<void()> on_change);
  ~RuleWatcher();  // stops the thread
  RuleWatcher(const RuleWatcher&) = delete;
  RuleWatcher& operator=(const RuleWatcher&) = delete;

 private:
  RuleWatcher(int fd, std::function<void()> on_change);
  void Run();

  int fd_;
  std::function<void()> on_change_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace takt::rules

#endif  // TAKT_ENGINE_RULES_RELOADER_H_
