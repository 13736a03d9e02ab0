// The delivery lifecycle as a Boost.MSM state machine. A command's state lives in the store, so
// the machine for a move is started at pending and brought to the stored state along the
// lifecycle's own moves, then given the event: every state is reached only by its rows.
#include "engine/connect/delivery.h"

#include <boost/msm/back/state_machine.hpp>
#include <boost/msm/front/state_machine_def.hpp>

namespace takt::connect {
namespace {

namespace msm = boost::msm;
namespace mpl = boost::mpl;

struct Send {};
struct Delivered {};
struct Retryable {};
struct Final {};
struct Revive {};
struct Drop {};

struct LifecycleDef : msm::front::state_machine_def<LifecycleDef> {
  struct Pending : msm::front::state<> {};
  struct InFlight : msm::front::state<> {};
  struct Retry : msm::front::state<> {};
  struct DeliveredState : msm::front::state<> {};
  struct Dead : msm::front::state<> {};
  struct Dropped : msm::front::state<> {};
  using initial_state = Pending;

  // clang-format off
  struct transition_table : mpl::vector<
      //    from        event      to
      _row<Pending,   Send,      InFlight>,
      _row<InFlight,  Send,      InFlight>,
      _row<InFlight,  Delivered, DeliveredState>,
      _row<InFlight,  Retryable, Retry>,
      _row<InFlight,  Final,     Dead>,
      _row<Retry,     Send,      InFlight>,
      _row<Dead,      Revive,    Pending>,
      _row<Dead,      Drop,      Dropped>> {};
  // clang-format on

  // An event the table has no row for: refused, and NextDeliveryState() says so.
  template <class Fsm, class Event>
  void no_transition(const Event&, Fsm&, int) {
    refused = true;
  }
  bool refused = false;
};

using Machine = msm::back::state_machine<LifecycleDef>;

template <class State>
constexpr int kStateId = msm::back::get_state_id<Machine::stt, State>::type::value;

bool Fire(Machine& m, DeliveryEvent event) {
  m.refused = false;
  switch (event) {
    case DeliveryEvent::kSend: m.process_event(Send{}); break;
    case DeliveryEvent::kDelivered: m.process_event(Delivered{}); break;
    case DeliveryEvent::kRetryable: m.process_event(Retryable{}); break;
    case DeliveryEvent::kFinal: m.process_event(Final{}); break;
    case DeliveryEvent::kRevive: m.process_event(Revive{}); break;
    case DeliveryEvent::kDrop: m.process_event(Drop{}); break;
  }
  return !m.refused;
}

DeliveryState StateOf(const Machine& m) {
  const int id = m.current_state()[0];
  if (id == kStateId<LifecycleDef::InFlight>) return DeliveryState::kInFlight;
  if (id == kStateId<LifecycleDef::Retry>) return DeliveryState::kRetry;
  if (id == kStateId<LifecycleDef::DeliveredState>) return DeliveryState::kDelivered;
  if (id == kStateId<LifecycleDef::Dead>) return DeliveryState::kDead;
  if (id == kStateId<LifecycleDef::Dropped>) return DeliveryState::kDropped;
  return DeliveryState::kPending;
}

// The lifecycle's moves from pending to `state`.
bool Reach(Machine& m, DeliveryState state) {
  switch (state) {
    case DeliveryState::kPending: return true;
    case DeliveryState::kInFlight: return Fire(m, DeliveryEvent::kSend);
    case DeliveryState::kRetry:
      return Fire(m, DeliveryEvent::kSend) && Fire(m, DeliveryEvent::kRetryable);
    case DeliveryState::kDelivered:
      return Fire(m, DeliveryEvent::kSend) && Fire(m, DeliveryEvent::kDelivered);
    case DeliveryState::kDead:
      return Fire(m, DeliveryEvent::kSend) && Fire(m, DeliveryEvent::kFinal);
    case DeliveryState::kDropped:
      return Reach(m, DeliveryState::kDead) && Fire(m, DeliveryEvent::kDrop);
  }
  return false;
}

}  // namespace

const char* DeliveryStateName(DeliveryState state) {
  switch (state) {
    case DeliveryState::kPending: return "pending";
    case DeliveryState::kInFlight: return "in_flight";
    case DeliveryState::kRetry: return "retry";
    case DeliveryState::kDelivered: return "delivered";
    case DeliveryState::kDead: return "dead";
    case DeliveryState::kDropped: return "dropped";
  }
  return "?";
}

std::optional<DeliveryState> DeliveryStateByName(std::string_view name) {
  for (DeliveryState s : {DeliveryState::kPending, DeliveryState::kInFlight, DeliveryState::kRetry,
                          DeliveryState::kDelivered, DeliveryState::kDead,
                          DeliveryState::kDropped}) {
    if (name == DeliveryStateName(s)) return s;
  }
  return std::nullopt;
}

std::optional<DeliveryState> NextDeliveryState(DeliveryState from, DeliveryEvent event) {
  Machine m;
  m.start();
  if (!Reach(m, from) || !Fire(m, event)) return std::nullopt;
  return StateOf(m);
}

}  // namespace takt::connect
