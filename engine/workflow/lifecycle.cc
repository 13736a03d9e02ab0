// The instance lifecycle as a Boost.MSM state machine:
//
//   active --finish--> completed        active --suspend--> suspended --resume--> active
//   active|suspended --fail--> failed
#include "engine/workflow/lifecycle.h"

#include <boost/msm/back/state_machine.hpp>
#include <boost/msm/front/state_machine_def.hpp>

namespace takt {
namespace {

namespace msm = boost::msm;
namespace mpl = boost::mpl;

struct Finish {};
struct Suspend {};
struct Resume {};
struct Fail {};

struct LifecycleDef : msm::front::state_machine_def<LifecycleDef> {
  struct Active : msm::front::state<> {};
  struct Suspended : msm::front::state<> {};
  struct Completed : msm::front::state<> {};
  struct Failed : msm::front::state<> {};
  using initial_state = Active;

  // clang-format off
  struct transition_table : mpl::vector<
      //    from       event    to
      _row<Active,    Finish,  Completed>,
      _row<Active,    Suspend, Suspended>,
      _row<Suspended, Resume,  Active>,
      _row<Active,    Fail,    Failed>,
      _row<Suspended, Fail,    Failed>> {};
  // clang-format on

  // An event the table has no row for: refused, recorded for Fire() to report.
  template <class Fsm, class Event>
  void no_transition(const Event&, Fsm&, int) {
    refused = true;
  }
  bool refused = false;
};

using Backend = msm::back::state_machine<LifecycleDef>;

template <class State>
constexpr int kStateId = msm::back::get_state_id<Backend::stt, State>::type::value;

}  // namespace

struct Lifecycle::Machine {
  Backend fsm;
};

const char* LifecycleStateName(LifecycleState state) {
  switch (state) {
    case LifecycleState::kActive: return "active";
    case LifecycleState::kSuspended: return "suspended";
    case LifecycleState::kCompleted: return "completed";
    case LifecycleState::kFailed: return "failed";
  }
  return "?";
}

Lifecycle::Lifecycle() : machine_(std::make_unique<Machine>()) { machine_->fsm.start(); }
Lifecycle::~Lifecycle() = default;
Lifecycle::Lifecycle(Lifecycle&&) noexcept = default;
Lifecycle& Lifecycle::operator=(Lifecycle&&) noexcept = default;

bool Lifecycle::Fire(LifecycleEvent event) {
  Backend& fsm = machine_->fsm;
  fsm.refused = false;
  switch (event) {
    case LifecycleEvent::kFinish: fsm.process_event(Finish{}); break;
    case LifecycleEvent::kSuspend: fsm.process_event(Suspend{}); break;
    case LifecycleEvent::kResume: fsm.process_event(Resume{}); break;
    case LifecycleEvent::kFail: fsm.process_event(Fail{}); break;
  }
  return !fsm.refused;
}

LifecycleState Lifecycle::state() const {
  const int id = *machine_->fsm.current_state();
  if (id == kStateId<LifecycleDef::Active>) return LifecycleState::kActive;
  if (id == kStateId<LifecycleDef::Suspended>) return LifecycleState::kSuspended;
  if (id == kStateId<LifecycleDef::Completed>) return LifecycleState::kCompleted;
  return LifecycleState::kFailed;
}

}  // namespace takt
