// The delivery lifecycle of one command, as the outbox stores it:
//
//   pending --send--> in_flight --delivered--> delivered
//                     in_flight --retryable--> retry --send--> in_flight
//                     in_flight --final------> dead  (also: retryable with no attempt or age
//                                                     left)
//   dead --revive--> pending            dead --drop--> dropped
//   in_flight --send--> in_flight       (a delivery the process did not see end: sent again)
//
// A fixed machine with real states and moves, so it is a Boost.MSM machine; MSM stays inside
// delivery.cc. The dispatcher asks it before every change it makes in the store, so that no
// command is delivered after it was given up on, or given up on twice.
#ifndef TAKT_ENGINE_CONNECT_DELIVERY_H_
#define TAKT_ENGINE_CONNECT_DELIVERY_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace takt::connect {

enum class DeliveryState : uint8_t { kPending, kInFlight, kRetry, kDelivered, kDead, kDropped };
enum class DeliveryEvent : uint8_t { kSend, kDelivered, kRetryable, kFinal, kRevive, kDrop };

// As the store writes it: "pending", "in_flight", "retry", "delivered", "dead", "dropped".
const char* DeliveryStateName(DeliveryState state);
std::optional<DeliveryState> DeliveryStateByName(std::string_view name);

// The state `event` takes a command in `from` to; none when the lifecycle has no such move
// (delivering a dead command, reviving a delivered one).
std::optional<DeliveryState> NextDeliveryState(DeliveryState from, DeliveryEvent event);

}  // namespace takt::connect

#endif  // TAKT_ENGINE_CONNECT_DELIVERY_H_
