// Group commit for many submitting threads, one writer. Each submission waits in a queue; the
// first thread to find no group being applied becomes the leader: it takes submissions
// waiting, applies them as one unit on behalf of all (one transaction with a store), and wakes
// their threads, which return with their own results. While it works, new submissions gather
// for the next leader, so the busier the engine, the larger the batches and the fewer the
// commits; an idle engine commits each submission at once.
//
// Which submissions a group takes: the small ones first (a single event, a few readings),
// wherever they wait, then the others in arrival order while their events stay within a
// share. When a batch is the oldest waiting and small ones wait behind it, the small ones go
// ahead in a group of their own, and the batch leads the group after. So a source that sends
// one event now and then waits for at most the group being applied, not for another's flood of
// batches besides, and a group of batches, which it may have to wait for, stays short.
// Submissions of different threads have no order among them (one thread's are applied in its
// order: it waits for each), so taking small ones first breaks no promise; and since only one
// group in two goes ahead, a batch waits at most one such group.
//
// A leader gives up its role as soon as its group is applied, before the group's commit is on
// disk: it waits for that (Handlers::await_durable) while the next leader applies the next
// group, so one sync of the disk can cover several groups. Groups are then handed back
// (Handlers::deliver) in the order they were applied.
#ifndef TAKT_ENGINE_COMMIT_QUEUE_H_
#define TAKT_ENGINE_COMMIT_QUEUE_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
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
    std::condition_variable* wake = nullptr;  // its thread's, set by Run()
  };
  struct Handlers {
    // As the leader: applies the group in order, setting each submission's status and results;
    // returns the ticket of its commit for await_durable (0: nothing to wait for).
    std::function<uint64_t(const std::vector<Submission*>& group)> apply;
    // No longer the leader, in any order: returns once the commit of `ticket` is on disk.
    std::function<Status(uint64_t ticket)> await_durable;
    // In the order the groups were applied, one at a time: after a failed await_durable the
    // submissions' status is its error.
    std::function<void(const std::vector<Submission*>& group)> deliver;
  };

  // A group takes submissions until it holds `max_group_events` events, of which at most
  // kLargeShare from submissions larger than kSmallSubmission (a submission larger than either
  // makes a group of its own).
  explicit CommitQueue(size_t max_group_events) : max_group_events_(max_group_events) {}
  CommitQueue(const CommitQueue&) = delete;
  CommitQueue& operator=(const CommitQueue&) = delete;

  // Returns once `mine` has been applied and delivered, by this thread or by another's.
  void Run(Submission& mine, const Handlers& handlers);

  // At most this many events: a small submission, taken first.
  static constexpr size_t kSmallSubmission = 16;
  // The events of larger submissions a group takes: about a millisecond of applying, the
  // longest a small submission arriving during a group then waits for it to end.
  static constexpr size_t kLargeShare = 128;

 private:
  // With mu_ held and a submission waiting: the one whose thread leads the next group. The
  // oldest waiting, unless it is larger than kSmallSubmission, a small one waits, and the last
  // group was not small ones gone ahead: then the oldest small one.
  Submission* NextLeader() const;
  // As the leader (`mine` from NextLeader()), with mu_ held: takes the next group out of
  // waiting_, `mine` in it.
  std::vector<Submission*> TakeGroup(const Submission& mine);

  // Groups applied and not yet delivered: one whose sync runs, and the next, whose sync will
  // cover whatever is committed before it starts. A third group would add a commit (about
  // 0.15 ms of CPU) but not an earlier sync; waiting instead, it grows and commits once.
  static constexpr uint64_t kMaxGroupsInFlight = 2;
  const size_t max_group_events_;
  std::mutex mu_;
  // Each thread is woken on its own: to lead when its submission is NextLeader() and no group
  // is being applied, and when its submission is done. (Waking every waiting thread at
  // each step let the first to run lead; with 32 threads on 2 cores the futex calls and
  // context switches of the herd took over a third of the time at 10,000 events/s.)
  std::condition_variable turn_;  // the next group in order may be delivered
  std::deque<Submission*> waiting_;
  bool leading_ = false;  // a leader is applying a group
  bool small_went_ahead_ = false;  // the last group: small ones that went ahead of a batch
  uint64_t groups_applied_ = 0;    // numbers the groups in the order they were applied
  uint64_t groups_delivered_ = 0;  // the next group to deliver is this one
};

}  // namespace takt

#endif  // TAKT_ENGINE_COMMIT_QUEUE_H_
