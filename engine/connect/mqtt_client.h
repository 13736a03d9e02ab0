// A small MQTT 3.1.1 client over TCP, written for the one thing the Debian client libraries do
// not do: acknowledge a QoS 1 message only when the application says so. libmosquitto and
// Eclipse Paho C both send PUBACK before the application has the message; this client sends
// it when Ack() is called, after the message's event is committed, so that a crash in between
// leaves the message unacknowledged and the broker sends it again (docs/architecture.md).
// It also publishes at QoS 1 and waits for the broker's PUBACK, for the MQTT connector.
// Not thread-safe: one thread drives a session.
#ifndef TAKT_ENGINE_CONNECT_MQTT_CLIENT_H_
#define TAKT_ENGINE_CONNECT_MQTT_CLIENT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "takt/status.h"

struct ssl_st;      // OpenSSL's SSL
struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace takt::connect {

struct MqttMessage {
  std::string topic;
  std::string payload;
  uint16_t packet_id = 0;  // 0 at QoS 0
  uint8_t qos = 0;
  bool dup = false;        // the broker sent it before (a redelivery)
};

struct MqttConnectOptions {
  std::string host;
  uint16_t port = 1883;
  std::string client_id;
  std::string username;
  std::string password;
  uint16_t keepalive_s = 30;
  bool clean_session = false;
  int64_t timeout_ms = 10'000;  // connecting, and waiting for an acknowledgement
  // Over TLS (1.2 or later) when set: the broker's certificate is verified against tls_ca (the
  // system's authorities when empty) and must name `host`; tls_cert and tls_key, when given,
  // are the client's own certificate and key.
  bool tls = false;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
};

// Does `topic` match `filter` ("+" one level, "#" the rest)?
bool TopicMatches(std::string_view filter, std::string_view topic);

class MqttSession {
 public:
  MqttSession() = default;
  MqttSession(const MqttSession&) = delete;
  MqttSession& operator=(const MqttSession&) = delete;
  ~MqttSession() { Close(); }

  // Connects and waits for CONNACK; kIoError naming the broker's refusal.
  Status Connect(const MqttConnectOptions& options);
  // Subscribes each filter at QoS `qos` and waits for SUBACK; kIoError when one is refused.
  Status Subscribe(const std::vector<std::string>& filters, uint8_t qos);
  // The next message, waiting at most `wait_ms` (none: nothing came). Answers the broker's
  // pings and sends ours when the keep-alive needs one. kIoError when the connection is lost.
  Result<std::optional<MqttMessage>> Next(int64_t wait_ms);
  // Acknowledges a QoS 1 message (PUBACK).
  Status Ack(uint16_t packet_id);
  // Publishes at QoS 1 and waits for PUBACK. Messages that arrive meanwhile are kept for Next().
  Status Publish(std::string_view topic, std::string_view payload);
  // Sends DISCONNECT (when connected) and closes the connection.
  void Close();
  bool connected() const { return fd_ >= 0; }

 private:
  // After the TCP connection: the TLS handshake, the broker's certificate verified.
  Status StartTls();
  // What the socket (or TLS over it) gives or takes: bytes moved, 0 when the peer closed, -1 on
  // an error (errno, or the TLS error, set in `error`). `retry`: nothing to read after all (a
  // TLS record that held no data), poll again.
  long Write(const char* data, size_t size, std::string& error);
  long Read(char* data, size_t size, bool& retry, std::string& error);
  // Bytes TLS has read and not yet handed out: there is something to read without polling.
  bool Buffered() const;
  // After a write failed over TLS: the alert the broker sent before it closed the connection
  // ("TLS: ... alert certificate required"), or "" when it sent none. The write's own error
  // (connection reset) says less.
  std::string TlsAlert();
  // Closes the socket, and TLS over it: with a close_notify when `orderly` (a goodbye).
  void CloseConnection(bool orderly);
  Status Send(const std::string& packet);
  // Reads one whole packet: its first byte and body. kIoError on a closed connection.
  Status ReadPacket(int64_t wait_ms, bool& got, uint8_t& header, std::string& body);
  Status Handle(uint8_t header, const std::string& body);
  Status Lost(const std::string& what);
  int64_t Now() const;

  int fd_ = -1;
  ssl_ctx_st* tls_context_ = nullptr;  // with options_.tls, from Connect() to Close()
  ssl_st* tls_ = nullptr;
  MqttConnectOptions options_;
  std::string in_;  // bytes read and not yet parsed
  std::vector<MqttMessage> waiting_;  // arrived during Publish()
  uint16_t next_packet_id_ = 1;
  uint16_t puback_wanted_ = 0;
  bool puback_seen_ = false;
  int64_t last_sent_ms_ = 0;
};

}  // namespace takt::connect

#endif  // TAKT_ENGINE_CONNECT_MQTT_CLIENT_H_
