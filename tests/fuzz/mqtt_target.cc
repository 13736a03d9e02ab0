#include <nlohmann/json.hpp>

#include <string>

#include "engine/connect/mqtt_client.h"
#include "engine/serve/mqtt_ingest.h"
#include "fuzz/fuzz_targets.h"

namespace takt::fuzz {

int FuzzMqttMapping(const uint8_t* data, size_t size) {
  // Levels and payload fields mapped as a plant maps a SCADA line's alarms.
  static const MqttSubscription subscription = [] {
    MqttSubscription s;
    s.filter = "plant/+/+/alarm";
    s.source = "scada";
    s.type = "alarm";
    s.key = "topic.2";
    return s;
  }();
  const std::string input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  connect::MqttMessage message;
  message.topic = input.substr(0, newline);
  message.payload = newline == std::string::npos ? "" : input.substr(newline + 1);
  message.qos = 1;
  std::string event;
  std::string reason;
  if (serve::MapMessage(subscription, message, event, reason)) {
    Require(nlohmann::json::accept(event), "a mapped message is one JSON event");
  } else {
    Require(!reason.empty(), "an unmapped message says why");
  }
  return 0;
}

}  // namespace takt::fuzz
