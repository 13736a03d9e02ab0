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

void CommitQueue::Run(Submission& mine, const Handlers& handlers) {
  thread_local std::condition_variable wake;
  std::unique_lock<std::mutex> lock(mu_);
  mine.wake = &wake;
  waiting_.push_back(&mine);
  // Leads when its submission is the oldest waiting, no group is being applied and fewer than
  // kMaxGroupsInFlight are waiting for their sync; otherwise its submission joins a group that
  // another thread leads.
  while (leading_ || waiting_.empty() || waiting_.front() != &mine ||
         groups_applied_ - groups_delivered_ >= kMaxGroupsInFlight) {
    if (mine.done) return;
    wake.wait(lock);
  }
  leading_ = true;
  std::vector<Submission*> group;
  size_t events = 0;
  while (!waiting_.empty()) {
    const size_t next = waiting_.front()->events->size();
    if (!group.empty() && events + next > max_group_events_) break;
    events += next;
    group.push_back(waiting_.front());
    waiting_.pop_front();
  }
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
  if (!waiting_.empty()) waiting_.front()->wake->notify_one();
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
  if (!leading_ && !waiting_.empty()) waiting_.front()->wake->notify_one();  // may lead now
  for (Submission* s : group) {
    s->done = true;
    s->wake->notify_one();
  }
}

}  // namespace takt
