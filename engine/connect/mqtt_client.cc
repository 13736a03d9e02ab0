#include "engine/connect/mqtt_client.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

namespace takt::connect {
namespace {

// Packet types (MQTT 3.1.1, 2.2.1), as the high nibble of the first byte.
constexpr uint8_t kConnect = 1, kConnack = 2, kPublish = 3, kPuback = 4, kSubscribe = 8,
                  kSuback = 9, kPingreq = 12, kPingresp = 13, kDisconnect = 14;

void AppendU16(std::string& out, uint16_t v) {
  out += static_cast<char>(v >> 8);
  out += static_cast<char>(v & 0xff);
}
void AppendString(std::string& out, std::string_view s) {
  AppendU16(out, static_cast<uint16_t>(s.size()));
  out.append(s);
}
std::string Packet(uint8_t first, const std::string& body) {
  std::string packet(1, static_cast<char>(first));
  size_t length = body.size();
  do {  // the remaining length, 7 bits a byte
    uint8_t byte = length % 128;
    length /= 128;
    if (length > 0) byte |= 0x80;
    packet += static_cast<char>(byte);
  } while (length > 0);
  return packet + body;
}
uint16_t U16(const std::string& s, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(s[at]) << 8) |
                               static_cast<uint8_t>(s[at + 1]));
}

const char* ConnackReason(uint8_t code) {
  switch (code) {
    case 1: return "unacceptable protocol version";
    case 2: return "client id rejected";
    case 3: return "server unavailable";
    case 4: return "bad user name or password";
    case 5: return "not authorized";
    default: return "refused";
  }
}

}  // namespace

bool TopicMatches(std::string_view filter, std::string_view topic) {
  for (;;) {
    const size_t f_end = filter.find('/');
    const std::string_view level = filter.substr(0, f_end);
    if (level == "#") return true;
    const size_t t_end = topic.find('/');
    const std::string_view t_level = topic.substr(0, t_end);
    if (level != "+" && level != t_level) return false;
    if (f_end == std::string_view::npos || t_end == std::string_view::npos) {
      // Both end here; or the filter goes on with "/#", which matches the parent level too.
      return f_end == t_end || (t_end == std::string_view::npos && filter.substr(f_end) == "/#");
    }
    filter.remove_prefix(f_end + 1);
    topic.remove_prefix(t_end + 1);
  }
}

int64_t MqttSession::Now() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Status MqttSession::Lost(const std::string& what) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  in_.clear();
  return Status::IoError("MQTT broker " + options_.host + ":" + std::to_string(options_.port) +
                         ": " + what);
}

Status MqttSession::Connect(const MqttConnectOptions& options) {
  Close();
  options_ = options;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options.port);
  if (getaddrinfo(options.host.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) {
    return Lost("cannot resolve the host");
  }
  int error = 0;
  for (addrinfo* a = found; a != nullptr && fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0) {
      fd_ = fd;
    } else {
      error = errno;
      ::close(fd);
    }
  }
  freeaddrinfo(found);
  if (fd_ < 0) return Lost(std::string("cannot connect: ") + std::strerror(error));
  const int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  std::string body;
  AppendString(body, "MQTT");
  body += static_cast<char>(4);  // 3.1.1
  uint8_t flags = options.clean_session ? 0x02 : 0x00;
  if (!options.username.empty()) flags |= 0x80;
  if (!options.password.empty()) flags |= 0x40;
  body += static_cast<char>(flags);
  AppendU16(body, options.keepalive_s);
  AppendString(body, options.client_id);
  if (!options.username.empty()) AppendString(body, options.username);
  if (!options.password.empty()) AppendString(body, options.password);
  TAKT_RETURN_IF_ERROR(Send(Packet(kConnect << 4, body)));
  const int64_t deadline = Now() + options.timeout_ms;
  for (;;) {
    bool got = false;
    uint8_t header = 0;
    std::string reply;
    TAKT_RETURN_IF_ERROR(ReadPacket(deadline - Now(), got, header, reply));
    if (!got) return Lost("no CONNACK in time");
    if (header >> 4 != kConnack || reply.size() != 2) return Lost("expected CONNACK");
    const uint8_t code = static_cast<uint8_t>(reply[1]);
    if (code != 0) return Lost(std::string("connection refused: ") + ConnackReason(code));
    return Status();
  }
}

Status MqttSession::Subscribe(const std::vector<std::string>& filters, uint8_t qos) {
  std::string body;
  const uint16_t id = next_packet_id_++;
  if (next_packet_id_ == 0) next_packet_id_ = 1;
  AppendU16(body, id);
  for (const std::string& f : filters) {
    AppendString(body, f);
    body += static_cast<char>(qos);
  }
  TAKT_RETURN_IF_ERROR(Send(Packet(kSubscribe << 4 | 0x02, body)));
  const int64_t deadline = Now() + options_.timeout_ms;
  while (Now() < deadline) {
    bool got = false;
    uint8_t header = 0;
    std::string reply;
    TAKT_RETURN_IF_ERROR(ReadPacket(deadline - Now(), got, header, reply));
    if (!got) break;
    if (header >> 4 != kSuback) {
      TAKT_RETURN_IF_ERROR(Handle(header, reply));  // a session's messages may come first
      continue;
    }
    if (reply.size() != 2 + filters.size() || U16(reply, 0) != id) return Lost("bad SUBACK");
    for (size_t i = 0; i < filters.size(); ++i) {
      if (static_cast<uint8_t>(reply[2 + i]) == 0x80) {
        return Status::IoError("the MQTT broker refused the subscription to " + filters[i] +
                               " (its access rules?)");
      }
    }
    return Status();
  }
  return Lost("no SUBACK in time");
}

Result<std::optional<MqttMessage>> MqttSession::Next(int64_t wait_ms) {
  const int64_t deadline = Now() + wait_ms;
  for (;;) {
    if (!waiting_.empty()) {
      MqttMessage m = std::move(waiting_.front());
      waiting_.erase(waiting_.begin());
      return std::optional<MqttMessage>(std::move(m));
    }
    if (fd_ < 0) return Lost("not connected");
    const int64_t keepalive_ms = int64_t{options_.keepalive_s} * 1000;
    if (keepalive_ms > 0 && Now() - last_sent_ms_ >= keepalive_ms / 2) {
      TAKT_RETURN_IF_ERROR(Send(Packet(kPingreq << 4, "")));
    }
    const int64_t left = deadline - Now();
    bool got = false;
    uint8_t header = 0;
    std::string body;
    TAKT_RETURN_IF_ERROR(ReadPacket(std::max<int64_t>(0, std::min<int64_t>(left, 1000)), got,
                                    header, body));
    if (got) {
      TAKT_RETURN_IF_ERROR(Handle(header, body));
    } else if (left <= 0) {
      return std::optional<MqttMessage>();
    }
  }
}

Status MqttSession::Handle(uint8_t header, const std::string& body) {
  switch (header >> 4) {
    case kPublish: {
      MqttMessage m;
      m.qos = (header >> 1) & 0x03;
      m.dup = (header & 0x08) != 0;
      if (body.size() < 2) return Lost("bad PUBLISH");
      const uint16_t topic_size = U16(body, 0);
      size_t at = 2 + topic_size;
      if (body.size() < at + (m.qos > 0 ? 2 : 0)) return Lost("bad PUBLISH");
      m.topic = body.substr(2, topic_size);
      if (m.qos > 0) {
        m.packet_id = U16(body, at);
        at += 2;
      }
      m.payload = body.substr(at);
      waiting_.push_back(std::move(m));
      return Status();
    }
    case kPuback:
      if (body.size() == 2 && U16(body, 0) == puback_wanted_) puback_seen_ = true;
      return Status();
    case kPingresp:
    case kSuback:
      return Status();
    default:
      return Lost("unexpected packet type " + std::to_string(header >> 4));
  }
}

Status MqttSession::Ack(uint16_t packet_id) {
  std::string body;
  AppendU16(body, packet_id);
  return Send(Packet(kPuback << 4, body));
}

Status MqttSession::Publish(std::string_view topic, std::string_view payload) {
  std::string body;
  AppendString(body, topic);
  const uint16_t id = next_packet_id_++;
  if (next_packet_id_ == 0) next_packet_id_ = 1;
  AppendU16(body, id);
  body.append(payload);
  puback_wanted_ = id;
  puback_seen_ = false;
  TAKT_RETURN_IF_ERROR(Send(Packet(kPublish << 4 | 0x02, body)));
  const int64_t deadline = Now() + options_.timeout_ms;
  while (!puback_seen_) {
    const int64_t left = deadline - Now();
    if (left <= 0) return Lost("no PUBACK in time");
    bool got = false;
    uint8_t header = 0;
    std::string reply;
    TAKT_RETURN_IF_ERROR(ReadPacket(left, got, header, reply));
    if (got) TAKT_RETURN_IF_ERROR(Handle(header, reply));
  }
  return Status();
}

void MqttSession::Close() {
  if (fd_ < 0) return;
  const std::string bye = Packet(kDisconnect << 4, "");
  (void)!::send(fd_, bye.data(), bye.size(), MSG_NOSIGNAL);
  ::close(fd_);
  fd_ = -1;
  in_.clear();
  waiting_.clear();
}

Status MqttSession::Send(const std::string& packet) {
  if (fd_ < 0) return Lost("not connected");
  size_t sent = 0;
  while (sent < packet.size()) {
    const ssize_t n = ::send(fd_, packet.data() + sent, packet.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Lost(std::string("send failed: ") + std::strerror(errno));
    sent += static_cast<size_t>(n);
  }
  last_sent_ms_ = Now();
  return Status();
}

Status MqttSession::ReadPacket(int64_t wait_ms, bool& got, uint8_t& header, std::string& body) {
  got = false;
  const int64_t deadline = Now() + std::max<int64_t>(0, wait_ms);
  for (;;) {
    // A whole packet in the buffer?
    if (in_.size() >= 2) {
      size_t length = 0, multiplier = 1, at = 1;
      bool complete = false;
      while (at < in_.size() && at <= 4) {
        const uint8_t byte = static_cast<uint8_t>(in_[at++]);
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) == 0) {
          complete = true;
          break;
        }
      }
      if (!complete && at > 4) return Lost("bad remaining length");
      if (complete && in_.size() >= at + length) {
        header = static_cast<uint8_t>(in_[0]);
        body.assign(in_, at, length);
        in_.erase(0, at + length);
        got = true;
        return Status();
      }
    }
    if (fd_ < 0) return Lost("not connected");
    const int64_t left = deadline - Now();
    pollfd p{fd_, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left)));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Lost(std::string("poll failed: ") + std::strerror(errno));
    if (ready == 0) return Status();  // nothing in time
    char buffer[65536];
    const ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Lost(n == 0 ? "connection closed" : std::strerror(errno));
    in_.append(buffer, static_cast<size_t>(n));
    // Acknowledge at once what arrived: a broker that batches small writes (Nagle) waits for
    // this ACK before it sends the next message, and a delayed one costs up to 40 ms each time.
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
  }
}

}  // namespace takt::connect
