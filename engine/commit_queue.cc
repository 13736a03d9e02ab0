#include "engine/commit_queue.h"

#include <exception>

namespace takt {

void CommitQueue::Run(Submission& mine, const ApplyGroup& apply) {
  std::unique_lock<std::mutex> lock(mu_);
  waiting_.push_back(&mine);
  while (!mine.done) {
    if (leading_) {
      applied_.wait(lock);
      continue;
    }
    // Lead: take the oldest submissions (perhaps not this thread's own, when more are waiting
    // than one group holds: then it leads again, in turn).
    leading_ = true;
    group_.clear();
    size_t events = 0;
    while (!waiting_.empty()) {
      const size_t next = waiting_.front()->events->size();
      if (!group_.empty() && events + next > max_group_events_) break;
      events += next;
      group_.push_back(waiting_.front());
      waiting_.pop_front();
    }
    lock.unlock();
    try {
      apply(group_);
    } catch (const std::exception& e) {
      // Not expected (the engine reports failures as Status), but a leader that threw would
      // leave every other submitter waiting for ever.
      for (Submission* s : group_) s->status = Status::IoError(std::string("engine failure: ") + e.what());
    }
    lock.lock();
    for (Submission* s : group_) s->done = true;
    leading_ = false;
    applied_.notify_all();
  }
}

}  // namespace takt
