// The instance lifecycle (Boost.MSM): allowed moves, refused ones.
#include <gtest/gtest.h>

#include "engine/workflow/lifecycle.h"

namespace takt {
namespace {

TEST(LifecycleTest, StartsActiveAndFinishes) {
  Lifecycle l;
  EXPECT_EQ(l.state(), LifecycleState::kActive);
  EXPECT_TRUE(l.accepts_events());
  EXPECT_TRUE(l.Fire(LifecycleEvent::kFinish));
  EXPECT_EQ(l.state(), LifecycleState::kCompleted);
  EXPECT_FALSE(l.accepts_events());
}

TEST(LifecycleTest, CompletedIsTerminal) {
  Lifecycle l;
  ASSERT_TRUE(l.Fire(LifecycleEvent::kFinish));
  EXPECT_FALSE(l.Fire(LifecycleEvent::kFinish));
  EXPECT_FALSE(l.Fire(LifecycleEvent::kSuspend));
  EXPECT_FALSE(l.Fire(LifecycleEvent::kFail));
  EXPECT_EQ(l.state(), LifecycleState::kCompleted);
}

TEST(LifecycleTest, SuspendResumeAndFail) {
  Lifecycle l;
  EXPECT_FALSE(l.Fire(LifecycleEvent::kResume));  // not suspended
  ASSERT_TRUE(l.Fire(LifecycleEvent::kSuspend));
  EXPECT_EQ(l.state(), LifecycleState::kSuspended);
  EXPECT_FALSE(l.accepts_events());
  EXPECT_FALSE(l.Fire(LifecycleEvent::kFinish));  // a suspended instance does not finish
  ASSERT_TRUE(l.Fire(LifecycleEvent::kResume));
  EXPECT_EQ(l.state(), LifecycleState::kActive);
  ASSERT_TRUE(l.Fire(LifecycleEvent::kSuspend));
  ASSERT_TRUE(l.Fire(LifecycleEvent::kFail));
  EXPECT_EQ(l.state(), LifecycleState::kFailed);
  EXPECT_STREQ(LifecycleStateName(l.state()), "failed");
}

TEST(LifecycleTest, MovesWithItsInstance) {
  Lifecycle a;
  ASSERT_TRUE(a.Fire(LifecycleEvent::kSuspend));
  Lifecycle b = std::move(a);
  EXPECT_EQ(b.state(), LifecycleState::kSuspended);
}

}  // namespace
}  // namespace takt
