// The MQTT connector: each command published at QoS 1 to a topic (the MES line subscribes to
// it), delivered once the broker acknowledged it (PUBACK). The message is the webhook's body
// (webhook.h): the command id in it lets the subscriber apply each command once.
#ifndef TAKT_ENGINE_CONNECT_MQTT_PUBLISH_H_
#define TAKT_ENGINE_CONNECT_MQTT_PUBLISH_H_

#include <memory>
#include <string>

#include "engine/connect/connector.h"

namespace takt::connect {

// kInvalidArgument when the url is not mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (TLS).
Result<std::unique_ptr<Connector>> MakeMqttConnector(const ConnectorOptions& options);

// "{name}" in `pattern` replaced by the command's name: the topic it is published to.
std::string CommandTopic(const std::string& pattern, const std::string& name);

}  // namespace takt::connect

#endif  // TAKT_ENGINE_CONNECT_MQTT_PUBLISH_H_
