// The lifecycle of one workflow instance, independent of its workflow's states: active until
// it reaches a final state (completed), or until an operator suspends it or it fails. A fixed
// machine, so it is a Boost.MSM machine; MSM stays inside lifecycle.cc.
#ifndef TAKT_ENGINE_WORKFLOW_LIFECYCLE_H_
#define TAKT_ENGINE_WORKFLOW_LIFECYCLE_H_

#include <cstdint>
#include <memory>

namespace takt {

enum class LifecycleState : uint8_t { kActive, kSuspended, kCompleted, kFailed };
enum class LifecycleEvent : uint8_t { kFinish, kSuspend, kResume, kFail };

// "active", "suspended", "completed", "failed".
const char* LifecycleStateName(LifecycleState state);

class Lifecycle {
 public:
  Lifecycle();  // active
  ~Lifecycle();
  Lifecycle(Lifecycle&&) noexcept;
  Lifecycle& operator=(Lifecycle&&) noexcept;

  // Fires `event`. Returns false, and stays where it is, when the event is not allowed in the
  // current state (finishing a completed instance, resuming an active one).
  bool Fire(LifecycleEvent event);
  LifecycleState state() const;
  // Only active instances take events.
  bool accepts_events() const { return state() == LifecycleState::kActive; }

 private:
  struct Machine;
  std::unique_ptr<Machine> machine_;
};

}  // namespace takt

#endif  // TAKT_ENGINE_WORKFLOW_LIFECYCLE_H_
