// The group commit queue: submissions that wait while a group is applied are applied together
// next, in arrival order, up to the group's event limit, and each submitter gets its own
// status back.
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
  };

  Events first_events{"first"};
  std::vector<SubmitResult> results;
  Submission first{&first_events, &results, nullptr, {}, false};
  std::thread leader([&] { queue.Run(first, apply); });
  for (bool started = false; !started;) {
    std::lock_guard<std::mutex> lock(mu);
    started = !run.groups.empty();
  }
  std::vector<Submission> submissions(later.size());
  std::vector<std::vector<SubmitResult>> later_results(later.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < later.size(); ++i) {
    submissions[i] = Submission{&later[i], &later_results[i], nullptr, {}, false};
    threads.emplace_back([&, i] { queue.Run(submissions[i], apply); });
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

}  // namespace
}  // namespace takt
