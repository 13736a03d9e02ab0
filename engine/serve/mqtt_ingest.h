// MQTT ingestion: subscribes to the configured topic filters at QoS 1 with a persistent session,
// maps each message to an event (mqtt_mapping.h), submits what arrived together as one batch,
// and acknowledges each message only after that batch is committed. A message that does not
// map, or whose type its subscription's source does not own, is logged, counted and
// acknowledged: sent again it would be refused again. When the commit fails nothing is
// acknowledged: the connection is dropped and the broker sends the messages again.
#ifndef TAKT_ENGINE_SERVE_MQTT_INGEST_H_
#define TAKT_ENGINE_SERVE_MQTT_INGEST_H_

#include <atomic>
#include <string>
#include <thread>

#include "engine/connect/mqtt_client.h"
#include "takt/serve.h"

namespace takt::serve {

class ServerImpl;

class MqttIngest {
 public:
  MqttIngest(ServerImpl& server, MqttOptions options)
      : server_(server), options_(std::move(options)) {}
  ~MqttIngest() { Stop(); }
  void Start();
  void Stop();

 private:
  void Run();
  // One connection: subscribe, then take messages until it is lost or Stop().
  Status Serve(connect::MqttSession& session);

  ServerImpl& server_;
  MqttOptions options_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The event JSON of `message` under `subscription`, or false with the reason.
bool MapMessage(const MqttSubscription& subscription, const connect::MqttMessage& message,
                std::string& event_json, std::string& reason);

}  // namespace takt::serve

#endif  // TAKT_ENGINE_SERVE_MQTT_INGEST_H_
