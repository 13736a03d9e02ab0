// The group commit queue: submissions that wait while a group is applied are applied together
// next, small ones first (ahead of batches, in a group of their own) and the others in arrival
// order, up to the group's limits, and each submitter gets its own status back. A group
// waiting for its sync does not hold up the next one's apply, and groups are delivered in the
// order they were applied.
#include "engine/commit_queue.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace takt {
namespace {

using Submission = CommitQueue::Submission;
using Events = std::vector<std::string_view>;

struct Applied {
  std::vector<Events> groups;  // the events of each group applied, in order
  std::vector<Status> statuses;  // of the later submissions, in arrival order
};

// Submits {"first"} and, while its commit is held up, `later` one after the other from threads
// of their own; each submission's status names its first event.
Applied WhileACommitIsSlow(size_t max_group_events, std::vector<Events> later) {
  CommitQueue queue(max_group_events);
  std::mutex mu;
  std::condition_variable cv;
  bool release_first = false;
  Applied run;
  auto apply = [&](const std::vector<Submission*>& group) {
    std::unique_lock<std::mutex> lock(mu);
    Events& events = run.groups.emplace_back();
    for (Submission* s : group) events.insert(events.end(), s->events->begin(), s->events->end());
    if (run.groups.size() == 1) cv.wait(lock, [&] { return release_first; });
    for (Submission* s : group) s->status = Status::NotFound(std::string(s->events->front()));
    return uint64_t{0};
  };
  CommitQueue::Handlers handlers;
  handlers.apply = apply;
  handlers.await_durable = [](uint64_t) { return Status(); };
  handlers.deliver = [](const std::vector<Submission*>&) {};

  Events first_events{"first"};
  std::vector<SubmitResult> results;
  Submission first{&first_events, &results, nullptr, {}, false};
  std::thread leader([&] { queue.Run(first, handlers); });
  for (bool started = false; !started;) {
    std::lock_guard<std::mutex> lock(mu);
    started = !run.groups.empty();
  }
  std::vector<Submission> submissions(later.size());
  std::vector<std::vector<SubmitResult>> later_results(later.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < later.size(); ++i) {
    submissions[i] = Submission{&later[i], &later_results[i], nullptr, {}, false};
    threads.emplace_back([&, i] { queue.Run(submissions[i], handlers); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // arrival in index order
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    release_first = true;
  }
  cv.notify_all();
  leader.join();
  for (std::thread& t : threads) t.join();
  for (const Submission& s : submissions) run.statuses.push_back(s.status);
  return run;
}

TEST(CommitQueueTest, SubmissionsThatWaitDuringACommitAreAppliedTogetherInArrivalOrder) {
  const Applied run = WhileACommitIsSlow(100, {{"a"}, {"b1", "b2"}, {"c"}});
  ASSERT_EQ(run.groups.size(), 2u);
  EXPECT_EQ(run.groups[0], (Events{"first"}));
  EXPECT_EQ(run.groups[1], (Events{"a", "b1", "b2", "c"}));
  ASSERT_EQ(run.statuses.size(), 3u);
  EXPECT_EQ(run.statuses[0].message(), "a");
  EXPECT_EQ(run.statuses[1].message(), "b1");
  EXPECT_EQ(run.statuses[2].message(), "c");
}

TEST(CommitQueueTest, AGroupStopsAtItsEventLimitAndTheRestFollowInOrder) {
  const Applied run =
      WhileACommitIsSlow(4, {{"a1", "a2"}, {"b1", "b2"}, {"c1", "c2"}, {"d1", "d2", "d3", "d4", "d5"}});
  ASSERT_EQ(run.groups.size(), 4u);
  EXPECT_EQ(run.groups[1], (Events{"a1", "a2", "b1", "b2"}));
  EXPECT_EQ(run.groups[2], (Events{"c1", "c2"}));
  EXPECT_EQ(run.groups[3], (Events{"d1", "d2", "d3", "d4", "d5"}));  // larger than a group: alone
  EXPECT_EQ(run.statuses[3].message(), "d1");
}

// A single event waiting behind batches goes ahead of them in a group of its own; the batches
// follow in arrival order, each group within the share.
TEST(CommitQueueTest, ASmallSubmissionGoesAheadOfBatchesAndBatchesShareGroups) {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all;
    for (const char* batch : {"a", "b", "c"}) {
      for (int i = 0; i < 100; ++i) all.push_back(batch + std::to_string(i));
    }
    return all;
  }();
  ASSERT_LT(CommitQueue::kLargeShare, 200u);
  ASSERT_GE(CommitQueue::kLargeShare, 100u);
  auto batch = [&](size_t which) {
    return Events(names.begin() + static_cast<long>(100 * which),
                  names.begin() + static_cast<long>(100 * (which + 1)));
  };
  const Applied run =
      WhileACommitIsSlow(4096, {batch(0), {"single"}, batch(1), batch(2), {"another"}});
  ASSERT_EQ(run.groups.size(), 5u);
  EXPECT_EQ(run.groups[1], (Events{"single", "another"}));
  EXPECT_EQ(run.groups[2], batch(0));
  EXPECT_EQ(run.groups[3], batch(1));
  EXPECT_EQ(run.groups[4], batch(2));
  EXPECT_EQ(run.statuses[1].message(), "single");
  EXPECT_EQ(run.statuses[0].message(), "a0");
}

// A batch waits for at most one group of small submissions gone ahead of it: a single event
// that arrives while that group is applied joins the batch's group.
TEST(CommitQueueTest, ABatchWaitsForAtMostOneGroupOfSmallOnesGoneAhead) {
  CommitQueue queue(4096);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Events> groups;
  size_t released = 0;  // groups that may end their apply
  CommitQueue::Handlers handlers;
  handlers.apply = [&](const std::vector<Submission*>& group) {
    std::unique_lock<std::mutex> lock(mu);
    Events& events = groups.emplace_back();
    for (Submission* s : group) events.insert(events.end(), s->events->begin(), s->events->end());
    const size_t number = groups.size();
    cv.notify_all();
    cv.wait(lock, [&] { return number <= released; });
    return uint64_t{0};
  };
  handlers.await_durable = [](uint64_t) { return Status(); };
  handlers.deliver = [](const std::vector<Submission*>&) {};
  auto applying = [&](size_t n) {  // waits until the n-th group's apply has begun
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return groups.size() >= n; });
  };
  auto release = [&](size_t n) {
    std::lock_guard<std::mutex> lock(mu);
    released = n;
    cv.notify_all();
  };

  Events first{"first"}, batch(20, "b"), single{"single"}, another{"another"};
  std::vector<std::vector<SubmitResult>> results(4);
  std::vector<Submission> submissions{{&first, &results[0], nullptr, {}, false},
                                      {&batch, &results[1], nullptr, {}, false},
                                      {&single, &results[2], nullptr, {}, false},
                                      {&another, &results[3], nullptr, {}, false}};
  std::vector<std::thread> threads;
  auto submit = [&](size_t i) {
    threads.emplace_back([&, i] { queue.Run(submissions[i], handlers); });
  };
  submit(0);
  applying(1);  // "first" is applied; the batch, then a single event, wait
  submit(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  submit(2);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  release(1);
  applying(2);  // the single event went ahead; another arrives meanwhile
  submit(3);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  release(100);
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[1], (Events{"single"}));
  Events third{"another"};
  third.insert(third.end(), batch.begin(), batch.end());
  EXPECT_EQ(groups[2], third);
}

// Two groups: "first" (ticket 1), whose sync is held up until the test lets it go, and
// "second" (ticket 2), submitted meanwhile.
TEST(CommitQueueTest, TheNextGroupIsAppliedWhileOneSyncsAndDeliveriesKeepTheirOrder) {
  CommitQueue queue(100);
  std::mutex mu;
  std::condition_variable cv;
  bool first_applied = false, second_applied = false, release_first_sync = false;
  std::vector<std::string> delivered;
  CommitQueue::Handlers handlers;
  handlers.apply = [&](const std::vector<Submission*>& group) {
    std::lock_guard<std::mutex> lock(mu);
    const bool first = group[0]->events->front() == "first";
    (first ? first_applied : second_applied) = true;
    cv.notify_all();
    return uint64_t{first ? 1u : 2u};
  };
  handlers.await_durable = [&](uint64_t ticket) {
    std::unique_lock<std::mutex> lock(mu);
    if (ticket == 1) cv.wait(lock, [&] { return release_first_sync; });
    return Status();
  };
  handlers.deliver = [&](const std::vector<Submission*>& group) {
    std::lock_guard<std::mutex> lock(mu);
    delivered.emplace_back(group[0]->events->front());
  };

  Events first_events{"first"}, second_events{"second"};
  std::vector<SubmitResult> first_results, second_results;
  Submission first{&first_events, &first_results, nullptr, {}, false};
  Submission second{&second_events, &second_results, nullptr, {}, false};
  std::thread first_thread([&] { queue.Run(first, handlers); });
  {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return first_applied; });  // so that "first" is the first group
  }
  std::thread second_thread([&] { queue.Run(second, handlers); });
  bool applied_meanwhile = false;
  {
    std::unique_lock<std::mutex> lock(mu);
    applied_meanwhile = cv.wait_for(lock, std::chrono::seconds(10), [&] { return second_applied; });
  }
  EXPECT_TRUE(applied_meanwhile) << "the second group waited for the first one's sync";
  // The second group's own sync (ticket 2) is not held up: still it must wait for "first".
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_TRUE(delivered.empty());
    release_first_sync = true;
  }
  cv.notify_all();
  first_thread.join();
  second_thread.join();
  EXPECT_EQ(delivered, (std::vector<std::string>{"first", "second"}));
  EXPECT_TRUE(first.status.ok());
  EXPECT_TRUE(second.status.ok());
}

TEST(CommitQueueTest, AFailedSyncIsTheStatusOfEverySubmissionOfItsGroup) {
  CommitQueue queue(100);
  bool delivered = false;
  CommitQueue::Handlers handlers;
  handlers.apply = [](const std::vector<Submission*>&) { return uint64_t{7}; };
  handlers.await_durable = [](uint64_t ticket) {
    return Status::IoError("sync of ticket " + std::to_string(ticket) + " failed");
  };
  handlers.deliver = [&](const std::vector<Submission*>& group) {
    delivered = true;
    EXPECT_EQ(group[0]->status.message(), "sync of ticket 7 failed");
  };
  Events events{"e"};
  std::vector<SubmitResult> results;
  Submission mine{&events, &results, nullptr, {}, false};
  queue.Run(mine, handlers);
  EXPECT_TRUE(delivered);
  EXPECT_EQ(mine.status.code(), Code::kIoError);
}

}  // namespace
}  // namespace takt
