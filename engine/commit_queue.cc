#include "engine/commit_queue.h"

#include <exception>
#include <string>

namespace takt {
namespace {

// Not expected (the engine reports failures as Status), but a thread that threw would leave
// every other submitter waiting for ever.
Status Failure(const std::exception& e) {
  return Status::IoError(std::string("engine failure: ") + e.what());
}

}  // namespace

CommitQueue::Submission* CommitQueue::NextLeader() const {
  Submission* oldest = waiting_.front();
  if (small_went_ahead_ || oldest->events->size() <= kSmallSubmission) return oldest;
  for (Submission* s : waiting_) {  // one that fits a group, so that TakeGroup takes it
    const size_t n = s->events->size();
    if (n <= kSmallSubmission && n <= max_group_events_) return s;
  }
  return oldest;
}

std::vector<CommitQueue::Submission*> CommitQueue::TakeGroup(const Submission& mine) {
  small_went_ahead_ = &mine != waiting_.front();
  std::vector<Submission*> group;
  size_t events = 0;
  bool mine_taken = false;
  auto take = [&](std::deque<Submission*>::iterator it) {
    events += (*it)->events->size();
    mine_taken |= *it == &mine;
    group.push_back(*it);
    return waiting_.erase(it);
  };
  // Small submissions first, wherever they wait.
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    const size_t n = (*it)->events->size();
    it = n <= kSmallSubmission && events + n <= max_group_events_ ? take(it) : std::next(it);
  }
  if (small_went_ahead_) return group;  // `mine` is small: taken
  // The leader's own, always: the oldest, so the front if still waiting (alone if larger than
  // the share).
  size_t large = 0;
  if (!mine_taken) {
    const size_t n = waiting_.front()->events->size();
    if (n > kSmallSubmission) large += n;
    take(waiting_.begin());
  }
  // Then the others in arrival order, while their events stay within kLargeShare. A small one
  // left here did not fit above, and waits for the next group.
  for (auto it = waiting_.begin(); it != waiting_.end();) {
    const size_t n = (*it)->events->size();
    if (n <= kSmallSubmission) {
      ++it;
      continue;
    }
    if (large + n > kLargeShare || events + n > max_group_events_) break;
    large += n;
    it = take(it);
  }
  return group;
}

void CommitQueue::Run(Submission& mine, const Handlers& handlers) {
  thread_local std::condition_variable wake;
  std::unique_lock<std::mutex> lock(mu_);
  mine.wake = &wake;
  waiting_.push_back(&mine);
  // Leads when its submission is the next leader's, no group is being applied and fewer than
  // kMaxGroupsInFlight are waiting for their sync; otherwise its submission joins a group that
  // another thread leads.
  while (leading_ || waiting_.empty() || NextLeader() != &mine ||
         groups_applied_ - groups_delivered_ >= kMaxGroupsInFlight) {
    if (mine.done) return;
    wake.wait(lock);
  }
  leading_ = true;
  std::vector<Submission*> group = TakeGroup(mine);
  const uint64_t number = groups_applied_++;
  lock.unlock();
  uint64_t ticket = 0;
  try {
    ticket = handlers.apply(group);
  } catch (const std::exception& e) {
    for (Submission* s : group) s->status = Failure(e);
  }
  lock.lock();
  leading_ = false;
  // The next group is applied while this one's commit syncs.
  if (!waiting_.empty()) NextLeader()->wake->notify_one();
  lock.unlock();
  Status durable;
  try {
    durable = handlers.await_durable(ticket);
  } catch (const std::exception& e) {
    durable = Failure(e);
  }
  for (Submission* s : group) {
    if (!durable.ok() && s->status.ok()) s->status = durable;
  }
  lock.lock();
  turn_.wait(lock, [&] { return groups_delivered_ == number; });
  lock.unlock();
  try {
    handlers.deliver(group);
  } catch (const std::exception& e) {
    for (Submission* s : group) s->status = Failure(e);
  }
  lock.lock();
  ++groups_delivered_;
  turn_.notify_all();
  if (!leading_ && !waiting_.empty()) NextLeader()->wake->notify_one();  // may lead now
  for (Submission* s : group) {
    s->done = true;
    s->wake->notify_one();
  }
}

}  // namespace takt
