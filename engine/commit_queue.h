// Group commit for many submitting threads, one writer. Each submission waits in a queue; the
// first thread to find no commit under way becomes the leader: it takes the submissions
// waiting, in arrival order, applies them as one unit on behalf of all (one transaction with a
// store), and wakes their threads, which return with their own results. While it works, new
// submissions gather for the next leader, so the busier the engine, the larger the batches and
// the fewer the commits; an idle engine commits each submission at once.
#ifndef TAKT_ENGINE_COMMIT_QUEUE_H_
#define TAKT_ENGINE_COMMIT_QUEUE_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string_view>
#include <vector>

#include "takt/engine.h"

namespace takt {

class CommitQueue {
 public:
  struct Submission {
    const std::vector<std::string_view>* events = nullptr;
    std::vector<SubmitResult>* results = nullptr;
    const InputCursor* cursor = nullptr;
    Status status;  // set by the leader for every submission of its group
    bool done = false;
  };
  // Applies a group in order, setting each submission's status and results.
  using ApplyGroup = std::function<void(const std::vector<Submission*>& group)>;

  // A group takes submissions until it holds `max_group_events` events (a larger submission
  // makes a group of its own).
  explicit CommitQueue(size_t max_group_events) : max_group_events_(max_group_events) {}
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;

  // Returns once `mine` has been applied, by this thread or by another's.
  void Run(Submission& mine, const ApplyGroup& apply);

 private:
  const size_t max_group_events_;
  std::mutex mu_;
  // Every waiting thread wakes when a group is applied, and whichever runs first leads next.
  // Waking only the next leader and the group's members was slower (5,856 against 10,385
  // events/s from 16 threads, FULL): the chosen leader waited to be scheduled while the disk
  // was idle.
  std::condition_variable applied_;
  std::deque<Submission*> waiting_;
  bool leading_ = false;  // a leader is applying a group
  std::vector<Submission*> group_;  // the leader's; only one leader at a time
};

}  // namespace takt

#endif  // TAKT_ENGINE_COMMIT_QUEUE_H_
